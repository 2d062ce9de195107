//! Command-line handling for the native `kestrel` binary: parse flags,
//! start logging and the backend, then run the desktop window or the web
//! server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_server::{Backend, logging};

/// Kestrel: a fast, private AI assistant.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, about)]
struct Cli {
    /// Where conversations, settings and logs are kept [env: KESTREL_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

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
    #[cfg(feature = "desktop")]
    Desktop,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(cli.data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = logging::init(&config.log_dir());
    let backend = match Backend::open(config, KeyStore::from_env()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    Backend::install(backend);

    match cli.command {
        Some(Command::Serve { port }) => serve(port),
        #[cfg(feature = "desktop")]
        Some(Command::Desktop) => desktop(),
        #[cfg(feature = "desktop")]
        None if has_display() => desktop(),
        None => {
            println!("No display found; serving the web UI instead.");
            serve(None)
        }
    }
}

/// Whether a desktop window can open here.
#[cfg(feature = "desktop")]
fn has_display() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
    } else {
        true
    }
}

#[cfg(feature = "desktop")]
fn desktop() -> ExitCode {
    tracing::info!("opening the desktop window");
    kestrel_app::desktop::launch(kestrel_app::App);
    ExitCode::SUCCESS
}

/// Serves the web UI. Binds loopback only: serving beyond this machine
/// needs access control first.
fn serve(port: Option<u16>) -> ExitCode {
    let addr = match port {
        Some(port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        None => dioxus::cli_config::fullstack_address_or_localhost(),
    };
    if !addr.ip().is_loopback() {
        eprintln!("kestrel: refusing to serve on {addr}: only loopback addresses are allowed");
        return ExitCode::FAILURE;
    }
    warn_if_web_client_missing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kestrel: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("kestrel: cannot listen on {addr}: {error}");
                return ExitCode::FAILURE;
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        // Room for the largest message the backend accepts, JSON-escaped.
        let body_limit = 2 * kestrel_shared::MAX_USER_MESSAGE_BYTES;
        let router = dioxus::server::router(kestrel_app::App).layer(
            dioxus::server::axum::extract::DefaultBodyLimit::max(body_limit),
        );
        println!("Kestrel is serving the web UI at http://{bound}/");
        tracing::info!(%bound, "web server listening");
        match dioxus::server::axum::serve(listener, router).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("kestrel: the web server stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The web client (wasm, JS, index.html) is served from
/// `DIOXUS_PUBLIC_PATH`, else from `public/` beside the executable. Without
/// it the page renders but never comes alive, so say so up front.
fn warn_if_web_client_missing() {
    let public = std::env::var_os("DIOXUS_PUBLIC_PATH")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.join("public")))
        });
    if let Some(public) = public
        && !public.join("index.html").is_file()
    {
        eprintln!(
            "kestrel: warning: no web client at {} (build it with `dx build --web --package kestrel-app \
             --features web` and set DIOXUS_PUBLIC_PATH to its public/ folder, or use scripts/run.sh)",
            public.display()
        );
    }
}
