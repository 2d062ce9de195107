//! `desktop-bench`: the desktop benchmark runner. It starts everything
//! itself and measures from outside the apps:
//!
//! - one private Xvfb (`:N -screen 0 1280x800x24`) and one D-Bus session
//!   bus for every app, unless `--use-display`;
//! - cold start: spawn → the app's `FIRST_PAINT` line (monotonic clock),
//!   `--runs` times per app, interleaved, after one warm-up run each (kept
//!   apart): the floor (`paint-empty`), Kestrel with an empty data dir, and
//!   Kestrel with 1,000 stored conversations (made by `fill-db`);
//! - memory: `--settle-ms` after first paint, PSS/USS/RSS summed over the
//!   app and all its descendants (WebKit's web and network processes), then
//!   idle CPU over `--idle-ms`, then the process group is killed;
//! - streaming UI cost: the mock Anthropic server runs in this process;
//!   for unpaced 2,000- and 10,000-word replies and paced ones,
//!   `paint-kestrel --stream-tokens N` reports DOM updates, frames, time and
//!   CPU by process (`--stream-diagnostics` adds runs without the frame
//!   counter and the cursor animation);
//! - a markdown table on stdout and everything as JSON in
//!   `<target>/bench/desktop.json`.
//!
//! WebKit runs as the app would: `WEBKIT_DISABLE_COMPOSITING_MODE` is
//! removed from the apps' environment, unless `--also-compositing-off` adds
//! separately labelled runs with it set to 1.
//!
//! Build and run: `cargo build --release -p kestrel-bench &&
//! target/release/desktop-bench`. Results are discussed in BENCHMARKS.md.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use kestrel_bench::procs::{self, TreeSample};
use kestrel_bench::run::{Launch, ms_between};
use kestrel_bench::session_bus::SessionBus;
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
    /// After the memory sample, measure idle CPU over this many ms (0: skip).
    #[arg(long, default_value_t = 3000)]
    idle_ms: u64,
    /// Also stream the paced 200-token reply without the frame counter,
    /// and without the cursor's blink animation, to see what the web
    /// process spends its CPU on.
    #[arg(long)]
    stream_diagnostics: bool,
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

    // With Xvfb, also one session bus for every app, as a desktop session
    // has. Both are stopped when dropped at the end of `main`.
    let (_xvfb, _bus, env) = if args.use_display {
        let display = std::env::var("DISPLAY")
            .ok()
            .filter(|d| !d.is_empty())
            .context("--use-display needs DISPLAY")?;
        (None, None, AppEnv { display, bus: None })
    } else {
        let xvfb = Xvfb::start(99)?;
        let display = xvfb.display().to_owned();
        let bus = SessionBus::start()?;
        eprintln!("Xvfb on {display}, session bus {}", bus.address());
        let env = AppEnv {
            display,
            bus: Some(bus.address().to_owned()),
        };
        (Some(xvfb), Some(bus), env)
    };
    let display = env.display.clone();

    let work = tempfile::Builder::new()
        .prefix("kestrel-bench-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let ticks = procs::clock_ticks_per_second();
    let started = Instant::now();

    let mut report = json!({
        "machine": machine,
        "display": if args.use_display { format!("{display} (existing)") } else { format!("{display} (Xvfb 1280x800x24, private D-Bus session bus)") },
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
                vec!["--data-dir".into(), empty_dir.into()],
            ),
            AppSpec::new(
                "kestrel-1000",
                "Kestrel, 1,000 stored conversations (paint-kestrel)",
                &paint_kestrel,
                vec!["--data-dir".into(), filled_dir.into()],
            ),
        ];
        if args.also_compositing_off {
            let off: Vec<AppSpec> = specs.iter().map(AppSpec::compositing_off).collect();
            specs.extend(off);
        }
        apps = measure_starts(&specs, &args, &env, &log_dir, ticks)?;
        report["apps"] = serde_json::to_value(&apps)?;
        report["start_targets"] = start_targets(&apps);
    }

    let mut streams = Vec::new();
    if !args.skip_stream {
        streams = measure_streams(&paint_kestrel, &args, &env, &log_dir, work.path())?;
        report["streaming"] = serde_json::to_value(&streams)?;
        report["streaming_checks"] = stream_checks(&streams);
    }
    report["wall_seconds"] = json!(started.elapsed().as_secs_f64());
    report["loadavg_at_end"] = json!(
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

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

/// The environment every app gets.
#[derive(Debug, Clone)]
struct AppEnv {
    display: String,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus, if one was started.
    bus: Option<String>,
}

impl AppEnv {
    /// (set, remove) lists for [`Launch`]: DISPLAY and the bus set;
    /// WAYLAND_DISPLAY removed; WEBKIT_DISABLE_COMPOSITING_MODE removed, or
    /// set to 1 when `compositing_off`.
    fn vars(&self, compositing_off: bool) -> (Vec<(String, String)>, Vec<String>) {
        let mut set = vec![("DISPLAY".to_owned(), self.display.clone())];
        let mut remove = vec!["WAYLAND_DISPLAY".to_owned()];
        if let Some(bus) = &self.bus {
            set.push(("DBUS_SESSION_BUS_ADDRESS".to_owned(), bus.clone()));
        }
        if compositing_off {
            set.push(("WEBKIT_DISABLE_COMPOSITING_MODE".to_owned(), "1".to_owned()));
        } else {
            remove.push("WEBKIT_DISABLE_COMPOSITING_MODE".to_owned());
        }
        (set, remove)
    }
}

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

    fn launch(&self, env: &AppEnv, log: PathBuf) -> Launch {
        let (set_env, remove_env) = env.vars(self.compositing_off);
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
    /// CPU use (% of one core) by process while idle, from the memory
    /// sample to `--idle-ms` later.
    idle_cpu_pct_by_process: BTreeMap<String, f64>,
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
    /// PSS by kind over all processes: anon (heaps), file (libraries),
    /// shmem (shared graphics buffers).
    pss_anon_mb_median: Option<f64>,
    pss_file_mb_median: Option<f64>,
    pss_shmem_mb_median: Option<f64>,
    /// The same split for the WebKitWebProcess alone.
    web_process_pss_anon_mb_median: Option<f64>,
    web_process_pss_file_mb_median: Option<f64>,
    web_process_pss_shmem_mb_median: Option<f64>,
    cpu_ms_by_process_median: BTreeMap<String, f64>,
    idle_cpu_pct_by_process_median: BTreeMap<String, f64>,
    process_count_median: Option<f64>,
    cpu_ms_median: Option<f64>,
    main_to_paint_ms_median: Option<f64>,
    main_to_mount_ms_median: Option<f64>,
    backend_open_ms_median: Option<f64>,
    /// Page clock (ms since the webview's navigation started): the first
    /// render seen, ready seen, two frames later.
    page_first_dom_ms_median: Option<f64>,
    page_ready_ms_median: Option<f64>,
    page_painted_ms_median: Option<f64>,
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
    env: &AppEnv,
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
            let launch = spec.launch(env, log);
            match start_once(&launch, args.settle_ms, args.idle_ms, ticks) {
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

fn start_once(
    launch: &Launch,
    settle_ms: u64,
    idle_ms: u64,
    ticks: f64,
) -> anyhow::Result<StartRun> {
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
        let mut idle_cpu_pct_by_process = BTreeMap::new();
        if idle_ms > 0 {
            let before = procs::cpu_ms_by_name(running.pid(), ticks);
            let from = Instant::now();
            std::thread::sleep(Duration::from_millis(idle_ms));
            let after = procs::cpu_ms_by_name(running.pid(), ticks);
            let elapsed_ms = from.elapsed().as_secs_f64() * 1000.0;
            for (name, ms) in after {
                let used = ms - before.get(&name).copied().unwrap_or(0.0);
                idle_cpu_pct_by_process.insert(name, used / elapsed_ms * 100.0);
            }
        }
        Ok(StartRun {
            first_paint_ms,
            phases,
            memory,
            idle_cpu_pct_by_process,
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
    let phase = |path: &[&str]| {
        median(&collect(&|r| {
            let mut value = r.phases.as_ref()?;
            for key in path {
                value = value.get(key)?;
            }
            value.as_f64()
        }))
    };
    let web = |f: fn(&procs::Memory) -> u64| {
        median(&collect(&|r| {
            let kb: u64 = r
                .memory
                .processes
                .iter()
                .filter(|p| p.name == "WebKitWebProcess")
                .map(|p| f(&p.memory))
                .sum();
            Some(mb(kb))
        }))
    };
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.memory.pss_kb_by_name.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let per_name = |f: &dyn Fn(&StartRun, &str) -> f64| -> BTreeMap<String, f64> {
        names
            .iter()
            .filter_map(|name| {
                let values: Vec<f64> = runs.iter().map(|r| f(r, name)).collect();
                median(&values).map(|m| (name.clone(), m))
            })
            .collect()
    };
    let by_name = per_name(&|r, name| mb(r.memory.pss_kb_by_name.get(name).copied().unwrap_or(0)));
    let cpu_by_name = per_name(&|r, name| {
        r.memory
            .processes
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.cpu_ms)
            .sum()
    });
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
        pss_anon_mb_median: median(&collect(&|r| Some(mb(r.memory.total.pss_anon_kb)))),
        pss_file_mb_median: median(&collect(&|r| Some(mb(r.memory.total.pss_file_kb)))),
        pss_shmem_mb_median: median(&collect(&|r| Some(mb(r.memory.total.pss_shmem_kb)))),
        web_process_pss_anon_mb_median: web(|m| m.pss_anon_kb),
        web_process_pss_file_mb_median: web(|m| m.pss_file_kb),
        web_process_pss_shmem_mb_median: web(|m| m.pss_shmem_kb),
        cpu_ms_by_process_median: cpu_by_name,
        idle_cpu_pct_by_process_median: per_name(&|r, name| {
            r.idle_cpu_pct_by_process.get(name).copied().unwrap_or(0.0)
        }),
        process_count_median: median(&collect(&|r| Some(r.memory.processes.len() as f64))),
        cpu_ms_median: median(&collect(&|r| Some(r.memory.cpu_ms))),
        main_to_paint_ms_median: phase(&["painted_ms"]),
        main_to_mount_ms_median: phase(&["mounted_ms"]),
        backend_open_ms_median: phase(&["backend_open_ms"]),
        page_first_dom_ms_median: phase(&["page", "first_dom_ms"]),
        page_ready_ms_median: phase(&["page", "ready_ms"]),
        page_painted_ms_median: phase(&["page", "painted_ms"]),
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
    /// Extra `paint-kestrel` flags (diagnostics).
    extra_args: &'static [&'static str],
    /// Run with WEBKIT_DISABLE_COMPOSITING_MODE=1 (not how the app runs).
    compositing_off: bool,
}

impl StreamCase {
    const fn new(name: &'static str, tokens: usize, tokens_per_second: Option<f64>) -> Self {
        Self {
            name,
            tokens,
            tokens_per_second,
            extra_args: &[],
            compositing_off: false,
        }
    }
}

/// The cases: as fast as possible (the brief's 2,000 vs 10,000), a
/// realistic API rate, and a fast but paced rate that keeps the flush timer
/// busy for seconds (where a per-update cost that grows with the text would
/// show as quadratic CPU).
const STREAM_CASES: &[StreamCase] = &[
    StreamCase::new("unpaced-2000", 2000, None),
    StreamCase::new("unpaced-10000", 10_000, None),
    StreamCase::new("paced-200-at-50/s", 200, Some(50.0)),
    StreamCase::new("paced-2000-at-1000/s", 2000, Some(1000.0)),
    StreamCase::new("paced-10000-at-1000/s", 10_000, Some(1000.0)),
];

/// With `--stream-diagnostics`: the paced 200-token case without the
/// measurement's own frame counter, then also without the cursor blink.
const STREAM_DIAGNOSTICS: &[StreamCase] = &[
    StreamCase {
        extra_args: &["--no-frame-count"],
        ..StreamCase::new("diag: paced-200-at-50/s, no frame counter", 200, Some(50.0))
    },
    StreamCase {
        extra_args: &["--no-frame-count", "--no-cursor-animation"],
        ..StreamCase::new(
            "diag: paced-200-at-50/s, no frame counter, no cursor blink",
            200,
            Some(50.0),
        )
    },
];

/// With `--also-compositing-off`: the paced 200-token case with
/// WEBKIT_DISABLE_COMPOSITING_MODE=1.
const STREAM_COMPOSITING_OFF: &[StreamCase] = &[StreamCase {
    compositing_off: true,
    ..StreamCase::new("paced-200-at-50/s+nocomp", 200, Some(50.0))
}];

/// The numeric fields of `paint-kestrel --stream-tokens`'s JSON line.
const STREAM_FIELDS: &[&str] = &[
    "ms",
    "first_text_ms",
    "last_text_ms",
    "dom_updates",
    "text_updates",
    "mutation_records",
    "frames",
    "final_chars",
];

#[derive(Debug, Serialize)]
struct StreamResult {
    name: String,
    tokens: usize,
    tokens_per_second: Option<f64>,
    expected_chars: usize,
    command: String,
    runs: Vec<Value>,
    errors: Vec<String>,
    /// Medians of [`STREAM_FIELDS`], plus `flush_bound` ((last text −
    /// first text) / 33 ms + 1: the most updates the flush interval
    /// allows), `us_per_token` (ms / tokens) and `cpu_ms_total`.
    medians: BTreeMap<String, f64>,
    /// CPU time spent while streaming, by process.
    cpu_ms_by_process_median: BTreeMap<String, f64>,
}

impl StreamResult {
    fn median_of(&self, key: &str) -> Option<f64> {
        self.medians.get(key).copied()
    }
}

fn measure_streams(
    paint_kestrel: &Path,
    args: &Args,
    env: &AppEnv,
    log_dir: &Path,
    work: &Path,
) -> anyhow::Result<Vec<StreamResult>> {
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

    let mut cases: Vec<&StreamCase> = STREAM_CASES.iter().collect();
    if args.stream_diagnostics {
        cases.extend(STREAM_DIAGNOSTICS);
    }
    if args.also_compositing_off {
        cases.extend(STREAM_COMPOSITING_OFF);
    }
    let mut results = Vec::new();
    for case in cases {
        let text = Words::new(case.tokens as u64).words(case.tokens);
        let pacing = Pacing::new(Duration::ZERO, case.tokens_per_second);
        let mut runs = Vec::new();
        let mut errors = Vec::new();
        let file_name: String = case
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        for round in 0..args.stream_runs {
            let data_dir = work.join(format!("stream-{file_name}-{round}"));
            let mut launch_args: Vec<OsString> = vec![
                "--data-dir".into(),
                data_dir.clone().into(),
                "--base-url".into(),
                base_url.clone().into(),
                "--stream-tokens".into(),
                case.tokens.to_string().into(),
            ];
            launch_args.extend(case.extra_args.iter().map(OsString::from));
            let (set_env, remove_env) = env.vars(case.compositing_off);
            let launch = Launch {
                binary: paint_kestrel.to_owned(),
                args: launch_args,
                set_env,
                remove_env,
                log: log_dir.join(format!("stream-{file_name}-{round}.log")),
            };
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
        results.push(summarise_stream(case, &text, runs, errors));
    }
    drop(server);
    Ok(results)
}

fn summarise_stream(
    case: &StreamCase,
    text: &str,
    runs: Vec<Value>,
    errors: Vec<String>,
) -> StreamResult {
    let field = |run: &Value, key: &str| run.get(key).and_then(Value::as_f64);
    let mut medians = BTreeMap::new();
    for key in STREAM_FIELDS {
        let values: Vec<f64> = runs.iter().filter_map(|r| field(r, key)).collect();
        if let Some(m) = median(&values) {
            medians.insert((*key).to_owned(), m);
        }
    }
    let bounds: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            let first = field(r, "first_text_ms")?;
            let last = field(r, "last_text_ms")?;
            Some((last - first).max(0.0) / FLUSH_INTERVAL_MS + 1.0)
        })
        .collect();
    if let Some(m) = median(&bounds) {
        medians.insert("flush_bound".to_owned(), m);
    }
    let per_token: Vec<f64> = runs
        .iter()
        .filter_map(|r| field(r, "ms"))
        .map(|ms| ms * 1000.0 / case.tokens as f64)
        .collect();
    if let Some(m) = median(&per_token) {
        medians.insert("us_per_token".to_owned(), m);
    }
    // The rate the text really arrived at (the mock's pacing sleeps round
    // up to the timer's resolution).
    let rates: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            let first = field(r, "first_text_ms")?;
            let last = field(r, "last_text_ms")?;
            (last > first).then(|| case.tokens as f64 * 1000.0 / (last - first))
        })
        .collect();
    if let Some(m) = median(&rates) {
        medians.insert("effective_tokens_per_second".to_owned(), m);
    }
    let cpu_of = |run: &Value| -> BTreeMap<String, f64> {
        run.get("cpu_ms_by_process")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let totals: Vec<f64> = runs.iter().map(|r| cpu_of(r).values().sum()).collect();
    if let Some(m) = median(&totals) {
        medians.insert("cpu_ms_total".to_owned(), m);
    }
    let mut names: Vec<String> = runs.iter().flat_map(|r| cpu_of(r).into_keys()).collect();
    names.sort();
    names.dedup();
    let cpu_ms_by_process_median = names
        .into_iter()
        .filter_map(|name| {
            let values: Vec<f64> = runs
                .iter()
                .map(|r| cpu_of(r).get(&name).copied().unwrap_or(0.0))
                .collect();
            median(&values).map(|m| (name, m))
        })
        .collect();
    StreamResult {
        name: case.name.to_owned(),
        tokens: case.tokens,
        tokens_per_second: case.tokens_per_second,
        expected_chars: text.chars().count(),
        command: format!(
            "{}paint-kestrel --data-dir <fresh dir> --base-url <mock> --stream-tokens {}{}{} (mock reply: {} words, {})",
            if case.compositing_off {
                "WEBKIT_DISABLE_COMPOSITING_MODE=1 "
            } else {
                ""
            },
            case.tokens,
            if case.extra_args.is_empty() { "" } else { " " },
            case.extra_args.join(" "),
            case.tokens,
            match case.tokens_per_second {
                Some(rate) => format!("{rate} tokens/s"),
                None => "unpaced".to_owned(),
            }
        ),
        runs,
        errors,
        medians,
        cpu_ms_by_process_median,
    }
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
        // Runs without the frame counter cannot be checked (null).
        let checks: Vec<bool> = s
            .runs
            .iter()
            .filter_map(|r| {
                let updates = r.get("dom_updates").and_then(Value::as_f64)?;
                let frames = r.get("frames").and_then(Value::as_f64)?;
                Some(updates <= frames.max(1.0))
            })
            .collect();
        let within_frames = (!checks.is_empty()).then(|| checks.iter().all(|ok| *ok));
        out.insert(
            format!("dom_updates_at_most_frames:{}", s.name),
            json!(within_frames),
        );
    }
    let ratio = |small: &str, large: &str, key: &str| -> Option<f64> {
        let a = streams.iter().find(|s| s.name == small)?.median_of(key)?;
        let b = streams.iter().find(|s| s.name == large)?.median_of(key)?;
        (a > 0.0).then_some(b / a)
    };
    for (small, large, key) in [
        ("unpaced-2000", "unpaced-10000", "ms"),
        ("unpaced-2000", "unpaced-10000", "cpu_ms_total"),
        ("paced-2000-at-1000/s", "paced-10000-at-1000/s", "ms"),
        (
            "paced-2000-at-1000/s",
            "paced-10000-at-1000/s",
            "cpu_ms_total",
        ),
        (
            "paced-2000-at-1000/s",
            "paced-10000-at-1000/s",
            "dom_updates",
        ),
    ] {
        if let Some(r) = ratio(small, large, key) {
            out.insert(
                format!("ratio_{key}:{large}_vs_{small}"),
                json!({
                    "ratio": r,
                    "linear_would_be": 5.0,
                    "quadratic_would_be": 25.0,
                    "not_quadratic": r < 10.0,
                }),
            );
        }
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
        "loadavg_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "git_commit": command_output("git", &["rev-parse", "--short", "HEAD"]),
        "git_dirty_files": command_output("sh", &["-c", "git status --porcelain | wc -l"]),
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
        out.push_str("Where it goes (medians): in-process times are from the app's `main`; page times from the webview's navigation start.\n\n");
        out.push_str("| app | main→mount ms | main→paint ms | backend open ms | page: first render / ready / painted ms | PSS anon / file / shmem MB (all) | WebKitWebProcess anon / file / shmem MB | CPU ms by process (to the memory sample) | idle CPU % of a core by process |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for app in apps {
            let s = &app.summary;
            let cpu: Vec<String> = s
                .cpu_ms_by_process_median
                .iter()
                .map(|(name, v)| format!("{name} {v:.0}"))
                .collect();
            let idle: Vec<String> = s
                .idle_cpu_pct_by_process_median
                .iter()
                .map(|(name, v)| format!("{name} {v:.1}"))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} / {} / {} | {} / {} / {} | {} / {} / {} | {} | {} |\n",
                app.name,
                fmt(s.main_to_mount_ms_median, 0),
                fmt(s.main_to_paint_ms_median, 0),
                fmt(s.backend_open_ms_median, 1),
                fmt(s.page_first_dom_ms_median, 0),
                fmt(s.page_ready_ms_median, 0),
                fmt(s.page_painted_ms_median, 0),
                fmt(s.pss_anon_mb_median, 1),
                fmt(s.pss_file_mb_median, 1),
                fmt(s.pss_shmem_mb_median, 1),
                fmt(s.web_process_pss_anon_mb_median, 1),
                fmt(s.web_process_pss_file_mb_median, 1),
                fmt(s.web_process_pss_shmem_mb_median, 1),
                cpu.join(", "),
                idle.join(", "),
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
        out.push_str("| stream | effective tokens/s | ms (click → finished) | first text ms | last text ms | DOM updates | frames | flush bound | µs per token | CPU ms (by process) | final chars / expected |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for s in streams {
            let cpu: Vec<String> = s
                .cpu_ms_by_process_median
                .iter()
                .map(|(name, v)| format!("{name} {v:.0}"))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} / {} |\n",
                s.name,
                fmt(s.median_of("effective_tokens_per_second"), 0),
                fmt(s.median_of("ms"), 0),
                fmt(s.median_of("first_text_ms"), 0),
                fmt(s.median_of("last_text_ms"), 0),
                fmt(s.median_of("dom_updates"), 0),
                fmt(s.median_of("frames"), 0),
                fmt(s.median_of("flush_bound"), 0),
                fmt(s.median_of("us_per_token"), 1),
                fmt(s.median_of("cpu_ms_total"), 0),
                cpu.join(", "),
                fmt(s.median_of("final_chars"), 0),
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
