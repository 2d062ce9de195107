//! `render-bench`: what rendering replies costs (`kestrel_app::markdown`),
//! natively, in release. The first code block pays for loading the
//! grammars once per process, so that figure is taken in fresh child
//! processes (`--cold-once`); the rest are medians of repeated runs in one
//! process. See BENCHMARKS.md.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use kestrel_app::markdown::{Highlight, split_finished, to_html};

#[derive(Parser)]
struct Args {
    /// Fresh processes for the first-code-block figure.
    #[arg(long, default_value_t = 7)]
    cold_runs: usize,
    /// Repetitions of each warm measurement.
    #[arg(long, default_value_t = 51)]
    runs: usize,
    /// Internal: render one code block, print the time in µs, exit.
    #[arg(long, hide = true)]
    cold_once: bool,
}

const CODE_BLOCK: &str = "```rust\n\
use std::collections::HashMap;\n\
\n\
/// Counts the words of `text`.\n\
fn count(text: &str) -> HashMap<&str, usize> {\n\
    let mut counts = HashMap::new();\n\
    for word in text.split_whitespace() {\n\
        *counts.entry(word).or_insert(0) += 1;\n\
    }\n\
    counts\n\
}\n\
```\n";

const PARAGRAPH: &str = "Streaming keeps the cost of each update bounded: the finished \
blocks of a reply are rendered once, and only the paragraph being written is rendered \
again, with **bold**, *emphasis*, `inline code` and a [link](https://example.com/) in it.";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.cold_once {
        let started = Instant::now();
        black_box(to_html(black_box(CODE_BLOCK), Highlight::Code));
        println!("{}", started.elapsed().as_micros());
        return Ok(());
    }

    let exe = std::env::current_exe()?;
    let mut cold = Vec::new();
    for _ in 0..args.cold_runs {
        let out = Command::new(&exe).arg("--cold-once").output()?;
        if !out.status.success() {
            bail!("cold run failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let micros: u64 = String::from_utf8(out.stdout)?
            .trim()
            .parse()
            .context("cold output")?;
        cold.push(Duration::from_micros(micros));
    }
    println!("| measurement | median (min–max) |");
    println!("|---|---|");
    row(
        "first code block in a process (grammars load), 11-line Rust",
        &mut cold,
    );

    let reply = long_reply();
    let (blocks, _) = split_finished(&reply);
    let hostile = include_str!("../../../fixtures/hostile.md");
    let cases: [(&str, Case); 6] = [
        (
            "same code block again (grammars loaded)",
            Box::new(|| {
                black_box(to_html(CODE_BLOCK, Highlight::Code));
            }),
        ),
        (
            "live tail: one 45-word paragraph, plain",
            Box::new(|| {
                black_box(to_html(PARAGRAPH, Highlight::Plain));
            }),
        ),
        (
            "live tail: the same code block, open fence, plain",
            Box::new(|| {
                black_box(to_html(
                    &CODE_BLOCK[..CODE_BLOCK.len() - 4],
                    Highlight::Plain,
                ));
            }),
        ),
        (
            "split a 10,000-word reply into blocks + tail",
            Box::new(|| {
                black_box(split_finished(black_box(&reply)));
            }),
        ),
        (
            "whole 10,000-word reply at once (a finished message)",
            Box::new(|| {
                black_box(to_html(&reply, Highlight::Code));
            }),
        ),
        (
            "hostile catalogue (tests/fixtures/hostile.md)",
            Box::new(|| {
                black_box(to_html(hostile, Highlight::Code));
            }),
        ),
    ];
    for (name, case) in &cases {
        let mut times = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            let started = Instant::now();
            case();
            times.push(started.elapsed());
        }
        row(name, &mut times);
    }
    println!(
        "\n10,000-word reply: {} bytes, {} finished blocks",
        reply.len(),
        blocks.len()
    );
    Ok(())
}

/// One measured operation.
type Case<'a> = Box<dyn Fn() + 'a>;

/// About 10,000 words: paragraphs, lists and a code block every few
/// paragraphs, like a long technical answer.
fn long_reply() -> String {
    let mut text = String::new();
    let mut words = 0;
    let mut i = 0;
    while words < 10_000 {
        let part = match i % 4 {
            0 => format!("## Part {i}\n\n{PARAGRAPH}\n\n"),
            1 => format!("- {PARAGRAPH}\n- second point\n- third point\n\n"),
            2 => format!("{CODE_BLOCK}\n"),
            _ => format!("{PARAGRAPH} {PARAGRAPH}\n\n"),
        };
        words += part.split_whitespace().count();
        text.push_str(&part);
        i += 1;
    }
    text
}

fn row(name: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {:.3} ms ({:.3}–{:.3}) |",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}
