//! The OpenAI-compatible mode: `POST /v1/chat/completions` as OpenAI,
//! Ollama, llama.cpp's server and vLLM serve it, so Kestrel's
//! OpenAI-compatible provider is tested against the same scripted replies.
//!
//! Auth is `Authorization: Bearer <api key>`. Streamed replies are
//! `data: {chunk}` lines ending with `data: [DONE]`: the role first, text as
//! `content` deltas (one word each), thinking as `reasoning_content`
//! deltas, tool calls as `tool_calls` deltas (id and name first, then the
//! arguments in fragments), a chunk with the `finish_reason`, and, when the
//! request set `stream_options.include_usage`, a last chunk with `usage`
//! and no choices. Errors use OpenAI's body,
//! `{"error": {"message", "type", "param", "code"}}`; a mid-stream error is
//! a `data: {"error": …}` line. Replay and raw replies send their bytes as
//! they are.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::reply::{Block, Reply, default_reply_text, estimate_tokens, split_json, split_words};
use crate::server::{Shared, add_headers, json_response, last_user_text, lock, new_id};
use crate::stream::{Pacer, Plan, replay_plan};

/// An OpenAI error response.
fn error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

fn sse(plan: Plan, shared: &Shared) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        plan.into_body(Arc::clone(&shared.dropped_bodies)),
    )
        .into_response()
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(shared.api_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            "We could not parse the JSON body of your request.",
        );
    };
    let Some(model) = request.get("model").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("missing_required_parameter"),
            "you must provide a model parameter",
        );
    };
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("missing_required_parameter"),
            "you must provide a messages parameter",
        );
    };
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let reply = lock(&shared.replies)
        .pop_front()
        .unwrap_or_else(|| Reply::text(default_reply_text(&last_user_text(messages))));
    let pacing = reply.pacing().unwrap_or_else(|| *lock(&shared.pacing));
    let prompt_tokens = estimate_tokens(body.len());
    let (blocks, failure, drop) = match reply {
        Reply::Error {
            status,
            error_type,
            message,
            retry_after,
            retry_after_ms,
            should_retry,
            headers,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = error(status, &error_type, Some(&error_type), &message);
            let mut extra = headers;
            if let Some(seconds) = retry_after {
                extra.insert("retry-after".into(), seconds.to_string());
            }
            if let Some(ms) = retry_after_ms {
                extra.insert("retry-after-ms".into(), ms.to_string());
            }
            if let Some(retry) = should_retry {
                extra.insert("x-should-retry".into(), retry.to_string());
            }
            let _ = add_headers(&mut response, &extra);
            return response;
        }
        Reply::Replay { sse: raw, .. } => {
            return sse(replay_plan(raw.as_bytes(), pacing), &shared);
        }
        Reply::ReplayFile { path, .. } => match tokio::fs::read(&path).await {
            Ok(raw) => return sse(replay_plan(&raw, pacing), &shared),
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    None,
                    &format!("cannot read {}: {e}", path.display()),
                );
            }
        },
        Reply::Raw {
            status,
            headers,
            body,
            body_bytes,
            ..
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let bytes = if body_bytes.is_empty() {
                body.into_bytes()
            } else {
                body_bytes
            };
            let mut response = (status, Body::from(bytes)).into_response();
            let _ = add_headers(&mut response, &headers);
            return response;
        }
        Reply::Text { text, .. } => (vec![Block::text(text)], None, false),
        Reply::Blocks { blocks, .. } => (blocks, None, false),
        Reply::MidStreamError {
            text,
            error_type,
            message,
            ..
        } => (vec![Block::text(text)], Some((error_type, message)), false),
        Reply::DropConnection { text, .. } => (vec![Block::text(text)], None, true),
    };
    let id = format!("chatcmpl-{}", new_id(""));
    let output_chars: usize = blocks
        .iter()
        .map(|b| match b {
            Block::Text { text } => text.chars().count(),
            Block::Thinking { thinking, .. } => thinking.chars().count(),
            Block::ToolUse { input, .. } => input.to_string().chars().count(),
        })
        .sum();
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": estimate_tokens(output_chars),
        "total_tokens": prompt_tokens + estimate_tokens(output_chars),
        "prompt_tokens_details": {"cached_tokens": 0}
    });
    let has_tools = blocks.iter().any(|b| matches!(b, Block::ToolUse { .. }));
    let finish = if has_tools { "tool_calls" } else { "stop" };
    if !stream {
        let mut text = String::new();
        let mut calls = Vec::new();
        for block in &blocks {
            match block {
                Block::Text { text: t } => text.push_str(t),
                Block::Thinking { .. } => {}
                Block::ToolUse { id, name, input } => calls.push(json!({
                    "id": id.clone().unwrap_or_else(|| new_id("call_")),
                    "type": "function",
                    "function": {"name": name, "arguments": input.to_string()}
                })),
            }
        }
        let mut message = json!({"role": "assistant", "content": text});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        return json_response(
            StatusCode::OK,
            &json!({
                "id": id, "object": "chat.completion", "created": 1_760_000_000, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }),
        );
    }
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": 1_760_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
    };
    let mut plan = Plan::default();
    let mut pacer = Pacer::new(pacing);
    let push = |plan: &mut Plan, value: &Value| {
        plan.push(format!("data: {value}\n\n").as_bytes());
    };
    push(
        &mut plan,
        &chunk(json!({"role": "assistant", "content": ""}), None),
    );
    let mut tool_index = 0;
    for block in &blocks {
        match block {
            Block::Text { text } => {
                for piece in split_words(text) {
                    pacer.before_delta(&mut plan);
                    push(&mut plan, &chunk(json!({"content": piece}), None));
                }
            }
            Block::Thinking { thinking, .. } => {
                for piece in split_words(thinking) {
                    pacer.before_delta(&mut plan);
                    push(&mut plan, &chunk(json!({"reasoning_content": piece}), None));
                }
            }
            Block::ToolUse { id, name, input } => {
                let call_id = id.clone().unwrap_or_else(|| new_id("call_"));
                let arguments = input.to_string();
                push(
                    &mut plan,
                    &chunk(
                        json!({"tool_calls": [{"index": tool_index, "id": call_id, "type": "function",
                            "function": {"name": name, "arguments": ""}}]}),
                        None,
                    ),
                );
                for piece in split_json(&arguments).into_iter().skip(1) {
                    pacer.before_delta(&mut plan);
                    push(
                        &mut plan,
                        &chunk(
                            json!({"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]}),
                            None,
                        ),
                    );
                }
                tool_index += 1;
            }
        }
    }
    if let Some((kind, message)) = failure {
        push(
            &mut plan,
            &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
        );
        return sse(plan, &shared);
    }
    if drop {
        plan.abort_at_end();
        return sse(plan, &shared);
    }
    push(&mut plan, &chunk(json!({}), Some(finish)));
    if include_usage {
        push(
            &mut plan,
            &json!({"id": id, "object": "chat.completion.chunk", "created": 1_760_000_000,
                    "model": model, "choices": [], "usage": usage}),
        );
    }
    plan.push(b"data: [DONE]\n\n");
    sse(plan, &shared)
}
