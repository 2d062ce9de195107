//! Command-line handling for the native `kestrel` binary: parse flags, then
//! run print mode (`-p`), a subcommand, or hand over to the desktop window.
//! Each subcommand lives in its own file beside this one.
//!
//! This binary never links the desktop stack: the window is the sibling
//! binary `kestrel-desktop`, which `kestrel` execs (see [`desktop`]). Print
//! mode thus starts as fast as a plain Rust program (BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_server::{Backend, logging};

mod desktop;
mod export;
mod import;
mod print;
mod search;
mod serve;

/// Kestrel: a fast, private AI assistant.
///
/// With -p, sends one message and prints the reply (print mode); otherwise
/// opens the desktop window, or serves the web UI when there is no display.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, about)]
struct Cli {
    /// Where conversations, settings and logs are kept [env: KESTREL_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(flatten)]
    print: print::PrintArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI (on 127.0.0.1 unless --host says otherwise).
    Serve(serve::ServeArgs),
    /// Search every conversation and print the hits as JSON.
    Search(search::SearchArgs),
    /// Export conversations as JSON or Markdown.
    Export(export::ExportArgs),
    /// Import Kestrel's JSON, a Claude.ai or a ChatGPT export.
    Import(import::ImportArgs),
    /// Open the desktop window (the default when a display is available).
    Desktop,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print.print {
        return print::run(cli.print, cli.data_dir);
    }
    match cli.command {
        Some(Command::Serve(args)) => {
            with_backend(cli.data_dir, |_, data_dir| serve::serve(args, data_dir))
        }
        // Search reads the database itself, without starting the backend.
        Some(Command::Search(args)) => match resolve(cli.data_dir) {
            Ok(config) => search::run(&config, args),
            Err(code) => code,
        },
        Some(Command::Export(args)) => {
            with_backend(cli.data_dir, |backend, _| export::export(backend, args))
        }
        Some(Command::Import(args)) => {
            with_backend(cli.data_dir, |backend, _| import::import(backend, args))
        }
        Some(Command::Desktop) => desktop::exec(cli.data_dir.as_deref()),
        None if desktop::available() => desktop::exec(cli.data_dir.as_deref()),
        None => with_backend(cli.data_dir, |_, data_dir| {
            println!("No display found; serving the web UI instead.");
            serve::serve(serve::ServeArgs::loopback(), data_dir)
        }),
    }
}

fn resolve(data_dir: Option<PathBuf>) -> Result<Config, ExitCode> {
    Config::resolve(data_dir).map_err(|error| {
        eprintln!("kestrel: {error}");
        ExitCode::FAILURE
    })
}

/// Starts logging and the backend, installs it, then runs `then` with it
/// and the data dir.
fn with_backend(
    data_dir: Option<PathBuf>,
    then: impl FnOnce(Arc<Backend>, &Path) -> ExitCode,
) -> ExitCode {
    let config = match resolve(data_dir) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let _log_guard = logging::init(&config.log_dir());
    let data_dir = config.data_dir.clone();
    let backend = match Backend::open(config, KeyStore::open()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    Backend::install(Arc::clone(&backend));
    then(backend, &data_dir)
}

/// A runtime for a one-shot subcommand.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("kestrel: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        })
}
