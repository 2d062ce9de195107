//! Print mode end to end: the real `kestrel` binary, run as a user runs it
//! (`kestrel -p …`, stdin, environment), against the mock Anthropic server
//! (in this process, on loopback). Checks each output format, what the
//! request carried, what was saved where the app reads it, the exit code
//! of every error kind, and Ctrl-C.
//!
//! Run: `cargo test -p kestrel-app --features desktop --test print_mode`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kestrel_mock_anthropic::{Block, MockConfig, MockServer, Pacing, RecordedRequest, Reply};
use kestrel_server::Backend;
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_shared::{ChatEvent, ContentBlock, ConversationView, MessageStatus, Role};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const KEY: &str = "test-key";

/// The mock server on its own runtime, and a data dir for Kestrel.
struct Stack {
    server: MockServer,
    data_dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Stack {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(MockServer::start(MockConfig::default()))
            .unwrap();
        Self {
            server,
            data_dir: tempfile::tempdir().unwrap(),
            runtime,
        }
    }

    /// `kestrel` with this stack's endpoint, key and data dir.
    fn kestrel(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kestrel"));
        command
            .args(args)
            .env("ANTHROPIC_BASE_URL", self.server.base_url())
            .env("ANTHROPIC_API_KEY", KEY)
            .env("KESTREL_DATA_DIR", self.data_dir.path())
            .env_remove("KESTREL_MODEL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.kestrel(args).output().unwrap()
    }

    /// The one `/v1/messages` request of the last run.
    fn request(&self) -> RecordedRequest {
        let mut requests: Vec<RecordedRequest> = self
            .server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/messages")
            .collect();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        self.server.clear_requests();
        requests.remove(0)
    }

    /// Every conversation as the app loads it, newest first.
    fn saved(&self) -> Vec<ConversationView> {
        saved_in(&self.runtime, self.data_dir.path())
    }
}

fn saved_in(runtime: &tokio::runtime::Runtime, data_dir: &Path) -> Vec<ConversationView> {
    let config = Config {
        data_dir: data_dir.to_owned(),
        base_url: "http://127.0.0.1:9".into(),
        default_model: "unused".into(),
        max_tokens: 1,
        connections: Default::default(),
    };
    let backend: Arc<Backend> = Backend::open(config, KeyStore::new(None)).unwrap();
    runtime.block_on(async {
        let mut views = Vec::new();
        for conversation in backend.list_conversations().await.unwrap() {
            views.push(backend.load_conversation(conversation.id).await.unwrap());
        }
        views
    })
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn text_mode_prints_the_reply_and_saves_the_turn_where_the_app_reads_it() {
    let stack = Stack::new();
    stack
        .server
        .push_reply(Reply::text("Kestrels hover while they hunt."));
    let output = stack.run(&["-p", "How do kestrels hunt?"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Kestrels hover while they hunt.\n");
    assert_eq!(stderr(&output), "");

    let request = stack.request();
    assert_eq!(request.headers["x-api-key"], KEY);
    assert_eq!(request.body["stream"], json!(true));
    assert_eq!(
        request.body["messages"],
        json!([{"role": "user", "content": [{
            "type": "text",
            "text": "How do kestrels hunt?",
            "cache_control": {"type": "ephemeral"}
        }]}])
    );

    let saved = stack.saved();
    assert_eq!(saved.len(), 1);
    let view = &saved[0];
    assert_eq!(view.conversation.title, "How do kestrels hunt?");
    let messages: Vec<(Role, String, MessageStatus)> = view
        .messages
        .iter()
        .map(|m| (m.role, m.text(), m.status))
        .collect();
    assert_eq!(
        messages,
        vec![
            (
                Role::User,
                "How do kestrels hunt?".to_owned(),
                MessageStatus::Complete
            ),
            (
                Role::Assistant,
                "Kestrels hover while they hunt.".to_owned(),
                MessageStatus::Complete
            ),
        ]
    );
}

#[test]
fn piped_stdin_follows_the_prompt_and_model_and_system_reach_the_request() {
    let stack = Stack::new();
    stack.server.push_reply(Reply::text("Two lines."));
    let mut child = stack
        .kestrel(&[
            "-p",
            "Count the lines:",
            "--model",
            "claude-haiku-4-5",
            "--system",
            "Answer briefly.",
            "--max-turns",
            "3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"first\nsecond\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Two lines.\n");

    let request = stack.request();
    assert_eq!(request.body["model"], json!("claude-haiku-4-5"));
    // The system prompt is sent as a block carrying a cache breakpoint.
    assert_eq!(
        request.body["system"],
        json!([{"type": "text", "text": "Answer briefly.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        request.body["messages"][0]["content"][0]["text"],
        json!("Count the lines:\n\nfirst\nsecond\n")
    );
    let saved = stack.saved();
    assert_eq!(saved[0].conversation.system_prompt, "Answer briefly.");
    assert_eq!(saved[0].conversation.model, "claude-haiku-4-5");
}

#[test]
fn stdin_alone_is_the_message() {
    let stack = Stack::new();
    stack.server.push_reply(Reply::text("Got it."));
    let mut child = stack
        .kestrel(&["-p"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"only stdin")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stack.request().body["messages"][0]["content"][0]["text"],
        json!("only stdin")
    );
}

#[test]
fn json_mode_prints_the_reply_as_a_messages_api_response() {
    let stack = Stack::new();
    stack.server.push_reply(Reply::blocks(vec![
        Block::thinking("The user wants weather.", "sig-abc"),
        Block::text("Let me check."),
        Block::tool_use_with_id(
            "toolu_01",
            "get_weather",
            json!({"city": "Oslo", "days": 2}),
        ),
    ]));
    let output = stack.run(&["-p", "Weather in Oslo?", "--output-format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "one object on one line: {text}");
    let mut result: Value = serde_json::from_str(&text).unwrap();

    let message = result["message"].take();
    let id = message["id"].as_str().unwrap();
    assert!(id.starts_with("msg_"), "{id}");
    let usage = &message["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0, "{usage}");
    assert!(usage["output_tokens"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(
        message,
        json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig-abc"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo", "days": 2}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": usage.clone(),
        })
    );

    let saved = stack.saved();
    let conversation_id = saved[0].conversation.id.to_string();
    assert!(result["duration_ms"].as_u64().is_some());
    result["duration_ms"] = json!(0);
    assert_eq!(
        result,
        json!({
            "type": "result",
            "subtype": "success",
            "is_error": false,
            "conversation_id": conversation_id,
            "num_turns": 1,
            "duration_ms": 0,
            "result": "Let me check.",
            "message": null,
        })
    );
}

#[test]
fn stream_json_mode_prints_one_event_per_line() {
    let stack = Stack::new();
    stack.server.push_reply(Reply::text("One two three."));
    let output = stack.run(&["-p", "Count", "--output-format", "stream-json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events: Vec<ChatEvent> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        matches!(events.first(), Some(ChatEvent::TurnStarted { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ChatEvent::ProviderMessage { id, .. } if id.starts_with("msg_"))),
        "{events:?}"
    );
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "One two three.");
    let Some(ChatEvent::Done { message, .. }) = events.last() else {
        panic!("last event: {:?}", events.last());
    };
    assert_eq!(message.content, vec![ContentBlock::text("One two three.")]);
}

/// Runs `kestrel -p` against `reply` and returns (exit code, stderr).
#[test]
fn a_retried_request_is_said_on_stderr_and_the_reply_still_prints() {
    let stack = Stack::new();
    stack
        .server
        .push_replies([Reply::overloaded(), Reply::text("Got through.")]);
    let output = stack.run(&["-p", "Hello"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Got through.\n");
    let said = stderr(&output);
    assert!(
        said.starts_with("kestrel: The model is overloaded. Trying again in ")
            && said.trim_end().ends_with(" s (retry 1)")
            && said.lines().count() == 1,
        "{said:?}"
    );
}

fn failing(stack: &Stack, reply: Option<Reply>, env: &[(&str, &str)]) -> (Option<i32>, String) {
    if let Some(reply) = reply {
        stack.server.push_reply(reply);
    }
    let mut command = stack.kestrel(&["-p", "Hello"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (output.status.code(), stderr(&output))
}

#[test]
fn each_error_kind_exits_with_its_code_and_says_why_on_stderr() {
    let stack = Stack::new();
    // (case, queued reply, environment, exit code, stderr says)
    type Case = (
        &'static str,
        Option<Reply>,
        Vec<(&'static str, &'static str)>,
        i32,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "no key",
            None,
            vec![("ANTHROPIC_API_KEY", "")],
            3,
            "Add an API key",
        ),
        (
            "key refused",
            None,
            vec![("ANTHROPIC_API_KEY", "wrong-key")],
            3,
            "API key rejected",
        ),
        (
            "overloaded mid-stream",
            Some(Reply::mid_stream_error("Partial")),
            vec![],
            4,
            "overloaded",
        ),
        (
            "rate limited mid-stream",
            Some(Reply::MidStreamError {
                text: "Partial".into(),
                error_type: "rate_limit_error".into(),
                message: "Slow down".into(),
                pacing: None,
            }),
            vec![],
            4,
            "Rate limited",
        ),
        (
            "connection dropped",
            Some(Reply::drop_connection("Partial")),
            vec![],
            5,
            "cut off",
        ),
        (
            "nothing listening",
            None,
            vec![("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")],
            5,
            "Cannot reach the provider",
        ),
        (
            "request refused",
            Some(Reply::error(
                400,
                "invalid_request_error",
                "max_tokens: too large",
            )),
            vec![],
            6,
            "max_tokens: too large",
        ),
        (
            "unknown model",
            Some(Reply::error(404, "not_found_error", "model: nope")),
            vec![],
            6,
            "not found",
        ),
    ];
    for (name, reply, env, code, says) in cases {
        let (got, stderr) = failing(&stack, reply, &env);
        assert_eq!(got, Some(code), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr:?} lacks {says:?}");
        assert!(!stderr.contains(KEY), "{name}: the key leaked: {stderr}");
        stack.server.clear_replies();
    }
    // Every attempt kept the user's message.
    let saved = stack.saved();
    assert_eq!(
        saved.len(),
        7,
        "every attempt but the keyless one was saved"
    );
    for view in saved {
        assert_eq!(view.messages[0].text(), "Hello");
    }
}

#[test]
fn usage_errors_exit_2_before_anything_is_saved() {
    let stack = Stack::new();
    for args in [
        vec!["-p"],
        vec!["-p", "   "],
        vec!["-p", "hi", "--output-format", "xml"],
        vec!["-p", "hi", "--max-turns", "0"],
        vec!["-p", "hi", "--no-such-flag"],
        vec!["just words"],
    ] {
        let output = stack.run(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).is_empty(), "{args:?}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    assert!(stack.server.requests().is_empty());
    assert!(stack.saved().is_empty());
}

#[test]
fn json_mode_reports_a_failure_as_an_error_result() {
    let stack = Stack::new();
    stack
        .server
        .push_reply(Reply::mid_stream_error("Half an answer"));
    let output = stack.run(&["-p", "Hi", "--output-format", "json"]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let result: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(result["subtype"], json!("error"));
    assert_eq!(result["is_error"], json!(true));
    assert_eq!(result["error"]["kind"], json!("overloaded"));
    assert_eq!(result["result"], json!("Half an answer"));
    assert_eq!(result["message"]["stop_reason"], Value::Null);
    assert_eq!(
        result["message"]["content"],
        json!([{"type": "text", "text": "Half an answer"}])
    );
}

#[test]
fn ctrl_c_cancels_the_turn_and_keeps_the_partial_reply() {
    let stack = Stack::new();
    let words: Vec<String> = (0..400).map(|i| format!("word{i}")).collect();
    let full = words.join(" ");
    stack
        .server
        .push_reply(Reply::text(full.clone()).with_pacing(Pacing::new(Duration::ZERO, Some(40.0))));
    let mut child = stack
        .kestrel(&["-p", "Talk slowly"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the reply is visibly streaming, then press Ctrl-C.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&seen).contains("word3 ") {
        assert!(Instant::now() < deadline, "no streaming output");
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "stdout closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stdout.read_to_end(&mut seen).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );

    let printed = String::from_utf8(seen).unwrap();
    let saved = stack.saved();
    let reply = &saved[0].messages[1];
    assert_eq!(reply.status, MessageStatus::Cancelled);
    let text = reply.text();
    assert!(
        !text.is_empty() && text.len() < full.len() && full.starts_with(&text),
        "saved {text:?}"
    );
    assert!(
        printed.trim_end().starts_with(text.as_str()) || text.starts_with(printed.trim_end()),
        "printed {printed:?}, saved {text:?}"
    );
}

/// `kestrel` must not load the desktop stack at start (docs/architecture.md,
/// "Two binaries"): the window lives in `kestrel-desktop`.
#[cfg(target_os = "linux")]
#[test]
fn the_kestrel_binary_links_no_gui_library() {
    let output = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_kestrel"))
        .output()
        .unwrap();
    let libraries = String::from_utf8(output.stdout).unwrap();
    assert!(libraries.contains("libc.so"), "{libraries}");
    for gui in ["gtk", "webkit", "gdk", "glib", "X11", "wayland"] {
        assert!(!libraries.contains(gui), "{gui} in:\n{libraries}");
    }
}
