//! Key handling through the backend: what `set_api_key`, `delete_api_key`
//! and `check_api_key` accept, refuse and answer (with an in-memory
//! credential store; `tests/keychain.rs` does the same against a real
//! Secret Service).

use std::sync::Arc;

use kestrel_server::Backend;
use kestrel_server::secrets::{KeyStore, MemoryCredentials};
use kestrel_shared::{ErrorKind, KeyCheck, KeySource};
use pretty_assertions::assert_eq;

use super::common::{KEY, config, mock};

fn with_keychain(
    dir: &std::path::Path,
    base_url: &str,
    env_key: Option<&'static str>,
) -> Arc<Backend> {
    let keys = KeyStore::with_keychain(
        move |name| {
            env_key
                .filter(|_| name == "ANTHROPIC_API_KEY")
                .map(str::to_owned)
        },
        Arc::new(MemoryCredentials::new()),
    );
    Backend::open(config(dir, base_url), keys).unwrap()
}

#[tokio::test]
async fn keys_are_saved_checked_and_removed() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = with_keychain(dir.path(), &server.base_url(), None);

    let status = backend.set_api_key("  wrong-key-0000 \n").await.unwrap();
    assert_eq!(
        (status.source, status.last_four.as_deref()),
        (Some(KeySource::Keychain), Some("0000"))
    );
    assert!(matches!(
        backend.check_api_key().await,
        KeyCheck::Rejected { .. }
    ));

    backend.set_api_key(KEY).await.unwrap();
    assert_eq!(backend.check_api_key().await, KeyCheck::Valid);
    let sent = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/models"))
        .count();
    assert_eq!(sent, 2, "each check is one call to /v1/models");

    let status = backend.delete_api_key().await.unwrap();
    assert_eq!(status.source, None);
    assert!(matches!(
        backend.check_api_key().await,
        KeyCheck::Failed { .. }
    ));
    // Blank input removes the key too.
    backend.set_api_key(KEY).await.unwrap();
    assert_eq!(backend.set_api_key("   ").await.unwrap().source, None);
}

#[tokio::test]
async fn what_is_not_a_key_is_refused_and_the_environment_is_left_alone() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = with_keychain(dir.path(), &server.base_url(), None);
    for bad in ["sk-ant\u{0}-abcd".to_owned(), "k".repeat(513)] {
        let error = backend.set_api_key(&bad).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::BadInput);
        assert!(!error.message.contains(&bad));
    }
    assert_eq!(backend.key_status().source, None, "nothing was saved");

    let backend = with_keychain(dir.path(), &server.base_url(), Some(KEY));
    let error = backend.set_api_key("sk-other-1111").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert!(error.message.contains("ANTHROPIC_API_KEY"));
    assert_eq!(backend.key_status().source, Some(KeySource::Environment));
}
