//! `stream-reqwest`: a reference row of the streaming benchmark, between
//! the floor and `kestrel -p`. The floor's request and parsing
//! ([`sse_text`]), made through the HTTP stack Kestrel uses: a
//! current-thread tokio runtime and a reqwest client built as Kestrel
//! builds its own (rustls, connect timeout, no idle pool). Nothing else:
//! no persistence, retries, typed events or UI events. What this row costs
//! above the floor is the async HTTP stack's; what `kestrel -p` costs
//! above this row is Kestrel's own.
//!
//! Usage: `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT ANTHROPIC_API_KEY=KEY
//! stream-reqwest PROMPT [MODEL]`. Exits 0 after `message_stop`, 1 on any
//! error (message on stderr).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

// Not through the crate's library, which would link the whole app.
#[path = "../sse_text.rs"]
mod sse_text;

use sse_text::SseText;

fn main() -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
        .and_then(|runtime| runtime.block_on(run()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-reqwest: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let base = std::env::var("ANTHROPIC_BASE_URL").context("ANTHROPIC_BASE_URL is not set")?;
    let key = std::env::var("ANTHROPIC_API_KEY").context("ANTHROPIC_API_KEY is not set")?;
    let mut args = std::env::args().skip(1);
    let prompt = args
        .next()
        .context("usage: stream-reqwest PROMPT [MODEL]")?;
    let model = args
        .next()
        .unwrap_or_else(|| "claude-sonnet-4-5".to_owned());

    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent("stream-reqwest")
        .pool_max_idle_per_host(0)
        .build()?;
    let body = sse_text::request_body(&prompt, &model)?;
    let mut response = client
        .post(format!("{}/v1/messages", base.trim_end_matches('/')))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("HTTP {}", response.status());
    }

    let mut text = SseText::default();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = response.chunk().await? {
        let done = text.push(&chunk, &mut out)?;
        sse_text::print(&mut out, &mut stdout)?;
        if done {
            return Ok(());
        }
    }
    bail!("the stream ended before message_stop")
}
