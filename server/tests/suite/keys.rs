//! Key handling through the backend, for Anthropic and for the
//! OpenAI-compatible endpoint: what `key_status`, `set_api_key`,
//! `delete_api_key` and `check_api_key` accept, refuse and answer, and the
//! endpoint setting that OpenAI-compatible keys are kept per (with an
//! in-memory credential store; `tests/keychain.rs` does the same against a
//! real Secret Service).

use std::sync::Arc;

use kestrel_mock_anthropic::{MockConfig, MockServer, Reply};
use kestrel_server::anthropic::AnthropicClient;
use kestrel_server::openai::OpenAiClient;
use kestrel_server::provider::retry::RetryPolicy;
use kestrel_server::secrets::{CredentialStore, KeyStore, MemoryCredentials, ProviderKeyId};
use kestrel_server::{Backend, Providers};
use kestrel_shared::{
    ChatEvent, ConversationOptions, ErrorKind, KeyCheck, KeySource, ProviderKind, SendMessage,
};
use pretty_assertions::assert_eq;

use super::common::{KEY, collect, config, mock};

const ANTHROPIC: ProviderKind = ProviderKind::Anthropic;
const OPENAI: ProviderKind = ProviderKind::OpenAi;

/// A backend whose two providers are `server` (the OpenAI-compatible one
/// at `{server}/v1`, its default endpoint), with `keychain` and the
/// environment variables in `env`.
fn backend_with(
    dir: &std::path::Path,
    server: &MockServer,
    keychain: Arc<MemoryCredentials>,
    env: &'static [(&'static str, &'static str)],
) -> Arc<Backend> {
    let keys = KeyStore::with_keychain(
        move |name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        },
        keychain,
    );
    let base_url = server.base_url();
    Backend::open_with_providers(
        config(dir, &base_url),
        keys,
        Providers {
            anthropic: AnthropicClient::new(&base_url)
                .unwrap()
                .with_retry(RetryPolicy::never()),
            openai: OpenAiClient::new(&format!("{base_url}/v1"))
                .unwrap()
                .with_retry(RetryPolicy::never()),
        },
    )
    .unwrap()
}

fn with_keychain(dir: &std::path::Path, server: &MockServer) -> Arc<Backend> {
    backend_with(dir, server, Arc::new(MemoryCredentials::new()), &[])
}

/// Requests the mock saw to `path`.
fn sent_to(server: &MockServer, path: &str) -> Vec<kestrel_mock_anthropic::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

#[tokio::test]
async fn anthropic_keys_are_saved_checked_and_removed() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = with_keychain(dir.path(), &server);
    assert_eq!(backend.key_status(ANTHROPIC).await.source, None);

    let status = backend
        .set_api_key(ANTHROPIC, "  wrong-key-0000 \n")
        .await
        .unwrap();
    assert_eq!(
        (
            status.source,
            status.last_four.as_deref(),
            status.base_url.as_str()
        ),
        (
            Some(KeySource::Keychain),
            Some("0000"),
            server.base_url().as_str()
        )
    );
    assert!(matches!(
        backend.check_api_key(ANTHROPIC).await,
        KeyCheck::Rejected { .. }
    ));

    backend.set_api_key(ANTHROPIC, KEY).await.unwrap();
    assert_eq!(backend.check_api_key(ANTHROPIC).await, KeyCheck::Valid);
    let checks = sent_to(&server, "/v1/models");
    assert_eq!(checks.len(), 2, "each check is one call to /v1/models");
    assert_eq!(
        checks[1].headers.get("x-api-key").map(String::as_str),
        Some(KEY)
    );
    assert_eq!(
        backend.key_status(OPENAI).await.source,
        None,
        "the OpenAI-compatible key is another key"
    );

    let status = backend.delete_api_key(ANTHROPIC).await.unwrap();
    assert_eq!(status.source, None);
    assert!(matches!(
        backend.check_api_key(ANTHROPIC).await,
        KeyCheck::Failed { .. }
    ));
    // Blank input removes the key too.
    backend.set_api_key(ANTHROPIC, KEY).await.unwrap();
    assert_eq!(
        backend.set_api_key(ANTHROPIC, "   ").await.unwrap().source,
        None
    );
}

#[tokio::test]
async fn openai_compatible_keys_are_saved_checked_used_and_removed() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryCredentials::new());
    let backend = backend_with(dir.path(), &server, keychain.clone(), &[]);
    let endpoint = format!("{}/v1", server.base_url());

    let status = backend.key_status(OPENAI).await;
    assert_eq!(
        (status.source, status.base_url.as_str()),
        (None, endpoint.as_str())
    );
    let KeyCheck::Failed { message } = backend.check_api_key(OPENAI).await else {
        panic!("no key, nothing to check");
    };
    assert!(message.contains("No key is set for"), "{message}");
    assert!(
        sent_to(&server, "/v1/models").is_empty(),
        "no call without a key"
    );

    // A wrong key: saved in the keychain under this endpoint, then rejected.
    let status = backend
        .set_api_key(OPENAI, "sk-openai-wrong-0000")
        .await
        .unwrap();
    assert_eq!(
        (status.source, status.last_four.as_deref()),
        (Some(KeySource::Keychain), Some("0000"))
    );
    assert!(matches!(
        backend.check_api_key(OPENAI).await,
        KeyCheck::Rejected { .. }
    ));

    // The right key checks out with one bearer-authenticated model list.
    backend.set_api_key(OPENAI, KEY).await.unwrap();
    assert_eq!(backend.check_api_key(OPENAI).await, KeyCheck::Valid);
    let checks = sent_to(&server, "/v1/models");
    assert_eq!(
        checks.len(),
        2,
        "each check is one call to {endpoint}/models"
    );
    assert_eq!(
        checks[1].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!checks[1].headers.contains_key("x-api-key"));
    let id = ProviderKeyId::OpenAi {
        endpoint: endpoint.clone(),
    };
    assert_eq!(id.to_string(), format!("openai:{endpoint}"));
    assert_eq!(
        keychain.get(&id).unwrap().map(|k| k.last_four()),
        Some("-key".to_owned()),
        "kept in the keychain under openai:<endpoint>"
    );
    assert_eq!(
        backend.key_status(ANTHROPIC).await.source,
        None,
        "the Anthropic key is another key"
    );

    // A conversation using the OpenAI-compatible provider sends it.
    let conversation = backend.create_conversation().await.unwrap();
    backend
        .set_conversation_options(
            conversation.id,
            ConversationOptions {
                provider: OPENAI,
                thinking: false,
            },
        )
        .await
        .unwrap();
    server.push_reply(Reply::text("From the compatible server."));
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: Some(conversation.id),
                text: "hello".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { .. })),
        "{events:?}"
    );
    let chats = sent_to(&server, "/v1/chat/completions");
    assert_eq!(
        chats[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {KEY}").as_str())
    );

    // A new process finds the key in the keychain.
    drop(backend);
    let backend = backend_with(dir.path(), &server, keychain.clone(), &[]);
    assert_eq!(
        backend.key_status(OPENAI).await.source,
        Some(KeySource::Keychain)
    );
    let status = backend.delete_api_key(OPENAI).await.unwrap();
    assert_eq!(status.source, None);
    assert_eq!(keychain.get(&id).unwrap(), None, "gone from the keychain");
    assert!(matches!(
        backend.check_api_key(OPENAI).await,
        KeyCheck::Failed { .. }
    ));
}

#[tokio::test]
async fn the_endpoint_is_a_saved_setting_and_keys_are_kept_per_endpoint() {
    let first = mock().await;
    let second = MockServer::start(MockConfig {
        api_key: "sk-second-server-2222".into(),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryCredentials::new());
    let backend = backend_with(dir.path(), &first, keychain.clone(), &[]);
    let first_endpoint = format!("{}/v1", first.base_url());
    let second_endpoint = format!("{}/v1", second.base_url());
    backend.set_api_key(OPENAI, KEY).await.unwrap();

    // Switching shows the other server's key: none yet.
    let status = backend
        .set_openai_base_url(&format!(" {second_endpoint}/ "))
        .await
        .unwrap();
    assert_eq!(
        (status.source, status.base_url.as_str()),
        (None, second_endpoint.as_str())
    );
    backend
        .set_api_key(OPENAI, "sk-second-server-2222")
        .await
        .unwrap();
    assert_eq!(backend.check_api_key(OPENAI).await, KeyCheck::Valid);
    assert_eq!(
        sent_to(&second, "/v1/models").len(),
        1,
        "the check went there"
    );
    assert!(sent_to(&first, "/v1/models").is_empty());

    // A turn goes to the endpoint of now, with that endpoint's key.
    let conversation = backend.create_conversation().await.unwrap();
    backend
        .set_conversation_provider(conversation.id, OPENAI)
        .await
        .unwrap();
    second.push_reply(Reply::text("From the second server."));
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: Some(conversation.id),
                text: "hello".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { .. })),
        "{events:?}"
    );
    assert_eq!(sent_to(&second, "/v1/chat/completions").len(), 1);
    assert!(sent_to(&first, "/v1/chat/completions").is_empty());

    // The setting survives a restart.
    drop(backend);
    let backend = backend_with(dir.path(), &first, keychain.clone(), &[]);
    assert_eq!(backend.openai_base_url(), second_endpoint);
    assert_eq!(
        backend.key_status(OPENAI).await.last_four.as_deref(),
        Some("2222")
    );

    // Back to the first server: its own key is still there.
    let status = backend.set_openai_base_url(&first_endpoint).await.unwrap();
    assert_eq!(
        (status.source, status.last_four.as_deref()),
        (Some(KeySource::Keychain), Some("-key"))
    );
    // Blank goes back to the default endpoint (here the first server).
    backend.set_openai_base_url(&second_endpoint).await.unwrap();
    let status = backend.set_openai_base_url("  ").await.unwrap();
    assert_eq!(status.base_url, first_endpoint);
    drop(backend);
    let backend = backend_with(dir.path(), &first, keychain, &[]);
    assert_eq!(backend.openai_base_url(), first_endpoint);

    // A server that is down is a failed check, not a rejected key.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    backend.set_openai_base_url(&closed).await.unwrap();
    backend.set_api_key(OPENAI, KEY).await.unwrap();
    let KeyCheck::Failed { message } = backend.check_api_key(OPENAI).await else {
        panic!("a closed port cannot reject a key");
    };
    assert!(message.contains("Could not connect"), "{message}");
}

#[tokio::test]
async fn what_is_not_a_key_or_an_address_is_refused_and_the_environment_is_left_alone() {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = with_keychain(dir.path(), &server);
    for provider in [ANTHROPIC, OPENAI] {
        for bad in ["sk-ant\u{0}-abcd".to_owned(), "k".repeat(513)] {
            let error = backend.set_api_key(provider, &bad).await.unwrap_err();
            assert_eq!(error.kind, ErrorKind::BadInput);
            assert!(!error.message.contains(&bad));
        }
        assert_eq!(
            backend.key_status(provider).await.source,
            None,
            "nothing was saved"
        );
    }
    let endpoint = backend.openai_base_url();
    for bad in [
        "not a url",
        "ftp://example.com/v1",
        "javascript:alert(1)",
        "https://user:sk-secret@example.com/v1",
        "https://example.com/v1?key=sk-secret",
    ] {
        let error = backend.set_openai_base_url(bad).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::BadInput, "{bad}");
        assert!(!error.message.contains("sk-secret"), "{}", error.message);
    }
    assert_eq!(backend.openai_base_url(), endpoint, "the endpoint is kept");

    let backend = backend_with(
        dir.path(),
        &server,
        Arc::new(MemoryCredentials::new()),
        &[
            ("ANTHROPIC_API_KEY", KEY),
            ("OPENAI_API_KEY", "sk-env-openai-9999"),
        ],
    );
    for (provider, var, four) in [
        (ANTHROPIC, "ANTHROPIC_API_KEY", "-key"),
        (OPENAI, "OPENAI_API_KEY", "9999"),
    ] {
        let error = backend
            .set_api_key(provider, "sk-other-1111")
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::BadInput);
        assert!(error.message.contains(var), "{}", error.message);
        let status = backend.key_status(provider).await;
        assert_eq!(
            (status.source, status.last_four.as_deref()),
            (Some(KeySource::Environment), Some(four))
        );
    }
}
