//! The `mock-anthropic` binary: starts a [`MockServer`] from command-line
//! flags, prints `mock-anthropic listening on http://HOST:PORT` (one line,
//! flushed) and serves until killed or interrupted.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kestrel_mock_anthropic::{MockConfig, MockServer, Pacing};

/// A local mock of the Anthropic Messages API.
#[derive(Debug, Parser)]
#[command(name = "mock-anthropic")]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The API key clients must send.
    #[arg(long, default_value = "test-key")]
    api_key: String,
    /// Delay between message_start and the first delta, in milliseconds.
    #[arg(long, default_value_t = 0)]
    first_token_ms: u64,
    /// Rate of streamed deltas (unpaced when absent or 0).
    #[arg(long)]
    tokens_per_second: Option<f64>,
    /// A recorded SSE file replayed for every /v1/messages request (unless a
    /// reply is queued through /_mock/replies).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// A model id listed by /v1/models (repeat for several; defaults to two).
    #[arg(long = "model")]
    models: Vec<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut config = MockConfig {
        api_key: args.api_key,
        pacing: Pacing::new(
            Duration::from_millis(args.first_token_ms),
            args.tokens_per_second,
        ),
        replay: args.replay,
        ..MockConfig::default()
    };
    if !args.models.is_empty() {
        config.models = args.models;
    }
    let server = MockServer::start_on(config, SocketAddr::new(args.host, args.port)).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "mock-anthropic listening on {}", server.base_url())?;
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}
