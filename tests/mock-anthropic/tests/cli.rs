//! Tests of the `mock-anthropic` binary: its one-line startup banner, its
//! flags (`--api-key`, `--replay`, `--model`) and serving until killed.

// Helpers outside #[test] fns are test code too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/basic_text.sse");

/// Kills the child when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the base URL from its banner.
fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-anthropic"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("mock-anthropic listening on ")
        .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (running, url)
}

#[tokio::test]
async fn binary_prints_its_url_and_serves() {
    let (_server, url) = spawn(&[
        "--api-key",
        "cli-key",
        "--replay",
        FIXTURE,
        "--model",
        "claude-a",
        "--tokens-per-second",
        "0",
    ]);
    let client = reqwest::Client::new();

    let models: Value = client
        .get(format!("{url}/v1/models"))
        .header("x-api-key", "cli-key")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "claude-a");
    assert_eq!(models["data"].as_array().unwrap().len(), 1);

    let body = client
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", "cli-key")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({
            "model": "claude-a", "max_tokens": 10, "stream": true,
            "messages": [{"role": "user", "content": "Hi"}]
        }))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), std::fs::read(FIXTURE).unwrap().as_slice());

    let wrong_key = client
        .get(format!("{url}/v1/models"))
        .header("x-api-key", "test-key")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
}
