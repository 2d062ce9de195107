//! `paint-kestrel`: the real Kestrel UI (`kestrel_app::App`) with its
//! backend in this process, launched with the same code as `paint-empty`.
//!
//! It opens the backend on `--data-dir`, waits until the root says it is
//! live and loaded (`.app[data-ready="true"]`) and two animation frames
//! have begun, then prints `FIRST_PAINT` and a `PHASES` line and stays open.
//!
//! With `--stream-tokens N --base-url URL` (a mock server that has an
//! N-word reply queued) it then types a message, presses Send, counts the
//! DOM mutations inside the streaming message with a MutationObserver
//! until the finished message replaces it, prints one JSON line
//! `{"tokens":N,"ms":…,"dom_updates":…,"final_chars":…,…}` (with the CPU
//! time each process spent meanwhile) and exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use dioxus::prelude::*;
use kestrel_bench::{procs, window};
use kestrel_server::config::{Config, DEFAULT_MAX_TOKENS, DEFAULT_MODEL};
use kestrel_server::secrets::{ApiKey, KeyStore};
use kestrel_server::{Backend, logging};

/// A loopback port nothing listens on: without `--base-url` the app has an
/// endpoint, but any request fails fast.
const DEAD_BASE_URL: &str = "http://127.0.0.1:9";
/// The key the mock server accepts by default (any key works otherwise).
const DUMMY_KEY: &str = "test-key";

/// Kestrel's desktop UI, timed to first paint.
#[derive(Debug, Parser)]
#[command(name = "paint-kestrel")]
struct Args {
    /// Kestrel's data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// The Anthropic endpoint (the mock server's URL).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// After first paint, send a message and measure streaming a reply of
    /// this many words (queue it on the mock server first).
    #[arg(long, value_name = "N", requires = "base_url")]
    stream_tokens: Option<usize>,
    /// Diagnostic: do not count animation frames while streaming (the
    /// counter is a requestAnimationFrame loop, which keeps WebKit
    /// rendering every frame).
    #[arg(long)]
    no_frame_count: bool,
    /// Diagnostic: stop the streaming message's blinking cursor animation
    /// (injects `.cursor::after { animation: none }`) before sending.
    #[arg(long)]
    no_cursor_animation: bool,
    /// Give up (exit 2) after this many seconds.
    #[arg(long, default_value_t = 300)]
    deadline_secs: u64,
}

/// What the root component needs from `main`.
struct Run {
    backend_open_ms: f64,
    stream_tokens: Option<usize>,
    count_frames: bool,
    cursor_animation: bool,
}

static RUN: OnceLock<Run> = OnceLock::new();

fn main() -> ExitCode {
    window::mark_main_started();
    let args = Args::parse();
    let deadline = Duration::from_secs(args.deadline_secs);
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!("paint-kestrel: no result within {deadline:?}");
        std::process::exit(2);
    });

    let config = Config {
        data_dir: args.data_dir.clone(),
        base_url: args
            .base_url
            .clone()
            .unwrap_or_else(|| DEAD_BASE_URL.to_owned()),
        default_model: DEFAULT_MODEL.to_owned(),
        max_tokens: DEFAULT_MAX_TOKENS,
        connections: Default::default(),
    };
    // As `kestrel` does: logging to the data dir, then the backend.
    let _log_guard = logging::init(&config.log_dir());
    let opened = Instant::now();
    let backend = match Backend::open(config, KeyStore::new(ApiKey::new(DUMMY_KEY))) {
        Ok(backend) => backend,
        Err(error) => {
            eprintln!("paint-kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let backend_open_ms = opened.elapsed().as_secs_f64() * 1000.0;
    Backend::install(backend);
    let _ = RUN.set(Run {
        backend_open_ms,
        stream_tokens: args.stream_tokens,
        count_frames: !args.no_frame_count,
        cursor_animation: !args.no_cursor_animation,
    });

    kestrel_app::desktop::launch(Root);
    eprintln!("paint-kestrel: the window closed");
    ExitCode::FAILURE
}

#[allow(non_snake_case)]
fn Root() -> Element {
    use_effect(|| {
        let mounted_ms = window::ms_since_main();
        spawn(async move {
            if let Err(error) = drive(mounted_ms).await {
                window::fail(&error);
            }
        });
    });
    rsx! { kestrel_app::App {} }
}

async fn drive(mounted_ms: f64) -> anyhow::Result<()> {
    let run = RUN.get().context("main did not record the run")?;
    let page = window::wait_painted(".app", r#".app[data-ready="true"]"#).await?;
    let painted_ms = window::ms_since_main();
    window::report_first_paint();
    window::report_phases(&serde_json::json!({
        "backend_open_ms": run.backend_open_ms,
        "mounted_ms": mounted_ms,
        "painted_ms": painted_ms,
        "page": page,
    }));
    let Some(tokens) = run.stream_tokens else {
        // Stay open; the runner measures memory and then kills us.
        return Ok(());
    };
    let ticks = procs::clock_ticks_per_second();
    let me = std::process::id();
    let cpu_before = procs::cpu_ms_by_name(me, ticks);
    let mut report = stream_reply(run.count_frames, run.cursor_animation).await?;
    let cpu_after = procs::cpu_ms_by_name(me, ticks);
    // CPU spent while streaming, by process (this app, WebKit's processes).
    let cpu: serde_json::Map<String, serde_json::Value> = cpu_after
        .iter()
        .map(|(name, after)| {
            let before = cpu_before.get(name).copied().unwrap_or(0.0);
            (name.clone(), (after - before).into())
        })
        .collect();
    if let Some(object) = report.as_object_mut() {
        object.insert("tokens".to_owned(), tokens.into());
        object.insert("cpu_ms_by_process".to_owned(), cpu.into());
    }
    println!("{report}");
    std::process::exit(0)
}

/// Types a message, sends it and watches the reply stream in (all in the
/// page, timed with `performance.now()`). Resolves with the counts once the
/// finished message is on screen.
const STREAM_JS: &str = r#"
const countFrames = COUNT_FRAMES;
if (!CURSOR_ANIMATION) {
  const style = document.createElement('style');
  style.textContent = '.cursor::after { animation: none !important; }';
  document.head.appendChild(style);
}
const prompt = "Benchmark: write a long answer, please.";
const root = document.querySelector('.app') || document.body;
const waitFor = (pick) => new Promise((resolve) => {
  const found = pick();
  if (found) return resolve(found);
  const mo = new MutationObserver(() => {
    const found = pick();
    if (found) { mo.disconnect(); resolve(found); }
  });
  mo.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
});
const input = document.querySelector('#composer-input');
if (!input) return { error: 'no #composer-input' };
input.value = prompt;
input.dispatchEvent(new Event('input', { bubbles: true }));
const button = await waitFor(() => {
  const b = document.querySelector('button.send');
  return b && !b.disabled ? b : null;
});

const inStreaming = (node) => {
  const el = node.nodeType === 1 ? node : node.parentElement;
  return !!el && !!el.closest('.message.assistant.streaming');
};
let batches = 0, records = 0, textUpdates = 0, lastLength = -1;
let firstText = null, lastText = null, done = false, frames = countFrames ? 0 : null;
const t0 = performance.now();
const finished = new Promise((resolve) => {
  const mo = new MutationObserver((list) => {
    let touched = 0;
    for (const r of list) if (inStreaming(r.target)) touched++;
    if (touched > 0) { batches++; records += touched; }
    const live = document.querySelector('.message.assistant.streaming .bubble');
    if (live) {
      const length = live.textContent.length;
      if (length !== lastLength) {
        lastText = performance.now();
        if (firstText === null) firstText = lastText;
        lastLength = length;
        textUpdates++;
      }
    }
    const final = document.querySelector('.message.assistant:not(.streaming) .text');
    const banner = document.querySelector('.error-banner');
    if (final || banner) {
      mo.disconnect();
      done = true;
      resolve({
        end: performance.now(),
        final_chars: final ? final.textContent.length : 0,
        error: final ? null : banner.textContent,
      });
    }
  });
  mo.observe(root, { subtree: true, childList: true, characterData: true });
});
const countFrame = () => { if (!done) { frames++; requestAnimationFrame(countFrame); } };
if (countFrames) requestAnimationFrame(countFrame);
button.click();
const end = await finished;
if (end.error) return { error: end.error };
return {
  ms: end.end - t0,
  first_text_ms: firstText === null ? null : firstText - t0,
  last_text_ms: lastText === null ? null : lastText - t0,
  dom_updates: batches,
  mutation_records: records,
  text_updates: textUpdates,
  frames,
  final_chars: end.final_chars,
};
"#;

async fn stream_reply(
    count_frames: bool,
    cursor_animation: bool,
) -> anyhow::Result<serde_json::Value> {
    let script = STREAM_JS
        .replace("COUNT_FRAMES", if count_frames { "true" } else { "false" })
        .replace(
            "CURSOR_ANIMATION",
            if cursor_animation { "true" } else { "false" },
        );
    let report = document::eval(&script)
        .join::<serde_json::Value>()
        .await
        .map_err(|e| anyhow!("the streaming probe failed: {e}"))?;
    if let Some(error) = report.get("error").and_then(|e| e.as_str()) {
        bail!("the UI showed an error instead of the reply: {error}");
    }
    Ok(report)
}
