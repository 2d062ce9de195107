//! Desktop smoke test: the real desktop window (WebKitGTK under Xvfb), the
//! backend in-process, the mock Anthropic server on loopback. Types a
//! message, presses Send, watches the reply arrive in pieces, checks the
//! final text on screen and in SQLite, clicks the link in the reply (it
//! must open in the system browser, here a script named by `$BROWSER`, and
//! leave the window's page alone), and keeps a screenshot in
//! `target/test-artifacts/desktop-smoke.png`.
//!
//! Run: `cargo test -p kestrel-app --features desktop --test desktop_smoke`.
//! Without a display it re-runs itself under `xvfb-run`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::OnceLock;
use std::time::Duration;

use dioxus::prelude::*;
use kestrel_mock_anthropic::{MockConfig, MockServer, Pacing, Reply};
use kestrel_server::Backend;
use kestrel_server::config::Config;
use kestrel_server::secrets::{ApiKey, KeyStore};

const PROMPT: &str = "Hello from the desktop smoke test";
const REPLY: &str = "The desktop window shows this reply, streamed one word at a time from \
                     the [mock server](http://127.0.0.1:9/kestrel-smoke-link).";
/// The reply as the window shows it: Markdown rendered, the link as text.
const REPLY_SHOWN: &str =
    "The desktop window shows this reply, streamed one word at a time from the mock server.";
const LINK: &str = "http://127.0.0.1:9/kestrel-smoke-link";
const DEADLINE: Duration = Duration::from_secs(120);

static BACKEND: OnceLock<std::sync::Arc<Backend>> = OnceLock::new();
/// What the driver is doing, for the message when the deadline passes.
static STEP: std::sync::Mutex<&str> = std::sync::Mutex::new("starting the window");
/// What the driver last saw of the reply on screen.
static SEEN: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
/// The mock server runs in this process too; its port is not the app's.
static MOCK_PORT: OnceLock<u16> = OnceLock::new();
/// Where the stand-in system browser writes each address it is asked to open.
static OPENED_LOG: OnceLock<PathBuf> = OnceLock::new();

fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts")
}

fn main() -> ExitCode {
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        return rerun_under_xvfb();
    }
    let browser_dir = tempfile::tempdir().unwrap();
    install_stand_in_browser(browser_dir.path());

    // The mock server gets its own runtime on its own thread.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let server = MockServer::start(MockConfig::default()).await.unwrap();
            let pacing = Pacing {
                first_token_delay: Duration::from_millis(200),
                tokens_per_second: Some(25.0),
            };
            server.push_reply(Reply::text(REPLY).with_pacing(pacing));
            tx.send(server.base_url()).unwrap();
            std::future::pending::<()>().await;
            drop(server);
        });
    });
    let base_url: String = rx.recv().unwrap();
    let mock_port = base_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    MOCK_PORT.set(mock_port).ok();

    let data_dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data_dir.path().to_owned(),
        base_url,
        default_model: "claude-sonnet-4-5".into(),
        max_tokens: 1024,
        connections: Default::default(),
    };
    let backend = Backend::open(config, KeyStore::new(ApiKey::new("test-key"))).unwrap();
    Backend::install(backend.clone());
    BACKEND.set(backend).ok();

    std::thread::spawn(|| {
        std::thread::sleep(DEADLINE);
        let step = *STEP
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        eprintln!(
            "desktop smoke: FAILED, no result within {DEADLINE:?} (while {step}; \
             last seen on screen: {seen})"
        );
        report_saved_state();
        std::process::exit(2);
    });

    kestrel_app::desktop::launch(SmokeRoot);
    eprintln!("desktop smoke: FAILED, the window closed before the driver finished");
    ExitCode::FAILURE
}

/// Points `$BROWSER` (which the system-browser opener reads first) at a
/// script that records the address instead of opening a browser.
fn install_stand_in_browser(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("opened.txt");
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: runs first in `main`, before this process starts any other
    // thread, so nothing reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("BROWSER", &script);
    }
    OPENED_LOG.set(log).ok();
}

fn rerun_under_xvfb() -> ExitCode {
    let exe = std::env::current_exe().unwrap();
    eprintln!("desktop smoke: no DISPLAY, re-running under xvfb-run");
    // A session bus for the run, gone with it: without one GTK starts its
    // own bus and accessibility daemons, which outlive the test.
    match Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            "dbus-run-session",
            "--",
        ])
        .arg(exe)
        .env("NO_AT_BRIDGE", "1")
        .status()
    {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("desktop smoke: FAILED under Xvfb ({status})");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!(
                "desktop smoke: FAILED, cannot run xvfb-run ({error}); install the xvfb package"
            );
            ExitCode::FAILURE
        }
    }
}

/// The app, plus a task that drives it like a person would.
#[allow(non_snake_case)]
fn SmokeRoot() -> Element {
    use_hook(|| {
        spawn(async {
            let code = match drive().await {
                Ok(report) => {
                    println!("desktop smoke: ok ({report})");
                    0
                }
                Err(error) => {
                    eprintln!("desktop smoke: FAILED: {error}");
                    1
                }
            };
            std::process::exit(code);
        });
    });
    rsx! { kestrel_app::App {} }
}

async fn js<T: serde::de::DeserializeOwned>(code: &str) -> Result<T, String> {
    document::eval(code)
        .join::<T>()
        .await
        .map_err(|e| format!("eval failed: {e:?}"))
}

async fn text_of(selector: &str) -> Option<String> {
    let code =
        format!("const e = document.querySelector({selector:?}); return e ? e.innerText : null;");
    js::<Option<String>>(&code).await.ok().flatten()
}

/// The streaming reply's text so far (its paragraphs and growing tail), or
/// `None` when no reply is streaming or none of its text has arrived.
async fn streaming_text() -> Option<String> {
    let code =
        "const blocks = [...document.querySelectorAll('.message.assistant.streaming .text')];
                return blocks.length ? blocks.map((b) => b.innerText).join('\\n\\n') : null;";
    js::<Option<String>>(code).await.ok().flatten()
}

async fn wait_for(selector: &str, what: &str) -> Result<String, String> {
    for _ in 0..600 {
        if let Some(text) = text_of(selector).await {
            return Ok(text);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what} ({selector}) never appeared"))
}

/// Prints what the database holds, for a run that missed its deadline.
fn report_saved_state() {
    let Some(backend) = BACKEND.get() else { return };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let Ok(conversations) = backend.list_conversations().await else {
            return;
        };
        for conversation in conversations {
            if let Ok(view) = backend.load_conversation(conversation.id).await {
                for message in view.messages {
                    eprintln!(
                        "desktop smoke: saved {:?} {:?}: {:?}",
                        message.role,
                        message.status,
                        message.text()
                    );
                }
            }
        }
    });
}

/// Records what the driver is doing now.
fn step(now: &'static str) {
    *STEP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
}

async fn drive() -> Result<String, String> {
    step("waiting for the composer");
    wait_for("#composer-input", "the composer").await?;
    step("typing and sending");
    js::<bool>(&format!(
        "const t = document.querySelector('#composer-input'); t.value = {PROMPT:?};
         t.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;"
    ))
    .await?;
    for _ in 0..100 {
        if js::<bool>("const b = document.querySelector('button.send'); return !!b && !b.disabled;")
            .await?
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    js::<bool>("document.querySelector('button.send').click(); return true;").await?;

    // Watch the reply grow while it streams.
    step("watching the reply stream");
    let mut lengths = Vec::new();
    let watching = std::time::Instant::now();
    let final_text = loop {
        if let Some(done) = text_of(".message.assistant:not(.streaming) .text").await {
            break done;
        }
        if watching.elapsed() > DEADLINE / 2 {
            let page = js::<String>("return document.body.innerText;").await?;
            return Err(format!(
                "no finished reply after {:?}; the page reads: {page:?}",
                DEADLINE / 2
            ));
        }
        let partial = streaming_text().await;
        *SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            format!("streaming text {partial:?}");
        if let Some(partial) = partial
            && lengths.last() != Some(&partial.len())
        {
            lengths.push(partial.len());
        }
        if let Some(error) = text_of(".error-banner").await {
            return Err(format!("the UI shows an error: {error}"));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    };
    if final_text.trim() != REPLY_SHOWN {
        return Err(format!(
            "the reply on screen is {final_text:?}, expected {REPLY_SHOWN:?}"
        ));
    }
    if lengths.len() < 3 {
        return Err(format!(
            "the reply did not stream in pieces (partial lengths seen: {lengths:?})"
        ));
    }
    let user = text_of(".message.user .text").await.unwrap_or_default();
    if user != PROMPT {
        return Err(format!("the user message on screen is {user:?}"));
    }

    // Saved, not just shown.
    step("reading the saved conversation");
    let backend = BACKEND.get().ok_or("no backend")?;
    let conversations = backend
        .list_conversations()
        .await
        .map_err(|e| e.to_string())?;
    let [conversation] = conversations.as_slice() else {
        return Err(format!(
            "expected one conversation, found {}",
            conversations.len()
        ));
    };
    let view = backend
        .load_conversation(conversation.id)
        .await
        .map_err(|e| e.to_string())?;
    let texts: Vec<String> = view.messages.iter().map(|m| m.text()).collect();
    if texts != [PROMPT, REPLY] {
        return Err(format!("the database holds {texts:?}"));
    }

    step("clicking the link in the reply");
    // A link in a reply opens in the system browser; the window stays on
    // the app's page.
    let page_before = js::<String>("return location.href;").await?;
    let href = js::<Option<String>>(
        "const a = document.querySelector('.message.assistant .markdown a');
         if (!a) return null; a.click(); return a.getAttribute('href');",
    )
    .await?;
    if href.as_deref() != Some(LINK) {
        return Err(format!(
            "the reply's link has href {href:?}, expected {LINK:?}"
        ));
    }
    let log = OPENED_LOG.get().ok_or("no stand-in browser")?;
    let mut opened = String::new();
    for _ in 0..100 {
        opened = std::fs::read_to_string(log).unwrap_or_default();
        if !opened.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if opened.trim() != LINK {
        return Err(format!(
            "the system browser was asked to open {opened:?}, expected {LINK:?}"
        ));
    }
    let page_after = js::<String>("return location.href;").await?;
    if page_after != page_before || text_of("#composer-input").await.is_none() {
        return Err(format!(
            "the window left the app: {page_before:?} became {page_after:?}"
        ));
    }

    step("probing the process's sockets");
    // The backend answers on no socket: the only listener is the webview's
    // own edit channel, no server function responds on it, and the process
    // listens on no Unix socket either.
    let mock_port = MOCK_PORT.get().copied();
    let listeners: Vec<(std::net::IpAddr, u16)> = listening_ports()?
        .into_iter()
        .filter(|&(_, p)| Some(p) != mock_port)
        .collect();
    if listeners.len() != 1 {
        return Err(format!(
            "expected one listening socket (the edit channel), found {listeners:?}"
        ));
    }
    let unix = listening_unix_sockets()?;
    if !unix.is_empty() {
        return Err(format!("the process listens on Unix sockets: {unix:?}"));
    }
    for &(ip, port) in &listeners {
        for request in [
            "GET /api/v1/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "GET /api/v1/settings/key?provider=anthropic HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "POST /api/v1/conversations/new HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            "POST /api/v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        ] {
            // A probe that cannot connect proves nothing, so it fails.
            let answer = probe(ip, port, request)?;
            if answer.contains(PROMPT)
                || answer.contains("last_four")
                || answer.starts_with("HTTP/1.1 200")
            {
                return Err(format!(
                    "port {port} answered a backend call: {answer:.200}"
                ));
            }
        }
    }
    let ports: Vec<u16> = listeners.iter().map(|&(_, port)| port).collect();

    // Let the final frame paint, then keep a picture of it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let shot = dir.join("desktop-smoke.png");
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status()
        .map_err(|e| format!("cannot run `import` (imagemagick) for the screenshot: {e}"))?;
    if !status.success() {
        return Err(format!("screenshot failed: {status}"));
    }
    Ok(format!(
        "{} partial renders, link opened in the system browser, one listener (port {}) that \
         serves no backend call, no Unix listener, screenshot {}",
        lengths.len(),
        ports[0],
        shot.display()
    ))
}

/// This process's socket inodes, from /proc/self/fd.
fn socket_inodes() -> Result<std::collections::HashSet<String>, String> {
    let mut inodes = std::collections::HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd")
        .map_err(|e| e.to_string())?
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(entry.path())
            && let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']'))
        {
            inodes.insert(inode.to_owned());
        }
    }
    Ok(inodes)
}

/// The TCP sockets this process listens on, as the loopback address to
/// reach each at: its socket inodes matched against the LISTEN rows of
/// /proc/net/tcp{,6}.
fn listening_ports() -> Result<Vec<(std::net::IpAddr, u16)>, String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let inodes = socket_inodes()?;
    let mut ports = Vec::new();
    for (table, ip) in [
        ("/proc/net/tcp", IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ("/proc/net/tcp6", IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            // local_address is field 1, st field 3 (0A = LISTEN), inode field 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                let port = fields[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                ports.extend(port.map(|port| (ip, port)));
            }
        }
    }
    Ok(ports)
}

/// The Unix sockets this process listens on (rows of /proc/net/unix with
/// the accepting flag), by path.
fn listening_unix_sockets() -> Result<Vec<String>, String> {
    let inodes = socket_inodes()?;
    let text = std::fs::read_to_string("/proc/net/unix").map_err(|e| e.to_string())?;
    let mut listening = Vec::new();
    for row in text.lines().skip(1) {
        // Num RefCount Protocol Flags Type St Inode [Path]; __SO_ACCEPTCON = 0x10000.
        let fields: Vec<&str> = row.split_whitespace().collect();
        let accepting = fields
            .get(3)
            .and_then(|f| u32::from_str_radix(f, 16).ok())
            .is_some_and(|flags| flags & 0x10000 != 0);
        if accepting && fields.get(6).is_some_and(|inode| inodes.contains(*inode)) {
            listening.push(fields.get(7).copied().unwrap_or("(unnamed)").to_owned());
        }
    }
    Ok(listening)
}

/// Sends a raw HTTP request to a loopback port and returns what came back.
fn probe(ip: std::net::IpAddr, port: u16, request: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect((ip, port))
        .map_err(|e| format!("cannot connect to the listener on {ip} port {port}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
