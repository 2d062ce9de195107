//! Provider API keys: where they come from and how they are held.
//!
//! Precedence: the `ANTHROPIC_API_KEY` environment variable, then a key the
//! user entered in the app, which is kept in this process's memory only.
//! An [`ApiKey`] never prints: its `Debug` is redacted and it has no
//! `Display`, so it cannot reach a log line or a response by accident. The
//! UI learns only [`KeyStatus`] (source and last four characters).

use std::fmt;
use std::sync::RwLock;

use kestrel_shared::{KeySource, KeyStatus};

/// An API key. Only [`ApiKey::expose`] reveals it, for the request header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key, trimming the whitespace a paste brings along. Empty
    /// input is no key.
    pub fn new(raw: &str) -> Option<Self> {
        let key = raw.trim();
        (!key.is_empty()).then(|| Self(key.to_owned()))
    }

    /// The key itself, for the `x-api-key` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, to tell keys apart in the UI.
    pub fn last_four(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(<{} chars redacted>)", self.0.chars().count())
    }
}

/// The keys this process knows.
#[derive(Debug)]
pub struct KeyStore {
    env: Option<ApiKey>,
    session: RwLock<Option<ApiKey>>,
}

impl KeyStore {
    /// Reads `ANTHROPIC_API_KEY` once, at start-up.
    pub fn from_env() -> Self {
        Self::new(
            std::env::var("ANTHROPIC_API_KEY")
                .ok()
                .as_deref()
                .and_then(ApiKey::new),
        )
    }

    pub fn new(env: Option<ApiKey>) -> Self {
        Self {
            env,
            session: RwLock::new(None),
        }
    }

    /// The key requests use, and where it came from.
    pub fn active(&self) -> Option<(ApiKey, KeySource)> {
        if let Some(key) = &self.env {
            return Some((key.clone(), KeySource::Environment));
        }
        let session = self
            .session
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        session.clone().map(|key| (key, KeySource::Session))
    }

    /// Replaces the session key; `None` removes it.
    pub fn set_session(&self, key: Option<ApiKey>) {
        *self
            .session
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = key;
    }

    pub fn status(&self, base_url: &str) -> KeyStatus {
        match self.active() {
            Some((key, source)) => KeyStatus {
                source: Some(source),
                last_four: Some(key.last_four()),
                base_url: base_url.to_owned(),
            },
            None => KeyStatus {
                source: None,
                last_four: None,
                base_url: base_url.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("  sk-ant-secret-1234\n").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<18 chars redacted>)");
        assert_eq!(key.expose(), "sk-ant-secret-1234");
        assert_eq!(key.last_four(), "1234");
        assert!(ApiKey::new("   ").is_none());
    }

    #[test]
    fn environment_wins_over_session() {
        let store = KeyStore::new(None);
        assert_eq!(store.status("u").source, None);
        store.set_session(ApiKey::new("session-key-abcd"));
        assert_eq!(store.status("u").source, Some(KeySource::Session));
        assert_eq!(store.status("u").last_four.as_deref(), Some("abcd"));
        let store = KeyStore::new(ApiKey::new("env-key-wxyz"));
        store.set_session(ApiKey::new("session-key-abcd"));
        let (key, source) = store.active().unwrap();
        assert_eq!(
            (key.last_four(), source),
            ("wxyz".to_owned(), KeySource::Environment)
        );
    }
}
