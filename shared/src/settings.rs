//! User settings the UI reads and writes, and what the UI may know about the
//! API key: whether one is configured, where it comes from, and its last four
//! characters. The key itself never leaves the backend.

use serde::{Deserialize, Serialize};

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    /// Follow the operating system.
    #[default]
    System,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn label(self) -> &'static str {
        match self {
            Self::Light => "Light",
            Self::Dark => "Dark",
            Self::System => "System",
        }
    }

    /// The value of the `data-theme` attribute the stylesheet keys on.
    pub fn as_attr(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
            Self::System => "system",
        }
    }
}

/// Settings stored with the user's data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub theme: Theme,
    /// Keep the first message's first line as the title instead of
    /// asking the model for a short one after the first exchange.
    #[serde(default)]
    pub skip_auto_title: bool,
}

/// Where the active API key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeySource {
    /// The provider's environment variable, e.g. `ANTHROPIC_API_KEY`.
    Environment,
    /// The OS credential store (Secret Service, Keychain, Credential Manager).
    Keychain,
    /// Entered in the app while no secure store was available; kept in the
    /// backend's memory until it exits.
    Session,
}

/// Whether the OS credential store can hold keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecureStore {
    /// Keys entered in the app are saved there.
    #[default]
    Available,
    /// It cannot be used (no D-Bus session, locked keyring, no daemon); a
    /// key entered in the app is kept for this session only.
    Unavailable { reason: String },
}

/// What the UI may know about the API key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyStatus {
    /// Where the active key comes from; `None` when no key is configured.
    pub source: Option<KeySource>,
    /// The key's last four characters, to tell keys apart.
    pub last_four: Option<String>,
    /// The provider endpoint requests go to.
    pub base_url: String,
    /// Whether a key entered in the app can be saved in the OS store.
    #[serde(default)]
    pub secure_store: SecureStore,
}

impl KeyStatus {
    pub fn is_configured(&self) -> bool {
        self.source.is_some()
    }
}

/// The answer to "check key": one cheap authenticated call to the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyCheck {
    /// The provider accepted the key.
    Valid,
    /// The provider rejected the key (HTTP 401 or 403).
    Rejected { message: String },
    /// No answer about the key: no key, network error, provider failure.
    Failed { message: String },
}
