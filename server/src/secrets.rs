//! Provider API keys: where they come from and how they are held.
//!
//! A key is named by a [`ProviderKeyId`] (`anthropic`, `openai:<endpoint>`).
//! Precedence: the provider's environment variable (`ANTHROPIC_API_KEY`,
//! `OPENAI_API_KEY`), then the OS credential store ([`keychain`]), then a
//! key held in this process's memory, which is used only while the OS store
//! is unavailable. Nothing here ever writes a key to a file.
//!
//! An [`ApiKey`] never prints: its `Debug` is redacted and it has no
//! `Display`, so it cannot reach a log line or a response by accident. The
//! UI learns only [`KeyStatus`] (source and last four characters).
//! Keychain calls block, so they run on `spawn_blocking`; reads are cached
//! in memory after the first.

pub mod keychain;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use kestrel_shared::{KeySource, KeyStatus, SecureStore};

pub use keychain::{CredentialStore, KeychainError, MemoryCredentials, OsKeychain};

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

/// Which provider (and, for OpenAI-compatible ones, which endpoint) a key
/// belongs to. Its text form is the keychain account name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProviderKeyId {
    Anthropic,
    /// An OpenAI-compatible endpoint, by the name the user gave it.
    OpenAi {
        endpoint: String,
    },
}

impl ProviderKeyId {
    /// The environment variable that overrides the stored key.
    pub fn env_var(&self) -> &'static str {
        match self {
            Self::Anthropic => "ANTHROPIC_API_KEY",
            Self::OpenAi { .. } => "OPENAI_API_KEY",
        }
    }
}

impl fmt::Display for ProviderKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anthropic => f.write_str("anthropic"),
            Self::OpenAi { endpoint } => write!(f, "openai:{endpoint}"),
        }
    }
}

/// Why a key could not be saved or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// The environment variable sets this key; the app cannot change it.
    #[error("{0} is set in the environment; unset it to manage the key here")]
    FromEnvironment(&'static str),
    /// The OS store refused; the message says why (never the key).
    #[error("the system keychain could not save the key: {0}")]
    Keychain(#[from] KeychainError),
    /// A blocking thread could not run.
    #[error("the keychain task failed")]
    Task,
}

/// Where a key is read from or written to, with what is known so far.
#[derive(Debug, Default)]
struct State {
    /// Why the OS store cannot be used; `None` while it works.
    unavailable: Option<String>,
    /// Keychain reads so far: `Some(None)` means "read, none stored".
    stored: HashMap<ProviderKeyId, Option<ApiKey>>,
    /// Keys kept in memory because the OS store was unavailable.
    session: HashMap<ProviderKeyId, ApiKey>,
}

/// The keys this process knows.
#[derive(Debug)]
pub struct KeyStore {
    env: HashMap<&'static str, ApiKey>,
    keychain: Option<Arc<dyn CredentialStore>>,
    state: RwLock<State>,
}

const ENV_VARS: [&str; 2] = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"];

impl KeyStore {
    /// The environment and the OS credential store. Blocking: unless the
    /// environment has it, reads the Anthropic key from the store once, so
    /// call it before the UI starts (or on a blocking thread).
    pub fn open() -> Self {
        Self::with_keychain(
            |name| std::env::var(name).ok(),
            Arc::new(OsKeychain) as Arc<dyn CredentialStore>,
        )
    }

    /// A store with no keychain: an optional Anthropic key standing in for
    /// the environment, and session-only memory. For tests and benchmarks.
    pub fn new(env: Option<ApiKey>) -> Self {
        let mut vars = HashMap::new();
        if let Some(key) = env {
            vars.insert("ANTHROPIC_API_KEY", key);
        }
        Self {
            env: vars,
            keychain: None,
            state: RwLock::new(State {
                unavailable: Some("no system keychain is in use".into()),
                ..State::default()
            }),
        }
    }

    /// The environment as `env` reports it, and `keychain`. Blocking (reads
    /// the Anthropic key from `keychain`).
    pub fn with_keychain(
        env: impl Fn(&str) -> Option<String>,
        keychain: Arc<dyn CredentialStore>,
    ) -> Self {
        let env = ENV_VARS
            .into_iter()
            .filter_map(|name| Some((name, ApiKey::new(&env(name)?)?)))
            .collect();
        let store = Self {
            env,
            keychain: Some(keychain),
            state: RwLock::default(),
        };
        // The environment wins, so with the key there the keychain is read
        // only when asked (print mode starts without a D-Bus round trip).
        if !store.env.contains_key(ProviderKeyId::Anthropic.env_var()) {
            store.load_blocking(&ProviderKeyId::Anthropic);
        }
        store
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads `id` from the keychain into the cache, unless it is cached or
    /// the keychain is unavailable. Blocking.
    fn load_blocking(&self, id: &ProviderKeyId) {
        let Some(keychain) = &self.keychain else {
            return;
        };
        {
            let state = self.read();
            if state.unavailable.is_some() || state.stored.contains_key(id) {
                return;
            }
        }
        let result = keychain.get(id);
        let mut state = self.write();
        match result {
            Ok(stored) => {
                tracing::debug!(key = %id, found = stored.is_some(), "read the system keychain");
                state.stored.insert(id.clone(), stored);
            }
            Err(KeychainError::Unavailable(reason)) => {
                tracing::warn!(%reason, "the system keychain is unavailable; keys entered in the app last for this session only");
                state.unavailable = Some(reason);
            }
            Err(KeychainError::Entry(reason)) => {
                tracing::warn!(key = %id, %reason, "cannot read the stored key");
                state.stored.insert(id.clone(), None);
            }
        }
    }

    async fn load(&self, id: &ProviderKeyId) {
        let needs_read = self.keychain.is_some() && {
            let state = self.read();
            state.unavailable.is_none() && !state.stored.contains_key(id)
        };
        if !needs_read {
            return;
        }
        let Some(keychain) = self.keychain.clone() else {
            return;
        };
        let owned = id.clone();
        let result = tokio::task::spawn_blocking(move || keychain.get(&owned)).await;
        let mut state = self.write();
        match result {
            Ok(Ok(stored)) => {
                state.stored.insert(id.clone(), stored);
            }
            Ok(Err(KeychainError::Unavailable(reason))) => {
                tracing::warn!(%reason, "the system keychain is unavailable");
                state.unavailable = Some(reason);
            }
            Ok(Err(KeychainError::Entry(reason))) => {
                tracing::warn!(key = %id, %reason, "cannot read the stored key");
                state.stored.insert(id.clone(), None);
            }
            Err(_) => tracing::warn!(key = %id, "the keychain read did not finish"),
        }
    }

    /// The key requests to this provider use, and where it came from.
    pub async fn get(&self, id: &ProviderKeyId) -> Option<ApiKey> {
        self.load(id).await;
        self.cached(id).map(|(key, _)| key)
    }

    /// The key and its source from what is already known, without asking
    /// the keychain (the Anthropic key is read when the store opens).
    pub fn cached(&self, id: &ProviderKeyId) -> Option<(ApiKey, KeySource)> {
        if let Some(key) = self.env.get(id.env_var()) {
            return Some((key.clone(), KeySource::Environment));
        }
        let state = self.read();
        if let Some(Some(key)) = state.stored.get(id) {
            return Some((key.clone(), KeySource::Keychain));
        }
        state
            .session
            .get(id)
            .map(|key| (key.clone(), KeySource::Session))
    }

    /// What the UI may know about `id`'s key, from what is already known.
    pub fn status(&self, id: &ProviderKeyId, base_url: &str) -> KeyStatus {
        let active = self.cached(id);
        let secure_store = match &self.read().unavailable {
            None => SecureStore::Available,
            Some(reason) => SecureStore::Unavailable {
                reason: reason.clone(),
            },
        };
        KeyStatus {
            source: active.as_ref().map(|(_, source)| *source),
            last_four: active.map(|(key, _)| key.last_four()),
            base_url: base_url.to_owned(),
            secure_store,
        }
    }

    /// Saves a key: in the OS store when it works, else in memory for this
    /// session. Returns where it went.
    pub async fn set(&self, id: &ProviderKeyId, key: ApiKey) -> Result<KeySource, KeyStoreError> {
        if self.env.contains_key(id.env_var()) {
            return Err(KeyStoreError::FromEnvironment(id.env_var()));
        }
        self.load(id).await;
        let keychain = self
            .keychain
            .clone()
            .filter(|_| self.read().unavailable.is_none());
        let Some(keychain) = keychain else {
            self.write().session.insert(id.clone(), key);
            return Ok(KeySource::Session);
        };
        let (owned_id, owned_key) = (id.clone(), key.clone());
        let result = tokio::task::spawn_blocking(move || keychain.set(&owned_id, &owned_key))
            .await
            .map_err(|_| KeyStoreError::Task)?;
        let mut state = self.write();
        match result {
            Ok(()) => {
                state.stored.insert(id.clone(), Some(key));
                state.session.remove(id);
                Ok(KeySource::Keychain)
            }
            Err(error) => {
                if let KeychainError::Unavailable(reason) = &error {
                    state.unavailable = Some(reason.clone());
                }
                Err(error.into())
            }
        }
    }

    /// Removes a key from the OS store and from memory.
    pub async fn delete(&self, id: &ProviderKeyId) -> Result<(), KeyStoreError> {
        self.write().session.remove(id);
        let keychain = self
            .keychain
            .clone()
            .filter(|_| self.read().unavailable.is_none());
        if let Some(keychain) = keychain {
            let owned = id.clone();
            tokio::task::spawn_blocking(move || keychain.delete(&owned))
                .await
                .map_err(|_| KeyStoreError::Task)??;
            self.write().stored.insert(id.clone(), None);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const ANTHROPIC: ProviderKeyId = ProviderKeyId::Anthropic;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("  sk-ant-secret-1234\n").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<18 chars redacted>)");
        assert_eq!(key.expose(), "sk-ant-secret-1234");
        assert_eq!(key.last_four(), "1234");
        assert!(ApiKey::new("   ").is_none());
    }

    #[test]
    fn key_ids_name_the_provider_and_endpoint() {
        assert_eq!(ANTHROPIC.to_string(), "anthropic");
        let local = ProviderKeyId::OpenAi {
            endpoint: "local".into(),
        };
        assert_eq!(local.to_string(), "openai:local");
        assert_eq!(local.env_var(), "OPENAI_API_KEY");
    }

    #[tokio::test]
    async fn keys_entered_in_the_app_go_to_the_keychain_and_are_read_back() {
        let keychain = Arc::new(MemoryCredentials::new());
        let store = KeyStore::with_keychain(env(&[]), keychain.clone());
        assert_eq!(store.status(&ANTHROPIC, "u").source, None);

        let source = store
            .set(&ANTHROPIC, ApiKey::new("sk-keychain-abcd").unwrap())
            .await
            .unwrap();
        assert_eq!(source, KeySource::Keychain);
        let status = store.status(&ANTHROPIC, "u");
        assert_eq!(
            (
                status.source,
                status.last_four.as_deref(),
                status.secure_store
            ),
            (
                Some(KeySource::Keychain),
                Some("abcd"),
                SecureStore::Available
            )
        );
        // A new process finds it in the keychain.
        let reopened = KeyStore::with_keychain(env(&[]), keychain.clone());
        assert_eq!(
            reopened.get(&ANTHROPIC).await.map(|k| k.last_four()),
            Some("abcd".into())
        );
        // Reads are cached: asking again does not reach the store.
        let calls = keychain.calls();
        reopened.get(&ANTHROPIC).await;
        assert_eq!(keychain.calls(), calls);

        reopened.delete(&ANTHROPIC).await.unwrap();
        assert_eq!(reopened.get(&ANTHROPIC).await, None);
        assert_eq!(keychain.get(&ANTHROPIC).unwrap(), None);
    }

    #[tokio::test]
    async fn the_environment_wins_and_cannot_be_overwritten() {
        let keychain = Arc::new(MemoryCredentials::new());
        keychain
            .set(&ANTHROPIC, &ApiKey::new("sk-stored-abcd").unwrap())
            .unwrap();
        let store = KeyStore::with_keychain(
            env(&[("ANTHROPIC_API_KEY", "sk-env-wxyz")]),
            keychain.clone(),
        );
        assert_eq!(
            store.cached(&ANTHROPIC).map(|(k, s)| (k.last_four(), s)),
            Some(("wxyz".to_owned(), KeySource::Environment))
        );
        assert_eq!(
            store
                .set(&ANTHROPIC, ApiKey::new("sk-new-1111").unwrap())
                .await,
            Err(KeyStoreError::FromEnvironment("ANTHROPIC_API_KEY"))
        );
        // Without the variable, the stored key is used.
        let store = KeyStore::with_keychain(env(&[]), keychain);
        assert_eq!(
            store.cached(&ANTHROPIC).map(|(_, s)| s),
            Some(KeySource::Keychain)
        );
    }

    #[tokio::test]
    async fn without_a_keychain_a_key_lasts_for_the_session_only() {
        let keychain = Arc::new(MemoryCredentials::new());
        keychain.fail_with(Some(KeychainError::Unavailable("no D-Bus session".into())));
        let store = KeyStore::with_keychain(env(&[]), keychain.clone());
        assert_eq!(
            store.status(&ANTHROPIC, "u").secure_store,
            SecureStore::Unavailable {
                reason: "no D-Bus session".into()
            }
        );
        let calls = keychain.calls();
        let source = store
            .set(&ANTHROPIC, ApiKey::new("sk-session-abcd").unwrap())
            .await
            .unwrap();
        assert_eq!(source, KeySource::Session);
        assert_eq!(
            keychain.calls(),
            calls,
            "an unavailable store is not retried"
        );
        assert_eq!(
            store.status(&ANTHROPIC, "u").source,
            Some(KeySource::Session)
        );
        store.delete(&ANTHROPIC).await.unwrap();
        assert_eq!(store.get(&ANTHROPIC).await, None);
    }

    #[tokio::test]
    async fn a_keychain_that_fails_on_save_reports_it_and_keeps_nothing() {
        let keychain = Arc::new(MemoryCredentials::new());
        let store = KeyStore::with_keychain(env(&[]), keychain.clone());
        keychain.fail_with(Some(KeychainError::Unavailable("locked".into())));
        let result = store
            .set(&ANTHROPIC, ApiKey::new("sk-lost-abcd").unwrap())
            .await;
        assert_eq!(
            result,
            Err(KeyStoreError::Keychain(KeychainError::Unavailable(
                "locked".into()
            )))
        );
        let status = store.status(&ANTHROPIC, "u");
        assert_eq!(status.source, None);
        assert!(matches!(
            status.secure_store,
            SecureStore::Unavailable { .. }
        ));
        // The next attempt is kept for the session, as the UI now says.
        assert_eq!(
            store
                .set(&ANTHROPIC, ApiKey::new("sk-next-abcd").unwrap())
                .await,
            Ok(KeySource::Session)
        );
    }

    #[tokio::test]
    async fn keys_are_kept_per_provider_and_endpoint() {
        let keychain = Arc::new(MemoryCredentials::new());
        let store = KeyStore::with_keychain(env(&[]), keychain);
        let local = ProviderKeyId::OpenAi {
            endpoint: "local".into(),
        };
        store
            .set(&local, ApiKey::new("sk-local-1111").unwrap())
            .await
            .unwrap();
        assert_eq!(store.get(&ANTHROPIC).await, None);
        assert_eq!(
            store.get(&local).await.map(|k| k.last_four()),
            Some("1111".into())
        );
    }
}
