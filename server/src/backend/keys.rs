//! Provider keys as Settings manages them, for Anthropic and for the
//! OpenAI-compatible endpoint: a key's status (its source and last four
//! characters, never the key), saving, replacing, removing, and checking it
//! with one cheap authenticated call; and the OpenAI-compatible endpoint
//! itself, a setting kept in SQLite (it is an address, not a secret) whose
//! key is kept per endpoint (`openai:<endpoint>` in the keychain).

use kestrel_shared::{ErrorKind, KestrelError, KeyCheck, KeyStatus, ProviderKind};
use rusqlite::{Connection, OptionalExtension};

use super::Backend;
use crate::llm::LlmError;
use crate::openai::OpenAiClient;
use crate::secrets::{ApiKey, KeyStoreError, ProviderKeyId};
use crate::store::StoreError;

/// Longer than any provider key; a paste this long is something else.
const MAX_API_KEY_BYTES: usize = 512;
/// Longer than any endpoint address anyone types.
const MAX_BASE_URL_BYTES: usize = 2048;
/// The `settings` row holding the OpenAI-compatible endpoint.
const OPENAI_BASE_URL_SETTING: &str = "openai_base_url";

fn key_store_error(error: KeyStoreError) -> KestrelError {
    let kind = match error {
        KeyStoreError::FromEnvironment(_) => ErrorKind::BadInput,
        _ => ErrorKind::Storage,
    };
    KestrelError::new(kind, error.to_string())
}

fn bad_input(message: impl Into<String>) -> KestrelError {
    KestrelError::new(ErrorKind::BadInput, message)
}

/// Checks an endpoint address and returns the form it is kept in (no
/// trailing slash). Only `http` and `https` with a host; no user name or
/// password (a secret does not belong in a setting), no query or fragment
/// (request paths are appended to it). Errors never repeat the input.
pub fn normalize_base_url(raw: &str) -> Result<String, KestrelError> {
    let raw = raw.trim();
    if raw.len() > MAX_BASE_URL_BYTES {
        return Err(bad_input(format!(
            "The server address is longer than {MAX_BASE_URL_BYTES} bytes."
        )));
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| bad_input(format!("That is not a web address ({e}).")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad_input(
            "The server address must start with http:// or https://.",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad_input("The server address has no host name."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_input(
            "Leave the user name and password out of the server address; enter the key below.",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad_input(
            "The server address cannot have a query (?…) or a fragment (#…).",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The OpenAI-compatible endpoint saved in the settings, if any. One that
/// no longer passes the checks is ignored (and said so in the log).
pub(super) fn saved_openai_base_url(conn: &Connection) -> Result<Option<String>, StoreError> {
    let saved: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [OPENAI_BASE_URL_SETTING],
            |row| row.get(0),
        )
        .optional()?;
    Ok(saved.and_then(|url| match normalize_base_url(&url) {
        Ok(url) => Some(url),
        Err(error) => {
            tracing::warn!(%error, "the saved OpenAI-compatible endpoint is ignored");
            None
        }
    }))
}

impl Backend {
    /// The OpenAI-compatible endpoint requests go to now.
    pub fn openai_base_url(&self) -> String {
        self.openai_base_url
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The OpenAI-compatible client, aimed at the endpoint of now.
    pub(crate) fn openai_client(&self) -> OpenAiClient {
        self.providers.openai.at(&self.openai_base_url())
    }

    /// The key id of the OpenAI-compatible endpoint of now.
    pub(crate) fn openai_key_id(&self) -> ProviderKeyId {
        ProviderKeyId::OpenAi {
            endpoint: self.openai_base_url(),
        }
    }

    /// The key id of `provider` and the endpoint it is for, read together
    /// so a concurrent change of endpoint cannot mix the two.
    fn key_target(&self, provider: ProviderKind) -> (ProviderKeyId, String) {
        match provider {
            ProviderKind::OpenAi => {
                let endpoint = self.openai_base_url();
                (
                    ProviderKeyId::OpenAi {
                        endpoint: endpoint.clone(),
                    },
                    endpoint,
                )
            }
            _ => (ProviderKeyId::Anthropic, self.config.base_url.clone()),
        }
    }

    /// What the UI may know about `provider`'s key: where it comes from,
    /// its last four characters, and the endpoint it is for.
    pub async fn key_status(&self, provider: ProviderKind) -> KeyStatus {
        let (id, endpoint) = self.key_target(provider);
        // The Anthropic key was read when the store opened; an endpoint's
        // key is read from the keychain the first time it is asked for.
        if self.keys.cached(&id).is_none() {
            self.keys.get(&id).await;
        }
        self.keys.status(&id, &endpoint)
    }

    /// Saves `provider`'s key: in the OS keychain, or for this session
    /// when no keychain is available. Blank input removes it.
    pub async fn set_api_key(
        &self,
        provider: ProviderKind,
        raw: &str,
    ) -> Result<KeyStatus, KestrelError> {
        let Some(key) = ApiKey::new(raw) else {
            return self.delete_api_key(provider).await;
        };
        if key.expose().len() > MAX_API_KEY_BYTES || key.expose().chars().any(char::is_control) {
            return Err(bad_input("That does not look like an API key."));
        }
        let (id, endpoint) = self.key_target(provider);
        match self.keys.set(&id, key).await {
            Ok(source) => {
                tracing::info!(key = %id, ?source, "API key saved");
                Ok(self.keys.status(&id, &endpoint))
            }
            Err(error) => {
                tracing::warn!(key = %id, %error, "API key not saved");
                Err(key_store_error(error))
            }
        }
    }

    /// Removes `provider`'s key from the keychain and from memory.
    pub async fn delete_api_key(&self, provider: ProviderKind) -> Result<KeyStatus, KestrelError> {
        let (id, endpoint) = self.key_target(provider);
        match self.keys.delete(&id).await {
            Ok(()) => {
                tracing::info!(key = %id, "API key removed");
                Ok(self.keys.status(&id, &endpoint))
            }
            Err(error) => {
                tracing::warn!(key = %id, %error, "API key not removed");
                Err(key_store_error(error))
            }
        }
    }

    /// Asks `provider` whether its active key works, with one cheap
    /// authenticated call: Anthropic's model list, or `GET {base}/models`
    /// with the key as a bearer token.
    pub async fn check_api_key(&self, provider: ProviderKind) -> KeyCheck {
        let (id, endpoint) = self.key_target(provider);
        let Some(key) = self.keys.get(&id).await else {
            let message = match provider {
                ProviderKind::OpenAi => {
                    format!("No key is set for {endpoint}; add one above, or set OPENAI_API_KEY.")
                }
                _ => LlmError::MissingKey.to_kestrel().message,
            };
            return KeyCheck::Failed { message };
        };
        let checked = match provider {
            ProviderKind::OpenAi => self
                .providers
                .openai
                .at(&endpoint)
                .list_models(Some(&key))
                .await
                .map(drop),
            _ => self.client.check_key(&key).await,
        };
        match checked {
            Ok(()) => KeyCheck::Valid,
            Err(error) => {
                let error = error.to_kestrel();
                tracing::info!(kind = ?error.kind, key = %id, "API key check failed");
                match error.kind {
                    ErrorKind::InvalidApiKey | ErrorKind::PermissionDenied => KeyCheck::Rejected {
                        message: error.message,
                    },
                    _ => KeyCheck::Failed {
                        message: error.message,
                    },
                }
            }
        }
    }

    /// Points the OpenAI-compatible provider at another endpoint (blank:
    /// back to the default, `OPENAI_BASE_URL` or OpenAI's) and returns the
    /// key status of that endpoint, since keys are kept per endpoint. The
    /// next turn of an OpenAI-compatible conversation goes there.
    pub async fn set_openai_base_url(&self, raw: &str) -> Result<KeyStatus, KestrelError> {
        let chosen = match raw.trim() {
            "" => None,
            raw => Some(normalize_base_url(raw)?),
        };
        let saved = chosen.clone();
        self.store
            .call(move |conn| {
                match &saved {
                    Some(url) => conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [OPENAI_BASE_URL_SETTING, url.as_str()],
                    )?,
                    None => conn.execute(
                        "DELETE FROM settings WHERE key = ?1",
                        [OPENAI_BASE_URL_SETTING],
                    )?,
                };
                Ok(())
            })
            .await
            .map_err(|e| e.to_kestrel())?;
        let endpoint = chosen.unwrap_or_else(|| self.providers.openai.base_url().to_owned());
        tracing::info!(%endpoint, "OpenAI-compatible endpoint set");
        *self
            .openai_base_url
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = endpoint;
        Ok(self.key_status(ProviderKind::OpenAi).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn endpoints_are_checked_and_kept_without_a_trailing_slash() {
        for (raw, kept) in [
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            (" http://localhost:11434/v1/ ", "http://localhost:11434/v1"),
            ("HTTP://Example.COM", "http://example.com"),
        ] {
            assert_eq!(normalize_base_url(raw).unwrap(), kept, "{raw}");
        }
        for (raw, says) in [
            ("localhost:11434", "http:// or https://"),
            ("not a url", "not a web address"),
            ("ftp://example.com/v1", "http:// or https://"),
            ("javascript:alert(1)", "http:// or https://"),
            ("file:///etc/passwd", "http:// or https://"),
            (
                "https://user:sk-secret@example.com/v1",
                "user name and password",
            ),
            ("https://example.com/v1?key=sk-secret", "query"),
            ("https://example.com/v1#x", "fragment"),
        ] {
            let error = normalize_base_url(raw).unwrap_err();
            assert_eq!(error.kind, ErrorKind::BadInput, "{raw}");
            assert!(error.message.contains(says), "{raw}: {}", error.message);
            assert!(!error.message.contains("sk-secret"), "{}", error.message);
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_BASE_URL_BYTES));
        assert!(normalize_base_url(&long).is_err());
    }
}
