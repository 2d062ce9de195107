//! Where Kestrel keeps its data and which endpoint it talks to, resolved
//! once at start-up from flags and the environment.
//!
//! | setting | flag | environment | default |
//! |---|---|---|---|
//! | data directory | `--data-dir` | `KESTREL_DATA_DIR` | the platform data dir |
//! | Anthropic endpoint | – | `ANTHROPIC_BASE_URL` | `https://api.anthropic.com` |
//! | API key | – | `ANTHROPIC_API_KEY` | the OS keychain ([`crate::secrets`]; enter it in Settings) |
//! | default model | – | `KESTREL_MODEL` | [`DEFAULT_MODEL`] |

use std::path::PathBuf;

use crate::anthropic::DEFAULT_BASE_URL;
pub use crate::provider::http::Connections;

/// The model new conversations use unless `KESTREL_MODEL` says otherwise.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// `max_tokens` of every request until per-model limits come from the API.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// Resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub base_url: String,
    pub default_model: String,
    pub max_tokens: u32,
    /// Whether provider connections stay open for the next request.
    pub connections: Connections,
}

/// The data directory could not be determined.
#[derive(Debug, thiserror::Error)]
#[error("no data directory: set KESTREL_DATA_DIR or pass --data-dir (no home directory was found)")]
pub struct NoDataDir;

impl Config {
    /// Resolves every setting; `data_dir` is the `--data-dir` flag.
    pub fn resolve(data_dir: Option<PathBuf>) -> Result<Self, NoDataDir> {
        let data_dir =
            match data_dir.or_else(|| non_empty_env("KESTREL_DATA_DIR").map(PathBuf::from)) {
                Some(dir) => dir,
                None => directories::ProjectDirs::from("dev", "Kestrel", "Kestrel")
                    .ok_or(NoDataDir)?
                    .data_dir()
                    .to_owned(),
            };
        Ok(Self {
            data_dir,
            base_url: non_empty_env("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            default_model: non_empty_env("KESTREL_MODEL")
                .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            max_tokens: DEFAULT_MAX_TOKENS,
            connections: Connections::default(),
        })
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("kestrel.db")
    }

    /// The directory log files go to.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
