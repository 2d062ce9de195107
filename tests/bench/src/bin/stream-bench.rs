//! `stream-bench`: what a streamed reply costs a command-line client,
//! measured side by side in one run against the mock Anthropic server on
//! loopback (in this process):
//!
//! - `kestrel -p` with its normal persistence (one data dir for the whole
//!   run, so the database exists as it does for a user);
//! - the official Python SDK (`anthropic`) and TypeScript SDK
//!   (`@anthropic-ai/sdk`), each printing text deltas as their READMEs show
//!   (`tests/bench/clients/`);
//! - `stream-floor`: the least a Rust client can do (read, parse, print);
//! - `stream-reqwest`: the floor's work through tokio and reqwest, the
//!   HTTP stack Kestrel uses, to tell that stack's cost from Kestrel's.
//!
//! Cases: 20, 10,000 and 100,000 tokens as fast as the mock sends them,
//! and a realistic pace (300 ms to the first token, then 200 tokens 20 ms
//! apart). One token is one word in one `text_delta`.
//!
//! Per run, from outside the client: launch → request (spawn to the mock
//! recording the request), time to first token (spawn to the first byte on
//! the client's stdout), wall time (spawn to exit), and from the client's
//! own `wait4` rusage: CPU (user + system) and peak RSS. The client is
//! started by the tiny `measure-child` launcher, which takes the spawn and
//! exit times and the rusage (all times are wall-clock microseconds, so
//! they compare across the processes). Every run's stdout is checked
//! against the reply's text.
//!
//! `tests/bench/stream-bench.sh` installs the SDKs, builds, and runs this;
//! results are in BENCHMARKS.md. Writes `<target>/bench/stream.json`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use kestrel_bench::stats::{max, median, min};
use kestrel_bench::words::Words;
use kestrel_mock_anthropic::{MockConfig, MockServer, Pacing, Reply};
use serde::Serialize;

const PROMPT: &str = "Tell me a long story about a kestrel.";
const MODEL: &str = "claude-sonnet-4-5";
const KEY: &str = "test-key";

/// Streaming cost of CLI clients against the mock server.
#[derive(Debug, Parser)]
#[command(name = "stream-bench")]
struct Args {
    /// Measured runs per client and case (after one warm-up run each).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The Python interpreter that has `anthropic` installed; the Python
    /// SDK is skipped without it.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The directory whose `node_modules` holds `@anthropic-ai/sdk`; the
    /// TypeScript SDK is skipped without it.
    #[arg(long)]
    ts_sdk: Option<PathBuf>,
    /// The `node` executable.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// Only the cases whose names contain this (e.g. `100k`, `paced`).
    #[arg(long)]
    only: Option<String>,
}

/// A client under test.
#[derive(Debug, Clone)]
struct Client {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// A reply the mock streams.
struct Case {
    name: &'static str,
    tokens: usize,
    pacing: Pacing,
}

/// One measured run.
#[derive(Debug, Clone, Serialize)]
struct Run {
    launch_to_request_ms: f64,
    first_token_ms: f64,
    wall_ms: f64,
    cpu_ms: f64,
    user_ms: f64,
    system_ms: f64,
    peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
struct Summary {
    case: String,
    client: String,
    runs: Vec<Run>,
    median: Run,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no executable directory")?
        .to_owned();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_dir = tempfile::tempdir()?;
    let launcher = bin_dir.join("measure-child");
    let report = data_dir.path().join("measure-child.report");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let server = runtime.block_on(MockServer::start(MockConfig::default()))?;

    let common_env = vec![
        ("ANTHROPIC_BASE_URL".to_owned(), server.base_url()),
        ("ANTHROPIC_API_KEY".to_owned(), KEY.to_owned()),
    ];
    let mut clients = vec![
        Client {
            name: "floor (stream-floor)",
            program: bin_dir.join("stream-floor"),
            args: vec![PROMPT.into(), MODEL.into()],
            env: common_env.clone(),
        },
        Client {
            name: "tokio + reqwest only",
            program: bin_dir.join("stream-reqwest"),
            args: vec![PROMPT.into(), MODEL.into()],
            env: common_env.clone(),
        },
        Client {
            name: "kestrel -p",
            program: bin_dir.join("kestrel"),
            args: vec!["-p".into(), PROMPT.into(), "--model".into(), MODEL.into()],
            env: [
                common_env.clone(),
                vec![(
                    "KESTREL_DATA_DIR".to_owned(),
                    data_dir.path().display().to_string(),
                )],
            ]
            .concat(),
        },
    ];
    if let Some(sdk) = &args.ts_sdk {
        clients.push(Client {
            name: "TypeScript SDK",
            program: args.node.clone(),
            args: vec![
                repo.join("tests/bench/clients/stream_ts.cjs")
                    .display()
                    .to_string(),
                PROMPT.into(),
                MODEL.into(),
            ],
            env: [
                common_env.clone(),
                vec![("ANTHROPIC_SDK_DIR".to_owned(), sdk.display().to_string())],
            ]
            .concat(),
        });
    }
    if let Some(python) = &args.python {
        clients.push(Client {
            name: "Python SDK",
            program: python.clone(),
            args: vec![
                repo.join("tests/bench/clients/stream_python.py")
                    .display()
                    .to_string(),
                PROMPT.into(),
                MODEL.into(),
            ],
            env: common_env,
        });
    }

    let cases = [
        Case {
            name: "20 tokens, unpaced",
            tokens: 20,
            pacing: Pacing::default(),
        },
        Case {
            name: "10k tokens, unpaced",
            tokens: 10_000,
            pacing: Pacing::default(),
        },
        Case {
            name: "100k tokens, unpaced",
            tokens: 100_000,
            pacing: Pacing::default(),
        },
        Case {
            name: "paced: 300 ms, then 200 tokens 20 ms apart",
            tokens: 200,
            pacing: Pacing::new(Duration::from_millis(300), Some(50.0)),
        },
    ];

    let mut summaries = Vec::new();
    for case in &cases {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !case.name.contains(only))
        {
            continue;
        }
        let text = Words::new(case.tokens as u64).words(case.tokens);
        let reply = Reply::text(text.clone()).with_pacing(case.pacing);
        eprintln!("== {} ({} bytes of text)", case.name, text.len());
        let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
        // One warm-up round (discarded), then interleaved measured rounds.
        for round in 0..=args.runs {
            for client in &clients {
                let run = measure(&server, &launcher, &report, client, &reply, &text)
                    .with_context(|| format!("{} / {}", case.name, client.name))?;
                eprintln!(
                    "   {:<22} round {round}: launch→request {:6.1} ms, first token {:7.1} ms, \
                     wall {:7.1} ms, CPU {:7.1} ms, RSS {:5.1} MB",
                    client.name,
                    run.launch_to_request_ms,
                    run.first_token_ms,
                    run.wall_ms,
                    run.cpu_ms,
                    run.peak_rss_mb
                );
                if round > 0 {
                    runs.entry(client.name).or_default().push(run);
                }
            }
        }
        for client in &clients {
            let runs = runs.remove(client.name).unwrap_or_default();
            summaries.push(Summary {
                case: case.name.to_owned(),
                client: client.name.to_owned(),
                median: median_run(&runs),
                runs,
            });
        }
    }
    print_tables(&summaries);

    let out_dir = bin_dir.join("../bench");
    std::fs::create_dir_all(&out_dir)?;
    let out = out_dir.join("stream.json");
    std::fs::write(&out, serde_json::to_vec_pretty(&summaries)?)?;
    eprintln!("wrote {}", out.display());
    drop(server);
    Ok(())
}

/// Runs `client` once against `reply` and measures it. The client is
/// started through `measure-child` (see there for why), which reports the
/// spawn and exit times and the client's own rusage.
fn measure(
    server: &MockServer,
    launcher: &Path,
    report: &Path,
    client: &Client,
    reply: &Reply,
    text: &str,
) -> anyhow::Result<Run> {
    server.clear_requests();
    server.push_reply(reply.clone());
    let _ = std::fs::remove_file(report);
    let mut command = Command::new(launcher);
    command
        .arg(report)
        .arg(&client.program)
        .args(&client.args)
        .envs(client.env.iter().map(|(k, v)| (k, v)))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", launcher.display()))?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let mut stderr = child.stderr.take().context("no stderr")?;
    let reader = std::thread::spawn(move || {
        let mut first: Option<SystemTime> = None;
        let mut all = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    first.get_or_insert_with(SystemTime::now);
                    all.extend_from_slice(&buf[..n]);
                }
            }
        }
        (first, all)
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child.wait()?;
    let (first, output) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("stdout reader panicked"))?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        bail!("{status}: {errors}");
    }
    let fields: Vec<u64> = std::fs::read_to_string(report)?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("bad report")?;
    let [spawned, exited, user, system, max_rss_kib, _code] = fields[..] else {
        bail!("bad report: {fields:?}");
    };
    let output = String::from_utf8(output).context("stdout is not UTF-8")?;
    if output.trim_end() != text.trim_end() {
        bail!(
            "stdout differs from the reply ({} bytes, expected {}): {:?}…",
            output.len(),
            text.len(),
            output.chars().take(80).collect::<String>()
        );
    }
    let request = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/messages")
        .context("the mock recorded no request")?;
    let first = first
        .context("nothing on stdout")?
        .duration_since(UNIX_EPOCH)?
        .as_micros() as f64;
    let since_spawn = |unix_micros: f64| (unix_micros - spawned as f64) / 1000.0;
    Ok(Run {
        launch_to_request_ms: since_spawn(request.received_unix_micros as f64),
        first_token_ms: since_spawn(first),
        wall_ms: since_spawn(exited as f64),
        cpu_ms: (user + system) as f64 / 1000.0,
        user_ms: user as f64 / 1000.0,
        system_ms: system as f64 / 1000.0,
        peak_rss_mb: max_rss_kib as f64 * 1024.0 / 1e6,
    })
}

fn median_run(runs: &[Run]) -> Run {
    let of = |f: fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0);
    Run {
        launch_to_request_ms: of(|r| r.launch_to_request_ms),
        first_token_ms: of(|r| r.first_token_ms),
        wall_ms: of(|r| r.wall_ms),
        cpu_ms: of(|r| r.cpu_ms),
        user_ms: of(|r| r.user_ms),
        system_ms: of(|r| r.system_ms),
        peak_rss_mb: of(|r| r.peak_rss_mb),
    }
}

/// One markdown table per case (medians, min–max for CPU), with each
/// client's CPU as a multiple of the floor's.
fn print_tables(summaries: &[Summary]) {
    let mut cases: Vec<&str> = Vec::new();
    for s in summaries {
        if !cases.contains(&s.case.as_str()) {
            cases.push(&s.case);
        }
    }
    for case in cases {
        let rows: Vec<&Summary> = summaries.iter().filter(|s| s.case == case).collect();
        let floor = rows
            .iter()
            .find(|s| s.client.starts_with("floor"))
            .map(|s| s.median.clone());
        println!("\n### {case}\n");
        println!(
            "| client | launch → request | first token | wall | CPU (user+sys), min–max | CPU vs floor | peak RSS | RSS vs floor |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for row in rows {
            let m = &row.median;
            let cpu: Vec<f64> = row.runs.iter().map(|r| r.cpu_ms).collect();
            let (cpu_ratio, rss_ratio) = match &floor {
                Some(f) if f.cpu_ms > 0.0 && f.peak_rss_mb > 0.0 => (
                    format!("{:.2}×", m.cpu_ms / f.cpu_ms),
                    format!("{:.2}×", m.peak_rss_mb / f.peak_rss_mb),
                ),
                _ => ("–".to_owned(), "–".to_owned()),
            };
            println!(
                "| {} | {:.1} ms | {:.1} ms | {:.0} ms | {:.0} ms ({:.0}–{:.0}) | {} | {:.1} MB | {} |",
                row.client,
                m.launch_to_request_ms,
                m.first_token_ms,
                m.wall_ms,
                m.cpu_ms,
                min(&cpu).unwrap_or(0.0),
                max(&cpu).unwrap_or(0.0),
                cpu_ratio,
                m.peak_rss_mb,
                rss_ratio,
            );
        }
    }
}
