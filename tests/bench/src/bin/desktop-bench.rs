//! `desktop-bench`: the desktop benchmark runner. It starts everything
//! itself and measures from outside the apps:
//!
//! - one private Xvfb (`:N -screen 0 1280x800x24`) for every app, unless
//!   `--use-display`;
//! - cold start: spawn → the app's `FIRST_PAINT` line (monotonic clock),
//!   `--runs` times per app, interleaved, after one discarded warm-up run
//!   each: the floor (`paint-empty`), Kestrel with an empty data dir, and
//!   Kestrel with 1,000 stored conversations (made by `fill-db`);
//! - memory: `--settle-ms` after first paint, PSS/USS/RSS summed over the
//!   app and all its descendants (WebKit's web and network processes and
//!   sandbox helpers), then the process group is killed;
//! - streaming UI cost: the mock Anthropic server runs in this process; for
//!   unpaced 2,000- and 10,000-word replies and a paced 200-word one,
//!   `paint-kestrel --stream-tokens N` reports DOM updates and time;
//! - a markdown table on stdout and everything as JSON in
//!   `<target>/bench/desktop.json`.
//!
//! WebKit runs as the app would: `WEBKIT_DISABLE_COMPOSITING_MODE` is
//! removed from the apps' environment, unless `--also-compositing-off` adds
//! separately labelled runs with it set to 1.
//!
//! Build and run: `cargo build --release -p kestrel-bench &&
//! target/release/desktop-bench`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use kestrel_bench::procs::{self, TreeSample};
use kestrel_bench::run::{Launch, ms_between};
use kestrel_bench::stats::{max, median, min};
use kestrel_bench::words::Words;
use kestrel_bench::xvfb::Xvfb;
use kestrel_bench::{FIRST_PAINT, PHASES};
use kestrel_mock_anthropic::{MockConfig, MockServer, Pacing, Reply};
use serde::Serialize;
use serde_json::{Value, json};

/// Kestrel's desktop benchmarks (cold start, memory, streaming).
#[derive(Debug, Parser)]
#[command(name = "desktop-bench")]
struct Args {
    /// Measured cold starts per app (after one warm-up run each).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Runs per streaming case.
    #[arg(long, default_value_t = 3)]
    stream_runs: usize,
    /// Milliseconds between first paint and the memory sample.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
    /// Stored conversations for the "kestrel-1000" app.
    #[arg(long, default_value_t = 1000)]
    conversations: usize,
    /// Use the current DISPLAY instead of starting Xvfb.
    #[arg(long)]
    use_display: bool,
    /// Also run every app with WEBKIT_DISABLE_COMPOSITING_MODE=1 (reported
    /// separately).
    #[arg(long)]
    also_compositing_off: bool,
    /// Skip the cold-start and memory runs.
    #[arg(long)]
    skip_start: bool,
    /// Skip the streaming runs.
    #[arg(long)]
    skip_stream: bool,
    /// Where to write the JSON report [default: <target>/bench/desktop.json].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

const FLUSH_INTERVAL_MS: f64 = 33.0;
const MB: f64 = 1_000_000.0;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let bin_dir = exe.parent().context("the executable has no directory")?;
    let target_dir = bin_dir
        .parent()
        .context("the executable is not in a target directory")?;
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir.join("bench").join("desktop.json"));
    let log_dir = target_dir.join("bench").join("logs");
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create {}", log_dir.display()))?;
    let binary = |name: &str| -> anyhow::Result<PathBuf> {
        let path = bin_dir.join(name);
        if !path.is_file() {
            bail!(
                "{} is missing: build all benchmark binaries with `cargo build --release -p kestrel-bench`",
                path.display()
            );
        }
        Ok(path)
    };
    let paint_empty = binary("paint-empty")?;
    let paint_kestrel = binary("paint-kestrel")?;
    let fill_db = binary("fill-db")?;
    let profile = bin_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if profile != "release" {
        eprintln!("warning: these binaries are from the `{profile}` profile, not release");
    }

    let machine = machine_info();
    eprintln!("machine: {machine}");

    let (_xvfb, display) = if args.use_display {
        let display = std::env::var("DISPLAY")
            .ok()
            .filter(|d| !d.is_empty())
            .context("--use-display needs DISPLAY")?;
        (None, display)
    } else {
        let xvfb = Xvfb::start(99)?;
        let display = xvfb.display().to_owned();
        eprintln!("Xvfb on {display}");
        (Some(xvfb), display)
    };

    let work = tempfile::Builder::new()
        .prefix("kestrel-bench-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let ticks = procs::clock_ticks_per_second();
    let started = Instant::now();

    let mut report = json!({
        "machine": machine,
        "display": if args.use_display { format!("{display} (existing)") } else { format!("{display} (Xvfb 1280x800x24)") },
        "profile": profile,
        "runs": args.runs,
        "settle_ms": args.settle_ms,
        "units": "ms; memory in MB = 10^6 bytes",
    });

    let mut apps = Vec::new();
    if !args.skip_start {
        let empty_dir = work.path().join("empty");
        let filled_dir = work.path().join("filled");
        std::fs::create_dir_all(&empty_dir)?;
        eprintln!(
            "filling a database with {} conversations…",
            args.conversations
        );
        let status = Command::new(&fill_db)
            .arg("--data-dir")
            .arg(&filled_dir)
            .args([
                "--conversations",
                &args.conversations.to_string(),
                "--messages-per",
                "2",
            ])
            .status()
            .context("cannot run fill-db")?;
        if !status.success() {
            bail!("fill-db failed ({status})");
        }
        let db_bytes = std::fs::metadata(filled_dir.join("kestrel.db"))
            .map(|m| m.len())
            .unwrap_or(0);
        report["filled_db_bytes"] = json!(db_bytes);

        let mut specs = vec![
            AppSpec::new(
                "floor",
                "empty Dioxus desktop app (paint-empty)",
                &paint_empty,
                vec![],
            ),
            AppSpec::new(
                "kestrel",
                "Kestrel, empty data dir (paint-kestrel)",
                &paint_kestrel,
                vec!["--data-dir".into(), empty_dir.clone().into()],
            ),
            AppSpec::new(
                "kestrel-1000",
                "Kestrel, 1,000 stored conversations (paint-kestrel)",
                &paint_kestrel,
                vec!["--data-dir".into(), filled_dir.clone().into()],
            ),
        ];
        if args.also_compositing_off {
            let off: Vec<AppSpec> = specs.iter().map(AppSpec::compositing_off).collect();
            specs.extend(off);
        }
        apps = measure_starts(&specs, &args, &display, &log_dir, ticks)?;
        report["apps"] = serde_json::to_value(&apps)?;
        report["start_targets"] = start_targets(&apps);
    }

    let mut streams = Vec::new();
    if !args.skip_stream {
        streams = measure_streams(&paint_kestrel, &args, &display, &log_dir, work.path())?;
        report["streaming"] = serde_json::to_value(&streams)?;
        report["streaming_checks"] = stream_checks(&streams);
    }
    report["wall_seconds"] = json!(started.elapsed().as_secs_f64());

    println!("{}", markdown(&apps, &streams, &report));
    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", out_path.display()))?;
    eprintln!("wrote {}", out_path.display());
    Ok(())
}

// ---------------------------------------------------------------------------
// Cold start and memory

#[derive(Debug, Clone)]
struct AppSpec {
    name: String,
    description: String,
    binary: PathBuf,
    args: Vec<OsString>,
    compositing_off: bool,
}

impl AppSpec {
    fn new(name: &str, description: &str, binary: &Path, args: Vec<OsString>) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            binary: binary.to_owned(),
            args,
            compositing_off: false,
        }
    }

    fn compositing_off(&self) -> Self {
        Self {
            name: format!("{}+nocomp", self.name),
            description: format!(
                "{}, WEBKIT_DISABLE_COMPOSITING_MODE=1 (not how the app runs)",
                self.description
            ),
            compositing_off: true,
            ..self.clone()
        }
    }

    fn launch(&self, display: &str, log: PathBuf) -> Launch {
        let mut set_env = vec![("DISPLAY".to_owned(), display.to_owned())];
        let mut remove_env = vec!["WAYLAND_DISPLAY".to_owned()];
        if self.compositing_off {
            set_env.push(("WEBKIT_DISABLE_COMPOSITING_MODE".to_owned(), "1".to_owned()));
        } else {
            remove_env.push("WEBKIT_DISABLE_COMPOSITING_MODE".to_owned());
        }
        Launch {
            binary: self.binary.clone(),
            args: self.args.clone(),
            set_env,
            remove_env,
            log,
        }
    }
}

#[derive(Debug, Serialize)]
struct StartRun {
    first_paint_ms: f64,
    /// The app's own timings since `main` (`PHASES` line).
    phases: Option<Value>,
    memory: TreeSample,
    all_killed: bool,
}

#[derive(Debug, Default, Serialize)]
struct StartSummary {
    first_paint_ms_median: Option<f64>,
    first_paint_ms_min: Option<f64>,
    first_paint_ms_max: Option<f64>,
    pss_mb_median: Option<f64>,
    uss_mb_median: Option<f64>,
    rss_mb_median: Option<f64>,
    app_process_pss_mb_median: Option<f64>,
    descendants_pss_mb_median: Option<f64>,
    pss_mb_by_process_median: BTreeMap<String, f64>,
    process_count_median: Option<f64>,
    cpu_ms_median: Option<f64>,
    main_to_paint_ms_median: Option<f64>,
    main_to_mount_ms_median: Option<f64>,
    backend_open_ms_median: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AppResult {
    name: String,
    description: String,
    command: String,
    compositing_off: bool,
    warmup: Option<StartRun>,
    runs: Vec<StartRun>,
    errors: Vec<String>,
    summary: StartSummary,
}

fn command_line(spec: &AppSpec) -> String {
    let mut parts = vec![
        spec.binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    ];
    parts.extend(spec.args.iter().map(|a| a.to_string_lossy().into_owned()));
    let command = parts.join(" ");
    if spec.compositing_off {
        format!("WEBKIT_DISABLE_COMPOSITING_MODE=1 {command}")
    } else {
        command
    }
}

fn measure_starts(
    specs: &[AppSpec],
    args: &Args,
    display: &str,
    log_dir: &Path,
    ticks: f64,
) -> anyhow::Result<Vec<AppResult>> {
    let mut results: Vec<AppResult> = specs
        .iter()
        .map(|spec| AppResult {
            name: spec.name.clone(),
            description: spec.description.clone(),
            command: command_line(spec),
            compositing_off: spec.compositing_off,
            warmup: None,
            runs: Vec::new(),
            errors: Vec::new(),
            summary: StartSummary::default(),
        })
        .collect();
    // Round 0 is the warm-up (first execution after the build; it also
    // creates the empty data dir's database). Apps are interleaved so that
    // drift on the machine hits them all alike.
    for round in 0..=args.runs {
        for (spec, result) in specs.iter().zip(results.iter_mut()) {
            let log = log_dir.join(format!("{}-{round}.log", spec.name));
            let launch = spec.launch(display, log);
            match start_once(&launch, args.settle_ms, ticks) {
                Ok(run) => {
                    eprintln!(
                        "{:>22} run {round}: first paint {:7.1} ms, PSS {:6.1} MB ({} processes)",
                        spec.name,
                        run.first_paint_ms,
                        run.memory.total.pss_kb as f64 * 1024.0 / MB,
                        run.memory.processes.len()
                    );
                    if round == 0 {
                        result.warmup = Some(run);
                    } else {
                        result.runs.push(run);
                    }
                }
                Err(error) => {
                    eprintln!("{:>22} run {round}: FAILED: {error:#}", spec.name);
                    if round == 0 && result.errors.is_empty() && result.name == "floor" {
                        // Nothing will work if the floor cannot start.
                        return Err(error.context("the floor app failed to start"));
                    }
                    result.errors.push(format!("run {round}: {error:#}"));
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    for result in &mut results {
        result.summary = summarise(&result.runs);
    }
    Ok(results)
}

fn start_once(launch: &Launch, settle_ms: u64, ticks: f64) -> anyhow::Result<StartRun> {
    let mut running = launch.spawn()?;
    let outcome = (|| -> anyhow::Result<StartRun> {
        let (painted_at, _) =
            running.wait_line(Duration::from_secs(90), |line| line == FIRST_PAINT)?;
        let first_paint_ms = ms_between(running.spawned_at, painted_at);
        let phases = running
            .try_line(Duration::from_millis(500), |line| line.starts_with(PHASES))
            .and_then(|line| serde_json::from_str(&line[PHASES.len()..]).ok());
        let sample_at = painted_at + Duration::from_millis(settle_ms);
        std::thread::sleep(sample_at.saturating_duration_since(Instant::now()));
        if let Some(status) = running.child.try_wait()? {
            bail!("the app exited ({status}) before the memory sample");
        }
        let memory = running.sample(ticks);
        Ok(StartRun {
            first_paint_ms,
            phases,
            memory,
            all_killed: false,
        })
    })();
    let all_killed = running.kill();
    let mut run = outcome?;
    run.all_killed = all_killed;
    Ok(run)
}

fn mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / MB
}

fn summarise(runs: &[StartRun]) -> StartSummary {
    let collect = |f: &dyn Fn(&StartRun) -> Option<f64>| -> Vec<f64> {
        runs.iter().filter_map(f).collect::<Vec<_>>()
    };
    let paint = collect(&|r| Some(r.first_paint_ms));
    let phase = |key: &'static str| {
        median(&collect(&|r| {
            r.phases
                .as_ref()
                .and_then(|p| p.get(key))
                .and_then(Value::as_f64)
        }))
    };
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.memory.pss_kb_by_name.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let by_name = names
        .into_iter()
        .filter_map(|name| {
            let values =
                collect(&|r| Some(mb(r.memory.pss_kb_by_name.get(&name).copied().unwrap_or(0))));
            median(&values).map(|m| (name, m))
        })
        .collect();
    StartSummary {
        first_paint_ms_median: median(&paint),
        first_paint_ms_min: min(&paint),
        first_paint_ms_max: max(&paint),
        pss_mb_median: median(&collect(&|r| Some(mb(r.memory.total.pss_kb)))),
        uss_mb_median: median(&collect(&|r| Some(mb(r.memory.total.uss_kb)))),
        rss_mb_median: median(&collect(&|r| Some(mb(r.memory.total.rss_kb)))),
        app_process_pss_mb_median: median(&collect(&|r| Some(mb(r.memory.app.pss_kb)))),
        descendants_pss_mb_median: median(&collect(&|r| Some(mb(r.memory.children.pss_kb)))),
        pss_mb_by_process_median: by_name,
        process_count_median: median(&collect(&|r| Some(r.memory.processes.len() as f64))),
        cpu_ms_median: median(&collect(&|r| Some(r.memory.cpu_ms))),
        main_to_paint_ms_median: phase("painted_ms"),
        main_to_mount_ms_median: phase("mounted_ms"),
        backend_open_ms_median: phase("backend_open_ms"),
    }
}

fn find<'a>(apps: &'a [AppResult], name: &str) -> Option<&'a AppResult> {
    apps.iter().find(|a| a.name == name)
}

/// The issue's targets: first paint ≤ floor + 15 %; PSS with 1,000
/// conversations ≤ floor + 40 MB.
fn start_targets(apps: &[AppResult]) -> Value {
    let mut out = serde_json::Map::new();
    for suffix in ["", "+nocomp"] {
        let Some(floor) = find(apps, &format!("floor{suffix}")) else {
            continue;
        };
        for name in ["kestrel", "kestrel-1000"] {
            let name = format!("{name}{suffix}");
            let Some(app) = find(apps, &name) else {
                continue;
            };
            if let (Some(f), Some(a)) = (
                floor.summary.first_paint_ms_median,
                app.summary.first_paint_ms_median,
            ) {
                let limit = f * 1.15;
                out.insert(
                    format!("first_paint:{name}"),
                    json!({
                        "target": "median first paint <= floor median + 15%",
                        "floor_ms": f, "app_ms": a, "limit_ms": limit,
                        "over_floor_pct": (a / f - 1.0) * 100.0,
                        "pass": a <= limit,
                    }),
                );
            }
            if let (Some(f), Some(a)) = (floor.summary.pss_mb_median, app.summary.pss_mb_median) {
                let limit = f + 40.0;
                out.insert(
                    format!("pss:{name}"),
                    json!({
                        "target": "median PSS of all processes <= floor median + 40 MB (the issue's target names the 1,000-conversation case)",
                        "floor_mb": f, "app_mb": a, "limit_mb": limit,
                        "over_floor_mb": a - f,
                        "pass": a <= limit,
                    }),
                );
            }
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Streaming

#[derive(Debug, Clone)]
struct StreamCase {
    name: &'static str,
    tokens: usize,
    tokens_per_second: Option<f64>,
}

#[derive(Debug, Serialize)]
struct StreamResult {
    name: String,
    tokens: usize,
    tokens_per_second: Option<f64>,
    expected_chars: usize,
    command: String,
    runs: Vec<Value>,
    errors: Vec<String>,
    ms_median: Option<f64>,
    first_text_ms_median: Option<f64>,
    dom_updates_median: Option<f64>,
    text_updates_median: Option<f64>,
    frames_median: Option<f64>,
    mutation_records_median: Option<f64>,
    final_chars_median: Option<f64>,
    /// Streaming time (first text → finished) / 33 ms: the most updates the
    /// flush interval allows.
    flush_bound_median: Option<f64>,
    us_per_token_median: Option<f64>,
}

fn measure_streams(
    paint_kestrel: &Path,
    args: &Args,
    display: &str,
    log_dir: &Path,
    work: &Path,
) -> anyhow::Result<Vec<StreamResult>> {
    let cases = [
        StreamCase {
            name: "unpaced-2000",
            tokens: 2000,
            tokens_per_second: None,
        },
        StreamCase {
            name: "unpaced-10000",
            tokens: 10_000,
            tokens_per_second: None,
        },
        StreamCase {
            name: "paced-200-at-50-per-s",
            tokens: 200,
            tokens_per_second: Some(50.0),
        },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let server = runtime
        .block_on(MockServer::start(MockConfig::default()))
        .context("cannot start the mock Anthropic server")?;
    let base_url = server.base_url();
    eprintln!("mock Anthropic server at {base_url}");

    let mut results = Vec::new();
    for case in &cases {
        let text = Words::new(case.tokens as u64).words(case.tokens);
        let pacing = Pacing::new(Duration::ZERO, case.tokens_per_second);
        let mut runs = Vec::new();
        let mut errors = Vec::new();
        let mut command = String::new();
        for round in 0..args.stream_runs {
            let data_dir = work.join(format!("stream-{}-{round}", case.name));
            let launch = Launch {
                binary: paint_kestrel.to_owned(),
                args: vec![
                    "--data-dir".into(),
                    data_dir.clone().into(),
                    "--base-url".into(),
                    base_url.clone().into(),
                    "--stream-tokens".into(),
                    case.tokens.to_string().into(),
                ],
                set_env: vec![("DISPLAY".to_owned(), display.to_owned())],
                remove_env: vec![
                    "WAYLAND_DISPLAY".to_owned(),
                    "WEBKIT_DISABLE_COMPOSITING_MODE".to_owned(),
                ],
                log: log_dir.join(format!("stream-{}-{round}.log", case.name)),
            };
            command = format!(
                "paint-kestrel --data-dir <fresh dir> --base-url <mock> --stream-tokens {}",
                case.tokens
            );
            server.clear_replies();
            server.push_reply(Reply::text(text.clone()).with_pacing(pacing));
            match stream_once(&launch) {
                Ok(value) => {
                    eprintln!("{:>22} run {round}: {value}", case.name);
                    runs.push(value);
                }
                Err(error) => {
                    eprintln!("{:>22} run {round}: FAILED: {error:#}", case.name);
                    errors.push(format!("run {round}: {error:#}"));
                }
            }
            let _ = std::fs::remove_dir_all(&data_dir);
            std::thread::sleep(Duration::from_millis(300));
        }
        let field = |key: &str| -> Vec<f64> {
            runs.iter()
                .filter_map(|r| r.get(key).and_then(Value::as_f64))
                .collect()
        };
        let ms = field("ms");
        let first = field("first_text_ms");
        let bounds: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                let ms = r.get("ms")?.as_f64()?;
                let first = r.get("first_text_ms")?.as_f64()?;
                Some((ms - first).max(0.0) / FLUSH_INTERVAL_MS)
            })
            .collect();
        let per_token: Vec<f64> = ms
            .iter()
            .map(|ms| ms * 1000.0 / case.tokens as f64)
            .collect();
        results.push(StreamResult {
            name: case.name.to_owned(),
            tokens: case.tokens,
            tokens_per_second: case.tokens_per_second,
            expected_chars: text.chars().count(),
            command,
            ms_median: median(&ms),
            first_text_ms_median: median(&first),
            dom_updates_median: median(&field("dom_updates")),
            text_updates_median: median(&field("text_updates")),
            frames_median: median(&field("frames")),
            mutation_records_median: median(&field("mutation_records")),
            final_chars_median: median(&field("final_chars")),
            flush_bound_median: median(&bounds),
            us_per_token_median: median(&per_token),
            runs,
            errors,
        });
    }
    drop(server);
    Ok(results)
}

fn stream_once(launch: &Launch) -> anyhow::Result<Value> {
    let mut running = launch.spawn()?;
    let outcome = (|| -> anyhow::Result<Value> {
        running.wait_line(Duration::from_secs(90), |line| line == FIRST_PAINT)?;
        let (_, line) = running.wait_line(Duration::from_secs(300), |line| {
            line.starts_with('{') && line.contains("\"tokens\"")
        })?;
        serde_json::from_str(&line).with_context(|| format!("not JSON: {line}"))
    })();
    running.kill();
    outcome
}

fn stream_checks(streams: &[StreamResult]) -> Value {
    let mut out = serde_json::Map::new();
    for s in streams {
        let within_frames = s
            .runs
            .iter()
            .map(|r| {
                let updates = r.get("dom_updates").and_then(Value::as_f64).unwrap_or(0.0);
                let frames = r.get("frames").and_then(Value::as_f64).unwrap_or(0.0);
                updates <= frames.max(1.0)
            })
            .all(|ok| ok);
        out.insert(
            format!("updates_at_most_one_per_frame:{}", s.name),
            json!(within_frames && !s.runs.is_empty()),
        );
    }
    let small = streams.iter().find(|s| s.name == "unpaced-2000");
    let large = streams.iter().find(|s| s.name == "unpaced-10000");
    if let (Some(small), Some(large)) = (small, large)
        && let (Some(a), Some(b)) = (small.ms_median, large.ms_median)
    {
        let ratio = b / a;
        out.insert(
            "time_ratio_10000_vs_2000".to_owned(),
            json!({
                "ratio": ratio,
                "linear_would_be": 5.0,
                "quadratic_would_be": 25.0,
                "pass_not_quadratic": ratio < 10.0,
            }),
        );
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Machine and report

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine_info() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mem_total_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        });
    json!({
        "date_utc": command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "nproc": command_output("nproc", &[]),
        "cpu": cpu,
        "mem_total_mb": mem_total_kb.map(mb),
        "kernel": command_output("uname", &["-r"]),
        "os": command_output("sh", &["-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "webkitgtk": command_output("dpkg-query", &["-W", "libwebkit2gtk-4.1-0"]),
        "xvfb": command_output("dpkg-query", &["-W", "xvfb"]),
        "rustc": command_output("rustc", &["-V"]),
        "webkit_env": std::env::vars()
            .filter(|(k, _)| k.starts_with("WEBKIT") || k.starts_with("GDK") || k.starts_with("LIBGL"))
            .collect::<BTreeMap<_, _>>(),
    })
}

fn fmt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}"),
        None => "–".to_owned(),
    }
}

fn markdown(apps: &[AppResult], streams: &[StreamResult], report: &Value) -> String {
    let mut out = String::new();
    let machine = &report["machine"];
    out.push_str(&format!(
        "Machine: {} ({} cores), kernel {}, {}, WebKitGTK {}; display {}; {} runs per app after a warm-up; memory sampled {} ms after first paint.\n\n",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["nproc"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["os"].as_str().unwrap_or("?"),
        machine["webkitgtk"].as_str().unwrap_or("?"),
        report["display"].as_str().unwrap_or("?"),
        report["runs"],
        report["settle_ms"],
    ));
    if !apps.is_empty() {
        out.push_str("| app | first paint median (min–max) ms | warm-up ms | PSS MB | USS MB | RSS MB | app process PSS | descendants PSS | PSS by process | CPU ms | in-process main→paint ms |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for app in apps {
            let s = &app.summary;
            let by: Vec<String> = s
                .pss_mb_by_process_median
                .iter()
                .map(|(name, v)| format!("{name} {v:.1}"))
                .collect();
            out.push_str(&format!(
                "| {} | {} ({}–{}) | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                app.name,
                fmt(s.first_paint_ms_median, 0),
                fmt(s.first_paint_ms_min, 0),
                fmt(s.first_paint_ms_max, 0),
                fmt(app.warmup.as_ref().map(|w| w.first_paint_ms), 0),
                fmt(s.pss_mb_median, 1),
                fmt(s.uss_mb_median, 1),
                fmt(s.rss_mb_median, 1),
                fmt(s.app_process_pss_mb_median, 1),
                fmt(s.descendants_pss_mb_median, 1),
                by.join(", "),
                fmt(s.cpu_ms_median, 0),
                fmt(s.main_to_paint_ms_median, 0),
            ));
        }
        out.push('\n');
        if let Some(targets) = report["start_targets"].as_object() {
            out.push_str("| target | app | floor | limit | result |\n|---|---|---|---|---|\n");
            for (name, t) in targets {
                let (app, floor, limit) = if name.starts_with("first_paint") {
                    (
                        format!("{:.0} ms", t["app_ms"].as_f64().unwrap_or(f64::NAN)),
                        format!("{:.0} ms", t["floor_ms"].as_f64().unwrap_or(f64::NAN)),
                        format!(
                            "{:.0} ms (app is {:+.1}% vs floor)",
                            t["limit_ms"].as_f64().unwrap_or(f64::NAN),
                            t["over_floor_pct"].as_f64().unwrap_or(f64::NAN)
                        ),
                    )
                } else {
                    (
                        format!("{:.1} MB", t["app_mb"].as_f64().unwrap_or(f64::NAN)),
                        format!("{:.1} MB", t["floor_mb"].as_f64().unwrap_or(f64::NAN)),
                        format!(
                            "{:.1} MB (app is {:+.1} MB vs floor)",
                            t["limit_mb"].as_f64().unwrap_or(f64::NAN),
                            t["over_floor_mb"].as_f64().unwrap_or(f64::NAN)
                        ),
                    )
                };
                let pass = if t["pass"].as_bool() == Some(true) {
                    "pass"
                } else {
                    "FAIL"
                };
                out.push_str(&format!(
                    "| {name} | {app} | {floor} | {limit} | {pass} |\n"
                ));
            }
            out.push('\n');
        }
    }
    if !streams.is_empty() {
        out.push_str("| stream | tokens | ms (click → finished) | first text ms | DOM updates | text updates | frames | (ms − first text) / 33 | µs per token | final chars / expected |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
        for s in streams {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |\n",
                s.name,
                s.tokens,
                fmt(s.ms_median, 0),
                fmt(s.first_text_ms_median, 0),
                fmt(s.dom_updates_median, 0),
                fmt(s.text_updates_median, 0),
                fmt(s.frames_median, 0),
                fmt(s.flush_bound_median, 0),
                fmt(s.us_per_token_median, 1),
                fmt(s.final_chars_median, 0),
                s.expected_chars,
            ));
        }
        out.push('\n');
        out.push_str(&format!(
            "Streaming checks: {}\n",
            report["streaming_checks"]
        ));
    }
    out
}
