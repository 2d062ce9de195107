//! `kestrel serve`: the web UI and its backend over HTTP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serves the web UI. Binds loopback only: serving beyond this machine
/// needs access control first.
pub fn serve(port: Option<u16>) -> ExitCode {
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
