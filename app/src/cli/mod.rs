//! Command-line handling for the native `kestrel` binary: parse flags, then
//! run print mode (`-p`), the web server, or hand over to the desktop
//! window. Each subcommand lives in its own file beside this one.
//!
//! This binary never links the desktop stack: the window is the sibling
//! binary `kestrel-desktop`, which `kestrel` execs (see [`desktop`]). Print
//! mode thus starts as fast as a plain Rust program (BENCHMARKS.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_server::{Backend, logging};

mod desktop;
mod print;
mod serve;

/// Kestrel: a fast, private AI assistant.
///
/// With -p, sends one message and prints the reply (print mode); otherwise
/// opens the desktop window, or serves the web UI when there is no display.
#[derive(Debug, Parser)]
#[command(
    name = "kestrel",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
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
    /// Serve the web UI on 127.0.0.1.
    Serve {
        /// The port to listen on [default: 8080, or PORT under `dx serve`].
        #[arg(long)]
        port: Option<u16>,
    },
    /// Open the desktop window (the default when a display is available).
    Desktop,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print.print {
        return print::run(cli.print, cli.data_dir);
    }
    match cli.command {
        Some(Command::Serve { port }) => with_backend(cli.data_dir, |()| serve::serve(port)),
        Some(Command::Desktop) => desktop::exec(cli.data_dir.as_deref()),
        None if desktop::available() => desktop::exec(cli.data_dir.as_deref()),
        None => with_backend(cli.data_dir, |()| {
            println!("No display found; serving the web UI instead.");
            serve::serve(None)
        }),
    }
}

/// Starts logging and the backend, installs it, then runs `then`.
fn with_backend(data_dir: Option<PathBuf>, then: impl FnOnce(()) -> ExitCode) -> ExitCode {
    let config = match Config::resolve(data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = logging::init(&config.log_dir());
    let backend = match Backend::open(config, key_store()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    Backend::install(backend);
    then(())
}

/// Where API keys come from: the environment, then the stored key.
fn key_store() -> KeyStore {
    KeyStore::from_env()
}
