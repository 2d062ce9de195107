//! `kestrel serve`: the web UI and its backend over HTTP, behind
//! [`kestrel_server::web_guard`] (host and origin checks, access token
//! beyond loopback, size and rate limits, security headers).
//!
//! Loopback (the default) needs no token. Any other address needs the
//! access token: made at the first such start and printed once; only its
//! hash is kept in the data dir (`--reset-token` makes a new one).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kestrel_server::web_guard::{self, GuardConfig, access, rate_limit};

/// Flags of `kestrel serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on [default: 8080, or PORT under `dx serve`].
    #[arg(long)]
    port: Option<u16>,
    /// The address to listen on. Anything but loopback requires the access
    /// token, which is printed once at the first start on such an address.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// A host name requests may use besides the address (e.g. behind a
    /// reverse proxy); repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// Make a new access token (the old one stops working).
    #[arg(long)]
    reset_token: bool,
    /// Chat messages each client may send per minute.
    #[arg(long, value_name = "N", default_value_t = NonZeroU32::new(rate_limit::DEFAULT_CHAT_PER_MINUTE).unwrap_or(NonZeroU32::MIN))]
    chat_per_minute: NonZeroU32,
}

impl ServeArgs {
    /// Loopback, the default port.
    pub fn loopback() -> Self {
        Self {
            port: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allow_hosts: Vec::new(),
            reset_token: false,
            chat_per_minute: NonZeroU32::new(rate_limit::DEFAULT_CHAT_PER_MINUTE)
                .unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Serves the web UI.
pub fn serve(args: ServeArgs, data_dir: &Path) -> ExitCode {
    let addr = match args.port {
        Some(port) => SocketAddr::new(args.host, port),
        None if args.host.is_loopback() => dioxus::cli_config::fullstack_address_or_localhost(),
        None => SocketAddr::new(args.host, 8080),
    };
    let token = if addr.ip().is_loopback() {
        None
    } else {
        match access::load_or_create(data_dir, args.reset_token) {
            Ok(token) => Some(token),
            Err(error) => {
                eprintln!("kestrel: cannot set up the access token: {error}");
                return ExitCode::FAILURE;
            }
        }
    };
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
        let router = web_guard::protect(
            router,
            GuardConfig {
                bound,
                extra_hosts: args.allow_hosts,
                trusted_origins: dev_proxy_origins(),
                access: token.as_ref().map(|t| t.hash.clone()),
                chat_per_minute: args.chat_per_minute,
                body_limit,
            },
        );
        match token.as_ref().map(|t| t.new_token.as_deref()) {
            None => {}
            Some(Some(new)) => println!(
                "Access token (shown once; only its hash is kept): {new}\n\
                 Sign in at /login with it, or send `Authorization: Bearer <token>`."
            ),
            Some(None) => println!(
                "This address needs the access token printed at the first start \
                 (run with --reset-token to make a new one)."
            ),
        }
        println!("Kestrel is serving the web UI at http://{bound}/");
        tracing::info!(%bound, token = token.is_some(), "web server listening");
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        match dioxus::server::axum::serve(listener, service).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("kestrel: the web server stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Under `dx serve` the browser talks to dx's dev server, which forwards
/// to this one with `Host` rewritten; its origin may send requests.
fn dev_proxy_origins() -> Vec<String> {
    if !dioxus::cli_config::is_cli_enabled() {
        return Vec::new();
    }
    match dioxus::cli_config::devserver_raw_addr() {
        Some(addr) if addr.ip().is_loopback() || addr.ip().is_unspecified() => vec![
            format!("http://127.0.0.1:{}", addr.port()),
            format!("http://localhost:{}", addr.port()),
        ],
        Some(addr) => vec![format!("http://{addr}")],
        None => Vec::new(),
    }
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
