//! The key store against a real Secret Service: gnome-keyring-daemon in a
//! private D-Bus session with a temporary HOME, unlocked without a prompt,
//! so the test never touches the keyring of the person running it.
//!
//! A plain binary (no libtest harness) because it re-runs itself inside
//! `dbus-run-session`; each case is a function below, and the no-D-Bus
//! case runs as a child process with the session address pointing nowhere.
//!
//! Run: `cargo test -p kestrel-server --test keychain`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::{MockConfig, MockServer, Reply};
use kestrel_server::Backend;
use kestrel_server::config::Config;
use kestrel_server::secrets::{ApiKey, CredentialStore, KeyStore, OsKeychain, ProviderKeyId};
use kestrel_shared::{
    ChatEvent, ConversationId, ConversationOptions, KeyCheck, KeySource, ProviderKind, SecureStore,
    SendMessage,
};

/// Set inside the private session this test starts.
const IN_SESSION: &str = "KESTREL_TEST_KEYRING_SESSION";
/// Set on the child that must find no Secret Service.
const NO_DBUS_CASE: &str = "KESTREL_TEST_KEYRING_NO_DBUS";
/// Set on the child that finds the keyring locked.
const LOCKED_CASE: &str = "KESTREL_TEST_KEYRING_LOCKED";
type Case = fn() -> Result<(), String>;

const KEY: &str = "sk-ant-api03-keychainTEST-9f8e7d6c5b4a-LEAK";
/// The OpenAI-compatible server's key in the endpoint case.
const OPENAI_KEY: &str = "sk-proj-keychainTEST-openai-1a2b3c4d-LEAK";
const ANTHROPIC: ProviderKind = ProviderKind::Anthropic;
const OPENAI: ProviderKind = ProviderKind::OpenAi;

fn main() -> ExitCode {
    if std::env::var_os(NO_DBUS_CASE).is_some() {
        return run("(child) no D-Bus session", no_dbus());
    }
    if std::env::var_os(LOCKED_CASE).is_some() {
        return run("(child) locked keyring", locked());
    }
    if std::env::var_os(IN_SESSION).is_none() {
        return rerun_in_private_session();
    }
    let cases: [(&str, Case); 5] = [
        ("keys round-trip through the Secret Service", round_trip),
        (
            "a whole session with a keychain key leaves no copy of it",
            full_session,
        ),
        (
            "an OpenAI-compatible endpoint's key lives in the keychain as openai:<endpoint>",
            openai_endpoint_session,
        ),
        (
            "without a D-Bus session the app offers session-only keys",
            spawn_no_dbus,
        ),
        ("a locked keyring is reported, not waited on", spawn_locked),
    ];
    let mut failed = 0;
    for (name, case) in cases {
        if run(name, case()) == ExitCode::FAILURE {
            failed += 1;
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => {
            eprintln!("keychain: {name} ... ok");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("keychain: {name} ... FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Starts a D-Bus session bus and gnome-keyring-daemon (its keyrings in a
/// temporary HOME, the login keyring created and unlocked with a fixed
/// password on stdin), then runs this binary again inside it.
fn rerun_in_private_session() -> ExitCode {
    let home = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    eprintln!("keychain: starting a private D-Bus session with gnome-keyring");
    let script = r#"printf kestrel-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97
exec "$0""#;
    let status = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .arg(&exe)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env(IN_SESSION, "1")
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("keychain: FAILED ({status}); needs dbus-run-session and gnome-keyring");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("keychain: FAILED, cannot run dbus-run-session ({error})");
            ExitCode::FAILURE
        }
    }
}

/// Sends "Hi" in `conversation` and returns the turn's last event.
async fn last_event_of_a_turn(
    backend: &Arc<Backend>,
    conversation: ConversationId,
) -> Result<Option<ChatEvent>, String> {
    let events = backend
        .send_message(SendMessage {
            conversation_id: Some(conversation),
            text: "Hi".into(),
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(
        tokio::time::timeout(Duration::from_secs(20), events.collect::<Vec<_>>())
            .await
            .map_err(|_| "the turn did not end".to_owned())?
            .pop(),
    )
}

fn check(condition: bool, what: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

fn round_trip() -> Result<(), String> {
    let keychain = OsKeychain;
    let anthropic = ProviderKeyId::Anthropic;
    let local = ProviderKeyId::OpenAi {
        endpoint: "local".into(),
    };
    check(
        keychain.get(&anthropic) == Ok(None),
        "the new keyring is empty",
    )?;
    keychain
        .set(&anthropic, &ApiKey::new(KEY).unwrap())
        .map_err(|e| format!("set: {e}"))?;
    keychain
        .set(&local, &ApiKey::new("sk-local-1111").unwrap())
        .map_err(|e| format!("set openai: {e}"))?;
    let read = keychain.get(&anthropic).map_err(|e| format!("get: {e}"))?;
    check(
        read.as_ref().map(ApiKey::expose) == Some(KEY),
        "the key reads back",
    )?;
    let other = keychain.get(&local).map_err(|e| format!("get: {e}"))?;
    check(
        other.map(|k| k.last_four()).as_deref() == Some("1111"),
        "each endpoint has its own entry",
    )?;

    // A fresh store (a new process) finds the key; the environment wins.
    let store = KeyStore::with_keychain(|_| None, Arc::new(OsKeychain));
    check(
        store.cached(&anthropic).map(|(_, s)| s) == Some(KeySource::Keychain),
        "a new store reads the keychain",
    )?;
    let store = KeyStore::with_keychain(
        |name| (name == "ANTHROPIC_API_KEY").then(|| "sk-env-wxyz".to_owned()),
        Arc::new(OsKeychain),
    );
    check(
        store.cached(&anthropic).map(|(k, s)| (k.last_four(), s))
            == Some(("wxyz".into(), KeySource::Environment)),
        "the environment variable wins over the keychain",
    )?;

    keychain
        .delete(&anthropic)
        .map_err(|e| format!("delete: {e}"))?;
    keychain
        .delete(&local)
        .map_err(|e| format!("delete: {e}"))?;
    check(keychain.get(&anthropic) == Ok(None), "the key is gone")?;
    check(
        keychain.delete(&anthropic).is_ok(),
        "deleting twice is fine",
    )
}

/// Set the key through the backend, chat, check it, hit the error paths,
/// delete it; then no file in the data dir holds it.
fn full_session() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let mock = MockServer::start(MockConfig {
            api_key: KEY.into(),
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let config = Config {
            data_dir: data_dir.path().to_owned(),
            base_url: mock.base_url(),
            default_model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            connections: Default::default(),
        };
        let keys =
            tokio::task::spawn_blocking(|| KeyStore::with_keychain(|_| None, Arc::new(OsKeychain)))
                .await
                .unwrap();
        let backend = Backend::open(config.clone(), keys).map_err(|e| e.to_string())?;
        check(
            !backend.key_status(ANTHROPIC).await.is_configured(),
            "no key at first",
        )?;

        // A wrong key first: saved, then rejected by the provider.
        backend
            .set_api_key(ANTHROPIC, "sk-ant-wrong-0000")
            .await
            .map_err(|e| e.to_string())?;
        let rejected = backend.check_api_key(ANTHROPIC).await;
        check(
            matches!(rejected, KeyCheck::Rejected { .. }),
            &format!("a wrong key is rejected: {rejected:?}"),
        )?;

        let status = backend
            .set_api_key(ANTHROPIC, KEY)
            .await
            .map_err(|e| e.to_string())?;
        check(
            status.source == Some(KeySource::Keychain)
                && status.last_four.as_deref() == Some("LEAK")
                && status.secure_store == SecureStore::Available,
            &format!("the key went to the keychain: {status:?}"),
        )?;
        check(
            backend.check_api_key(ANTHROPIC).await == KeyCheck::Valid,
            "the key checks out",
        )?;

        let conversation = backend
            .create_conversation()
            .await
            .map_err(|e| e.to_string())?;
        mock.push_reply(Reply::text("Hello from the keychain test."));
        let last = last_event_of_a_turn(&backend, conversation.id).await?;
        check(
            matches!(last, Some(ChatEvent::Done { .. })),
            &format!("the turn used the keychain key: {last:?}"),
        )?;
        // An error path: the provider fails, the error is logged and saved.
        mock.push_reply(Reply::error(
            401,
            "authentication_error",
            "invalid x-api-key",
        ));
        let events = backend
            .send_message(SendMessage {
                conversation_id: Some(conversation.id),
                text: "Again".into(),
            })
            .await
            .map_err(|e| e.to_string())?;
        let _ = tokio::time::timeout(Duration::from_secs(20), events.collect::<Vec<_>>()).await;

        // A restarted backend finds the key in the keychain.
        drop(backend);
        let keys =
            tokio::task::spawn_blocking(|| KeyStore::with_keychain(|_| None, Arc::new(OsKeychain)))
                .await
                .unwrap();
        let backend = Backend::open(config, keys).map_err(|e| e.to_string())?;
        check(
            backend.key_status(ANTHROPIC).await.source == Some(KeySource::Keychain),
            "the key survives a restart",
        )?;
        let status = backend
            .delete_api_key(ANTHROPIC)
            .await
            .map_err(|e| e.to_string())?;
        check(!status.is_configured(), "delete removes it")?;
        check(
            OsKeychain.get(&ProviderKeyId::Anthropic) == Ok(None),
            "gone from the keychain",
        )?;
        Ok::<(), String>(())
    })?;
    let hits = files_containing(data_dir.path(), KEY.as_bytes());
    check(
        hits.is_empty(),
        &format!("no file in the data dir holds the key: {hits:?}"),
    )
}

/// An OpenAI-compatible endpoint chosen in the settings, its key set,
/// checked, used by a turn and found again by a restarted backend, all
/// through the Secret Service entry `openai:<endpoint>`; then removed, and
/// no file in the data dir holds it.
fn openai_endpoint_session() -> Result<(), String> {
    use kestrel_server::Providers;
    use kestrel_server::anthropic::AnthropicClient;
    use kestrel_server::openai::OpenAiClient;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let mock = MockServer::start(MockConfig {
            api_key: OPENAI_KEY.into(),
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let endpoint = format!("{}/v1", mock.base_url());
        let config = Config {
            data_dir: data_dir.path().to_owned(),
            base_url: mock.base_url(),
            default_model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            connections: Default::default(),
        };
        let open = |config: Config| async move {
            let keys = tokio::task::spawn_blocking(|| {
                KeyStore::with_keychain(|_| None, Arc::new(OsKeychain))
            })
            .await
            .unwrap();
            // The default endpoint is OpenAI's: the settings move it.
            let providers = Providers {
                anthropic: AnthropicClient::new(&config.base_url).unwrap(),
                openai: OpenAiClient::new(kestrel_server::openai::DEFAULT_BASE_URL).unwrap(),
            };
            Backend::open_with_providers(config, keys, providers).map_err(|e| e.to_string())
        };
        let backend = open(config.clone()).await?;
        let status = backend
            .set_openai_base_url(&endpoint)
            .await
            .map_err(|e| e.to_string())?;
        check(
            status.base_url == endpoint && !status.is_configured(),
            &format!("the new endpoint has no key yet: {status:?}"),
        )?;
        let status = backend
            .set_api_key(OPENAI, OPENAI_KEY)
            .await
            .map_err(|e| e.to_string())?;
        check(
            status.source == Some(KeySource::Keychain)
                && status.last_four.as_deref() == Some("LEAK"),
            &format!("the key went to the keychain: {status:?}"),
        )?;
        let id = ProviderKeyId::OpenAi {
            endpoint: endpoint.clone(),
        };
        let stored = tokio::task::spawn_blocking({
            let id = id.clone();
            move || OsKeychain.get(&id)
        })
        .await
        .unwrap()
        .map_err(|e| e.to_string())?;
        check(
            stored.as_ref().map(ApiKey::expose) == Some(OPENAI_KEY),
            "the Secret Service holds it under openai:<endpoint>",
        )?;
        check(
            !backend.key_status(ANTHROPIC).await.is_configured(),
            "the Anthropic key is another entry",
        )?;
        check(
            backend.check_api_key(OPENAI).await == KeyCheck::Valid,
            "the key checks out against the endpoint",
        )?;
        let conversation = backend
            .create_conversation()
            .await
            .map_err(|e| e.to_string())?;
        backend
            .set_conversation_options(
                conversation.id,
                ConversationOptions {
                    provider: OPENAI,
                    thinking: false,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        mock.push_reply(Reply::text("Hello from the compatible server."));
        let last = last_event_of_a_turn(&backend, conversation.id).await?;
        check(
            matches!(last, Some(ChatEvent::Done { .. })),
            &format!("the turn used the keychain key: {last:?}"),
        )?;

        // A restarted backend remembers the endpoint and reads its key.
        drop(backend);
        let backend = open(config).await?;
        let status = backend.key_status(OPENAI).await;
        check(
            status.base_url == endpoint && status.source == Some(KeySource::Keychain),
            &format!("endpoint and key survive a restart: {status:?}"),
        )?;
        let status = backend
            .delete_api_key(OPENAI)
            .await
            .map_err(|e| e.to_string())?;
        check(!status.is_configured(), "delete removes it")?;
        let gone = tokio::task::spawn_blocking(move || OsKeychain.get(&id))
            .await
            .unwrap();
        check(gone == Ok(None), "gone from the keychain")?;
        Ok::<(), String>(())
    })?;
    let hits = files_containing(data_dir.path(), OPENAI_KEY.as_bytes());
    check(
        hits.is_empty(),
        &format!("no file in the data dir holds the key: {hits:?}"),
    )
}

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            hits.push(path.display().to_string());
        }
    }
    hits
}

fn spawn_no_dbus() -> Result<(), String> {
    let status = Command::new(std::env::current_exe().unwrap())
        .env(NO_DBUS_CASE, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/kestrel-test-bus",
        )
        .env_remove("DISPLAY")
        .status()
        .map_err(|e| e.to_string())?;
    check(status.success(), "the child case passed")
}

fn no_dbus() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = KeyStore::with_keychain(|_| None, Arc::new(OsKeychain));
    let id = ProviderKeyId::Anthropic;
    let status = store.status(&id, "u");
    let SecureStore::Unavailable { reason } = &status.secure_store else {
        return Err(format!("the store says it is unavailable: {status:?}"));
    };
    check(!reason.is_empty(), "with a reason")?;
    let source = runtime
        .block_on(store.set(&id, ApiKey::new(KEY).unwrap()))
        .map_err(|e| e.to_string())?;
    check(
        source == KeySource::Session,
        "the key is kept for the session",
    )?;
    check(
        runtime
            .block_on(store.get(&id))
            .map(|k| k.last_four())
            .as_deref()
            == Some("LEAK"),
        "and used",
    )
}

/// Locks the login collection (as a screen lock would) and runs the
/// locked case in a child, which must finish within a minute.
fn spawn_locked() -> Result<(), String> {
    OsKeychain
        .set(&ProviderKeyId::Anthropic, &ApiKey::new(KEY).unwrap())
        .map_err(|e| format!("set: {e}"))?;
    let lock = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .map_err(|e| format!("dbus-send: {e}"))?;
    check(lock.status.success(), "the collection locks")?;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(LOCKED_CASE, "1")
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return check(status.success(), "the child case passed");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err("reading a locked keyring hangs".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn locked() -> Result<(), String> {
    let store = KeyStore::with_keychain(|_| None, Arc::new(OsKeychain));
    let id = ProviderKeyId::Anthropic;
    let status = store.status(&id, "u");
    let SecureStore::Unavailable { reason } = &status.secure_store else {
        return Err(format!("a locked keyring is unavailable: {status:?}"));
    };
    check(
        reason.contains("locked"),
        &format!("the reason says so: {reason}"),
    )?;
    check(status.source.is_none(), "no key is read from it")?;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let source = runtime
        .block_on(store.set(&id, ApiKey::new(KEY).unwrap()))
        .map_err(|e| e.to_string())?;
    check(
        source == KeySource::Session,
        "a key entered now lasts for the session",
    )
}
