//! Logging: `tracing` to stderr and to `kestrel.log` in the data dir's
//! `logs/` folder. `RUST_LOG` filters (default `info` for Kestrel, `warn`
//! for dependencies). Secrets never reach a log line: keys are wrapped in
//! [`crate::secrets::ApiKey`], whose `Debug` is redacted, and request
//! headers are never logged.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the file writer flushing; hold it until the process exits.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

const DEFAULT_FILTER: &str = "warn,kestrel=info,kestrel_server=info,kestrel_app=info";

/// Installs the global subscriber. Returns `None` if one was installed
/// already (tests, or a second call).
pub fn init(log_dir: &Path) -> Option<LogGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (file_writer, guard) = match std::fs::create_dir_all(log_dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::never(log_dir, "kestrel.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(writer), Some(guard))
        }
        Err(error) => {
            eprintln!(
                "kestrel: cannot create log directory {}: {error}",
                log_dir.display()
            );
            (None, None)
        }
    };
    let file_layer = file_writer.map(|writer| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
    });
    let stderr_layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr_layer)
        .with(file_layer)
        .try_init()
        .ok()?;
    guard
}
