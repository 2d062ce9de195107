//! Integration tests of the mock over real loopback HTTP: the Messages and
//! Models wire format, auth and validation errors, scripted replies (text,
//! blocks, errors, mid-stream errors, dropped connections, replay), request
//! recording and the `/_mock/` control endpoints.

// Helpers outside #[test] fns are test code too (clippy.toml only covers the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::{
    Block, MockConfig, MockServer, Pacing, RecordedRequest, Reply, default_reply_text,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/basic_text.sse");

async fn start() -> MockServer {
    MockServer::start(MockConfig::default()).await.unwrap()
}

fn request_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "claude-test-1",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
    })
}

async fn post_messages(server: &MockServer, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", server.base_url()))
        .header("x-api-key", "test-key")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Parses an SSE body into (event name, data JSON) pairs, checking that
/// every event is exactly `event: …\ndata: …\n\n`.
fn parse_sse(body: &str) -> Vec<(String, Value)> {
    assert!(body.ends_with("\n\n"), "body must end with a blank line");
    body.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|event| {
            let (name_line, data_line) = event.split_once('\n').unwrap();
            let name = name_line.strip_prefix("event: ").unwrap();
            let data = data_line.strip_prefix("data: ").unwrap();
            let data: Value = serde_json::from_str(data).unwrap();
            if name != "ping" && name != "error" {
                assert_eq!(data["type"], name, "event name matches its type");
            }
            (name.to_owned(), data)
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

fn expected_input_tokens(body: &Value) -> u64 {
    let chars = serde_json::to_string(body).unwrap().chars().count() as u64;
    chars.div_ceil(4).max(1)
}

#[tokio::test]
async fn streaming_text_reply_has_the_api_event_order_and_shapes() {
    let server = start().await;
    server.push_reply(Reply::text("Hello there, world."));
    let body = request_body("Hi", true);
    let response = post_messages(&server, &body).await;

    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(request_id.starts_with("req_"), "{request_id}");

    let text = response.text().await.unwrap();
    assert!(text.starts_with(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_"
    ));
    let events = parse_sse(&text);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert!(text.contains("event: ping\ndata: {\"type\": \"ping\"}\n\n"));

    let mut start = events[0].1.clone();
    let id = start["message"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("msg_"), "{id}");
    start["message"]["id"] = json!("msg_X");
    assert_eq!(
        start,
        json!({"type": "message_start", "message": {
            "id": "msg_X", "type": "message", "role": "assistant", "model": "claude-test-1",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": expected_input_tokens(&body), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}
        }})
    );
    assert_eq!(
        events[2].1,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    );
    let deltas: Vec<&Value> = events[3..6].iter().map(|(_, data)| data).collect();
    assert_eq!(
        deltas,
        [
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there,"}}),
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world."}}),
        ]
    );
    assert_eq!(
        events[6].1,
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_eq!(
        events[7].1,
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": 5}})
    );
    assert_eq!(events[8].1, json!({"type": "message_stop"}));
}

#[tokio::test]
async fn non_streaming_request_gets_the_message_object() {
    let server = start().await;
    server.push_reply(Reply::text("Plain answer."));
    let body = request_body("Hi", false);
    let response = post_messages(&server, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("request-id"));
    let mut message: Value = response.json().await.unwrap();
    assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    message["id"] = json!("msg_X");
    assert_eq!(
        message,
        json!({
            "id": "msg_X", "type": "message", "role": "assistant", "model": "claude-test-1",
            "content": [{"type": "text", "text": "Plain answer."}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": expected_input_tokens(&body), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 4}
        })
    );
}

#[tokio::test]
async fn wrong_or_missing_key_is_401_with_the_api_body() {
    let server = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", server.base_url());
    for key in [Some("wrong-key"), None] {
        let mut request = client
            .post(&url)
            .header("anthropic-version", "2023-06-01")
            .json(&request_body("Hi", true));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], "application/json");
        let request_id = response.headers()["request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                   "request_id": request_id})
        );
    }
    // A bearer token with the right key is accepted.
    let response = client
        .post(&url)
        .header("authorization", "Bearer test-key")
        .header("anthropic-version", "2023-06-01")
        .json(&request_body("Hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn missing_version_or_bad_body_is_400() {
    let server = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", server.base_url());
    let response = client
        .post(&url)
        .header("x-api-key", "test-key")
        .json(&request_body("Hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["request_id"].as_str().unwrap().starts_with("req_"));

    let bad_bodies = [
        "{not json".to_owned(),
        json!({"max_tokens": 10, "messages": []}).to_string(),
        json!({"model": "m", "messages": []}).to_string(),
        json!({"model": "m", "max_tokens": 10}).to_string(),
    ];
    for bad in bad_bodies {
        let response = client
            .post(&url)
            .header("x-api-key", "test-key")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(bad.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error", "{bad}");
    }
    // Bad requests do not consume scripted replies.
    assert_eq!(server.pending_replies(), 0);
}

#[tokio::test]
async fn models_are_listed_with_auth() {
    let server = MockServer::start(MockConfig {
        api_key: "k-1".into(),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/models", server.base_url());
    let unauthorized = client
        .get(&url)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);

    let response = client
        .get(&url)
        .header("x-api-key", "k-1")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let model = &body["data"][0];
    assert_eq!(
        (
            &model["type"],
            &model["id"],
            &model["display_name"],
            &model["created_at"],
            &model["max_input_tokens"],
            &model["max_tokens"],
            &model["capabilities"]["thinking"]["types"]["enabled"],
        ),
        (
            &json!("model"),
            &json!("claude-sonnet-4-5"),
            &json!("Claude Sonnet 4.5"),
            &json!("2025-09-29T00:00:00Z"),
            &json!(200000),
            &json!(64000),
            &json!({"supported": true}),
        )
    );
    assert_eq!(body["data"][1]["id"], "claude-haiku-4-5");
    assert_eq!(
        (&body["has_more"], &body["first_id"], &body["last_id"]),
        (
            &json!(false),
            &json!("claude-sonnet-4-5"),
            &json!("claude-haiku-4-5")
        )
    );
}

#[tokio::test]
async fn models_are_paginated_like_the_api() {
    let server = MockServer::start(MockConfig {
        models: (0..5).map(|i| format!("model-{i}")).collect(),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let page = |query: &'static str| {
        let request = client
            .get(format!("{}/v1/models?{query}", server.base_url()))
            .header("x-api-key", "test-key")
            .header("anthropic-version", "2023-06-01");
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, first) = page("limit=2").await;
    assert_eq!(ids(&first), ["model-0", "model-1"]);
    assert_eq!(
        (&first["has_more"], &first["last_id"]),
        (&json!(true), &json!("model-1"))
    );
    let (_, second) = page("limit=2&after_id=model-1").await;
    assert_eq!(ids(&second), ["model-2", "model-3"]);
    let (_, last) = page("limit=2&after_id=model-3").await;
    assert_eq!(ids(&last), ["model-4"]);
    assert_eq!(last["has_more"], false);
    let (_, before) = page("limit=2&before_id=model-3").await;
    assert_eq!(ids(&before), ["model-1", "model-2"]);
    let (status, error) = page("limit=0").await;
    assert_eq!(
        (status, &error["error"]["type"]),
        (400, &json!("invalid_request_error"))
    );
}

#[tokio::test]
async fn replies_are_fifo_then_the_default() {
    let server = start().await;
    server.push_reply(Reply::text("first"));
    server.push_reply(Reply::text("second"));
    let mut texts = Vec::new();
    for _ in 0..3 {
        let message: Value = post_messages(&server, &request_body("What is **this**?", false))
            .await
            .json()
            .await
            .unwrap();
        texts.push(message["content"][0]["text"].as_str().unwrap().to_owned());
    }
    let default = default_reply_text("What is **this**?");
    assert!(default.starts_with("You said: \"What is **this**?\""));
    assert_eq!(texts, ["first", "second", default.as_str()]);

    // Streamed, the default answer comes one word per delta.
    let body = post_messages(&server, &request_body("Stream it", true))
        .await
        .text()
        .await
        .unwrap();
    let deltas: Vec<String> = parse_sse(&body)
        .into_iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| data["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(deltas.len() > 50);
    assert!(
        deltas[1..]
            .iter()
            .all(|d| d.starts_with(char::is_whitespace))
    );
    assert!(deltas.iter().all(|d| d.split_whitespace().count() == 1));
    assert_eq!(deltas.concat(), default_reply_text("Stream it"));
}

#[tokio::test]
async fn injected_http_errors_carry_status_type_and_retry_after() {
    let server = start().await;
    server.push_reply(Reply::rate_limited(3));
    server.push_reply(Reply::overloaded());
    server.push_reply(Reply::api_error());

    let response = post_messages(&server, &request_body("Hi", true)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["request_id"], request_id.as_str());

    let response = post_messages(&server, &request_body("Hi", true)).await;
    assert_eq!(response.status(), 529);
    assert!(!response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"],
        json!({"type": "overloaded_error", "message": "Overloaded"})
    );

    let response = post_messages(&server, &request_body("Hi", false)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "api_error");
}

#[tokio::test]
async fn mid_stream_error_sends_an_error_event_and_ends() {
    let server = start().await;
    server.push_reply(Reply::mid_stream_error("Partial answer here"));
    let response = post_messages(&server, &request_body("Hi", true)).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.ends_with(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
    ));
    let events = parse_sse(&body);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "error",
        ]
    );

    // Without streaming the same reply is an HTTP error.
    server.push_reply(Reply::mid_stream_error("x"));
    let response = post_messages(&server, &request_body("Hi", false)).await;
    assert_eq!(response.status(), 529);
}

#[tokio::test]
async fn dropped_connection_ends_without_message_stop() {
    let server = start().await;
    server.push_reply(Reply::drop_connection("Some partial words"));
    let response = post_messages(&server, &request_body("Hi", true)).await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body must end with an error, not a clean EOF");
    let text = String::from_utf8(received).unwrap();
    let events = parse_sse(&text);
    assert_eq!(events.last().unwrap().0, "content_block_delta");
    assert_eq!(
        events
            .iter()
            .filter(|(name, _)| name == "content_block_delta")
            .count(),
        3
    );
    assert!(!text.contains("message_stop"));
    assert!(!text.contains("content_block_stop"));

    // The server keeps serving afterwards.
    server.push_reply(Reply::text("fine"));
    let response = post_messages(&server, &request_body("Hi", false)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn replay_sends_the_recorded_bytes_unchanged() {
    let fixture = std::fs::read(FIXTURE).unwrap();
    let server = start().await;
    server.push_reply(Reply::replay_file(FIXTURE));
    server.push_reply(
        Reply::replay(String::from_utf8(fixture.clone()).unwrap())
            .with_pacing(Pacing::new(Duration::from_millis(2), Some(2000.0))),
    );
    for _ in 0..2 {
        let response = post_messages(&server, &request_body("Hi", true)).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(body.as_ref(), fixture.as_slice());
    }

    // A server configured with a replay file replays it when nothing is queued.
    let server = MockServer::start(MockConfig {
        replay: Some(FIXTURE.into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let body = post_messages(&server, &request_body("Hi", true))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), fixture.as_slice());

    // A missing file is reported as an api_error.
    server.push_reply(Reply::replay_file("/nonexistent/recording.sse"));
    let response = post_messages(&server, &request_body("Hi", true)).await;
    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn thinking_and_tool_use_blocks_stream_their_deltas() {
    let server = start().await;
    let input = json!({"city": "Paris", "units": "celsius", "days": [1, 2, 3]});
    server.push_reply(Reply::blocks(vec![
        Block::thinking("Need the weather.", "sig-abc"),
        Block::text("Let me check."),
        Block::tool_use_with_id("toolu_fixed", "get_weather", input.clone()),
        Block::tool_use("get_time", json!({})),
    ]));
    let body = post_messages(&server, &request_body("Weather?", true))
        .await
        .text()
        .await
        .unwrap();
    let events = parse_sse(&body);

    let starts: Vec<&Value> = events
        .iter()
        .filter(|(name, _)| name == "content_block_start")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(starts.len(), 4);
    assert_eq!(
        starts[0],
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})
    );
    assert_eq!(
        starts[2],
        &json!({"type": "content_block_start", "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_fixed", "name": "get_weather", "input": {}}})
    );
    let generated_id = starts[3]["content_block"]["id"].as_str().unwrap();
    assert!(generated_id.starts_with("toolu_"), "{generated_id}");

    let deltas_of = |index: u64| -> Vec<Value> {
        events
            .iter()
            .filter(|(name, data)| name == "content_block_delta" && data["index"] == index)
            .map(|(_, data)| data["delta"].clone())
            .collect()
    };
    let thinking = deltas_of(0);
    assert_eq!(
        thinking,
        [
            json!({"type": "thinking_delta", "thinking": "Need"}),
            json!({"type": "thinking_delta", "thinking": " the"}),
            json!({"type": "thinking_delta", "thinking": " weather."}),
            json!({"type": "signature_delta", "signature": "sig-abc"}),
        ]
    );
    let tool = deltas_of(2);
    assert_eq!(
        tool[0],
        json!({"type": "input_json_delta", "partial_json": ""})
    );
    assert!(tool.len() > 2);
    let joined: String = tool
        .iter()
        .map(|d| {
            assert_eq!(d["type"], "input_json_delta");
            d["partial_json"].as_str().unwrap()
        })
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&joined).unwrap(), input);
    let empty_tool: String = deltas_of(3)
        .iter()
        .map(|d| d["partial_json"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(empty_tool, "{}");

    // Every block is closed, in order, and the stop reason is tool_use.
    let stops: Vec<u64> = events
        .iter()
        .filter(|(name, _)| name == "content_block_stop")
        .map(|(_, data)| data["index"].as_u64().unwrap())
        .collect();
    assert_eq!(stops, [0, 1, 2, 3]);
    let message_delta = &events[events.len() - 2];
    assert_eq!(message_delta.1["delta"]["stop_reason"], "tool_use");
    assert_eq!(names(&events).last(), Some(&"message_stop"));

    // Non-streamed, the blocks are whole.
    server.push_reply(Reply::blocks(vec![
        Block::thinking("Hmm.", "sig-1"),
        Block::tool_use_with_id("toolu_2", "get_weather", input.clone()),
    ]));
    let message: Value = post_messages(&server, &request_body("Weather?", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig-1"},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": input}
        ])
    );
    assert_eq!(message["stop_reason"], "tool_use");
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_body() {
    let server = start().await;
    let body = json!({
        "model": "claude-test-1",
        "max_tokens": 50,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
    });
    post_messages(&server, &body).await;
    reqwest::get(format!("{}/nowhere", server.base_url()))
        .await
        .unwrap();
    reqwest::get(format!("{}/_mock/requests", server.base_url()))
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "control endpoints are not recorded");
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/messages");
    assert_eq!(first.headers["x-api-key"], "test-key");
    assert_eq!(first.headers["anthropic-version"], "2023-06-01");
    assert_eq!(first.body, body);
    assert_eq!(requests[1].path, "/nowhere");
    assert_eq!(requests[1].body, Value::Null);
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_body() {
    let server = start().await;
    let response = reqwest::get(format!("{}/v1/complete", server.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    assert_eq!(body["request_id"], request_id.as_str());
}

#[tokio::test]
async fn control_endpoints_drive_the_server() {
    let server = start().await;
    let client = reqwest::Client::new();
    let base = server.base_url();

    // Enqueue one spec, then an array.
    let queued: Value = client
        .post(format!("{base}/_mock/replies"))
        .json(&json!({"kind": "text", "text": "from control"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queued, json!({"queued": 1}));
    let queued: Value = client
        .post(format!("{base}/_mock/replies"))
        .json(&json!([
            {"kind": "error", "status": 429, "error_type": "rate_limit_error", "message": "slow", "retry_after": 9},
            {"kind": "blocks", "blocks": [{"type": "tool_use", "name": "t", "input": {"a": 1}}]},
            {"kind": "drop_connection", "text": "x"}
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queued, json!({"queued": 4}));

    let message: Value = post_messages(&server, &request_body("Hi", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["content"][0]["text"], "from control");
    let response = post_messages(&server, &request_body("Hi", false)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "9");

    // A bad spec is refused.
    let response = client
        .post(format!("{base}/_mock/replies"))
        .json(&json!({"kind": "nonsense"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Clearing drops the rest.
    let cleared: Value = client
        .delete(format!("{base}/_mock/replies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared, json!({"cleared": 2}));
    assert_eq!(server.pending_replies(), 0);

    // Pacing is set and read back.
    let pacing: Value = client
        .post(format!("{base}/_mock/pacing"))
        .json(&json!({"first_token_ms": 1, "tokens_per_second": 5000.0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pacing,
        json!({"first_token_ms": 1, "tokens_per_second": 5000.0})
    );
    let paced = post_messages(&server, &request_body("paced", true))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(names(&parse_sse(&paced)).last(), Some(&"message_stop"));
    let response = client
        .post(format!("{base}/_mock/pacing"))
        .json(&json!({"first_token": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Recorded requests are listed, with their bodies.
    let recorded: Vec<RecordedRequest> = client
        .get(format!("{base}/_mock/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded, server.requests());
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[2].body, request_body("paced", true));
}

#[tokio::test]
async fn pacing_keeps_the_stream_intact() {
    let server = MockServer::start(MockConfig {
        pacing: Pacing::new(Duration::from_millis(5), Some(1000.0)),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    server.push_reply(Reply::text("one two three four"));
    let body = post_messages(&server, &request_body("Hi", true))
        .await
        .text()
        .await
        .unwrap();
    let text: String = parse_sse(&body)
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| data["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "one two three four");
    server.set_pacing(Pacing::default());
    let message: Value = post_messages(&server, &request_body("Hi", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["type"], "message");
}

#[tokio::test]
async fn dropping_the_server_shuts_it_down() {
    let server = start().await;
    let url = format!("{}/v1/models", server.base_url());
    drop(server);
    let client = reqwest::Client::new();
    let mut refused = false;
    for _ in 0..100 {
        if client.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the server should stop accepting connections");
}
