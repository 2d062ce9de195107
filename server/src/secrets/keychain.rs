//! Where keys entered in the app are kept: the OS credential store through
//! the `keyring` crate (Secret Service over D-Bus on Linux, Keychain on
//! macOS, Credential Manager on Windows), behind [`CredentialStore`] so
//! tests can swap in [`MemoryCredentials`].
//!
//! Every method here blocks (a D-Bus round trip, perhaps an unlock
//! prompt); [`super::KeyStore`] calls them on blocking threads only. Errors
//! carry the store's reason in words, never the secret: `keyring`'s
//! `BadEncoding` holds the stored bytes, so it is mapped to a fixed text.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::{ApiKey, ProviderKeyId};

/// The service name entries are saved under; the account is the key id.
pub const SERVICE: &str = "kestrel";

/// A credential store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    /// The store cannot be used at all (no D-Bus session, no daemon,
    /// locked, access denied). Keys fall back to session-only memory.
    #[error("{0}")]
    Unavailable(String),
    /// The store works but this entry could not be read or written.
    #[error("{0}")]
    Entry(String),
}

/// A place that keeps keys between runs. Blocking.
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// The stored key; `Ok(None)` when there is none.
    fn get(&self, id: &ProviderKeyId) -> Result<Option<ApiKey>, KeychainError>;
    /// Saves or replaces the key.
    fn set(&self, id: &ProviderKeyId, key: &ApiKey) -> Result<(), KeychainError>;
    /// Removes the key; removing a missing key succeeds.
    fn delete(&self, id: &ProviderKeyId) -> Result<(), KeychainError>;
}

/// The OS credential store.
#[derive(Debug, Default)]
pub struct OsKeychain;

impl OsKeychain {
    fn entry(id: &ProviderKeyId) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(SERVICE, &id.to_string()).map_err(map_error)
    }
}

impl CredentialStore for OsKeychain {
    fn get(&self, id: &ProviderKeyId) -> Result<Option<ApiKey>, KeychainError> {
        match Self::entry(id)?.get_password() {
            Ok(stored) => Ok(ApiKey::new(&stored)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(map_error(error)),
        }
    }

    fn set(&self, id: &ProviderKeyId, key: &ApiKey) -> Result<(), KeychainError> {
        Self::entry(id)?
            .set_password(key.expose())
            .map_err(map_error)
    }

    fn delete(&self, id: &ProviderKeyId) -> Result<(), KeychainError> {
        match Self::entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(map_error(error)),
        }
    }
}

/// Turns a `keyring` error into words that are safe to show and log.
fn map_error(error: keyring::Error) -> KeychainError {
    use keyring::Error as E;
    match error {
        E::PlatformFailure(inner) => {
            KeychainError::Unavailable(format!("the system keychain cannot be reached ({inner})"))
        }
        E::NoStorageAccess(inner) => KeychainError::Unavailable(format!(
            "the system keychain is locked or refused access ({inner})"
        )),
        E::BadEncoding(_) => KeychainError::Entry("the stored key is not valid text".into()),
        E::Ambiguous(items) => KeychainError::Entry(format!(
            "{} keychain entries match; remove the extra ones",
            items.len()
        )),
        E::TooLong(name, limit) => KeychainError::Entry(format!(
            "{name} is longer than the keychain allows ({limit})"
        )),
        E::Invalid(name, reason) => KeychainError::Entry(format!("{name} is invalid: {reason}")),
        E::NoEntry => KeychainError::Entry("no stored key".into()),
        _ => KeychainError::Entry("the system keychain failed".into()),
    }
}

/// An in-memory [`CredentialStore`] for tests; it can be told to fail like
/// a store without a D-Bus session.
#[derive(Debug, Default)]
pub struct MemoryCredentials {
    inner: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    keys: HashMap<ProviderKeyId, ApiKey>,
    failure: Option<KeychainError>,
    calls: usize,
}

impl MemoryCredentials {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail with `error` (or succeed again: `None`).
    pub fn fail_with(&self, error: Option<KeychainError>) {
        self.lock().failure = error;
    }

    /// How many calls reached the store.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enter(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>, KeychainError> {
        let mut state = self.lock();
        state.calls += 1;
        match &state.failure {
            Some(error) => Err(error.clone()),
            None => Ok(state),
        }
    }
}

impl CredentialStore for MemoryCredentials {
    fn get(&self, id: &ProviderKeyId) -> Result<Option<ApiKey>, KeychainError> {
        Ok(self.enter()?.keys.get(id).cloned())
    }

    fn set(&self, id: &ProviderKeyId, key: &ApiKey) -> Result<(), KeychainError> {
        self.enter()?.keys.insert(id.clone(), key.clone());
        Ok(())
    }

    fn delete(&self, id: &ProviderKeyId) -> Result<(), KeychainError> {
        self.enter()?.keys.remove(id);
        Ok(())
    }
}
