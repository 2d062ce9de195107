//! `kill -9` of `kestrel serve` in the middle of a streamed reply: the real
//! binary, a real SQLite file, the mock model streaming at a known pace.
//! After the kill, the database must hold the user message and the reply
//! up to its last saved batch, marked interrupted once Kestrel starts
//! again, and the text lost must be under one second of the stream.
//!
//! Run: `cargo test -p kestrel-app --features desktop --test crash`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kestrel_mock_anthropic::{MockConfig, MockServer, Pacing, Reply};
use kestrel_server::Backend;
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_shared::{ChatEvent, MessageStatus, Role};

const TOKENS_PER_SECOND: f64 = 40.0;
const WORDS: usize = 2000;
/// Words received before the kill (about 2.5 s of stream).
const KILL_AFTER_WORDS: usize = 100;

/// Kills the server if the test fails before it does.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(data_dir: &std::path::Path, mock_url: &str) -> (Server, String) {
    // The API needs no web client; an empty public folder will do.
    let public = data_dir.join("public");
    std::fs::create_dir_all(&public).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .env("ANTHROPIC_BASE_URL", mock_url)
        .env("DIOXUS_PUBLIC_PATH", &public)
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("kestrel serve exited").unwrap();
        if let Some(rest) = line.split("serving the web UI at ").nth(1) {
            break rest.trim().trim_end_matches('/').to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_keeps_the_question_and_the_reply_up_to_the_last_batch() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    // Fixed-width words, so a character count is a word count.
    let full: String = (0..WORDS).map(|i| format!("w{i:04} ")).collect();
    mock.push_reply(Reply::text(full.clone()).with_pacing(Pacing {
        first_token_delay: Duration::from_millis(100),
        tokens_per_second: Some(TOKENS_PER_SECOND),
    }));
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server(dir.path(), &mock.base_url());

    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/chat"))
        .json(&serde_json::json!({
            "request": { "conversation_id": null, "text": "Count for me, slowly" }
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let mut body = response.bytes_stream();
    let mut buffered = Vec::new();
    let mut received = String::new();
    let mut conversation = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.len() < KILL_AFTER_WORDS * 6 {
        assert!(Instant::now() < deadline, "the reply did not stream");
        let chunk = body.next().await.expect("the stream ended").unwrap();
        buffered.extend_from_slice(&chunk);
        while let Some(end) = buffered.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffered.drain(..=end).collect();
            match serde_json::from_slice::<ChatEvent>(&line).unwrap() {
                ChatEvent::TurnStarted {
                    conversation: c, ..
                } => conversation = Some(c.id),
                ChatEvent::TextDelta { text, .. } => received.push_str(&text),
                _ => {}
            }
        }
    }
    // SIGKILL: no destructor, no flush, nothing runs in the server.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(body);

    // Start Kestrel again on the same data dir.
    let backend = Backend::open(
        Config {
            data_dir: dir.path().to_owned(),
            base_url: mock.base_url(),
            default_model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            connections: Default::default(),
        },
        KeyStore::new(None),
    )
    .unwrap();
    let view = backend
        .load_conversation(conversation.expect("the turn started"))
        .await
        .unwrap();
    assert_eq!(view.messages.len(), 2, "{:?}", view.messages);
    assert_eq!(
        (view.messages[0].role, view.messages[0].text()),
        (Role::User, "Count for me, slowly".to_owned())
    );
    let reply = &view.messages[1];
    assert_eq!(reply.status, MessageStatus::Interrupted);
    let kept = reply.text();
    assert!(!kept.is_empty(), "no batch of the reply was saved");
    assert!(
        received.starts_with(&kept),
        "the saved text is a prefix of what streamed"
    );
    let lost_words = (received.len() - kept.len()) / 6;
    let lost_seconds = lost_words as f64 / TOKENS_PER_SECOND;
    println!(
        "kill -9 after {} words: {} kept, {lost_words} lost = {lost_seconds:.3} s of text",
        received.len() / 6,
        kept.len() / 6
    );
    assert!(
        lost_seconds < 1.0,
        "{lost_words} words lost, {lost_seconds:.3} s of text at {TOKENS_PER_SECOND} words/s"
    );
}
