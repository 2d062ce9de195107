//! `GET /v1/models` as the API serves it: newest first, paginated with
//! `limit` (1–1000, default 20), `after_id` and `before_id`, every model
//! with its limits and its `capabilities` object. A request with a bearer
//! token and no `anthropic-version` gets OpenAI's shape instead
//! (`{"object": "list", "data": [{"id", "object", "created", "owned_by"}]}`).
//!
//! The ids come from [`crate::MockConfig::models`]; the rest is derived so
//! tests can steer it: an id containing `-4-6`, `-4-7` or `adaptive` lists
//! adaptive thinking (and no budget thinking), an id containing `haiku-3`
//! or `no-thinking` lists no thinking, an id containing `text-only` lists no
//! image input; every model has a 200 000-token window and 64 000 output
//! tokens, except `-1m` ids (1 000 000) .

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::server::{RequestId, Shared, check_headers, error_response, json_response};

/// The default page size of the real API.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1000;

/// `GET /v1/models`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !headers.contains_key("anthropic-version") && bearer == Some(shared.api_key.as_str()) {
        return openai_list(&shared.models);
    }
    if let Some(response) = check_headers(&shared, &headers, &request_id) {
        return response;
    }
    let limit = match query.get("limit").map(|v| v.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "limit: Input should be between 1 and 1000",
                &request_id,
            );
        }
    };
    let ids = &shared.models;
    let position = |id: &String| ids.iter().position(|m| m == id);
    let (start, end) = match (query.get("after_id"), query.get("before_id")) {
        (Some(after), _) => {
            let start = position(after).map_or(ids.len(), |i| i + 1);
            (start, (start + limit).min(ids.len()))
        }
        (None, Some(before)) => {
            let end = position(before).unwrap_or(0);
            (end.saturating_sub(limit), end)
        }
        (None, None) => (0, limit.min(ids.len())),
    };
    let page = &ids[start..end];
    let data: Vec<Value> = page
        .iter()
        .map(|id| model(id, position(id).unwrap_or_default()))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "data": data,
            "has_more": end < ids.len(),
            "first_id": page.first(),
            "last_id": page.last(),
        }),
    )
}

/// The OpenAI-compatible form, for a client that sent a bearer token and
/// no `anthropic-version`: ids only, no limits, no pages.
fn openai_list(ids: &[String]) -> Response {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_760_000_000, "owned_by": "kestrel-mock"}))
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

/// One model object; `rank` is its place in the list (0 is newest).
fn model(id: &str, rank: usize) -> Value {
    // Newest first: each later model a month older.
    let month = 9_usize.saturating_sub(rank % 9);
    let adaptive = ["-4-6", "-4-7", "adaptive"].iter().any(|m| id.contains(m));
    let thinking = !["haiku-3", "no-thinking"].iter().any(|m| id.contains(m));
    let images = !id.contains("text-only");
    let window: u64 = if id.contains("-1m") {
        1_000_000
    } else {
        200_000
    };
    let supported = |yes: bool| json!({ "supported": yes });
    json!({
        "type": "model",
        "id": id,
        "display_name": display_name(id),
        "created_at": format!("2025-{month:02}-29T00:00:00Z"),
        "max_input_tokens": window,
        "max_tokens": 64_000,
        "capabilities": {
            "batch": supported(true),
            "citations": supported(true),
            "code_execution": supported(false),
            "image_input": supported(images),
            "pdf_input": supported(images),
            "structured_outputs": supported(true),
            "thinking": {
                "supported": thinking,
                "types": {
                    "adaptive": supported(thinking && adaptive),
                    "disabled": supported(true),
                    "enabled": supported(thinking && !adaptive),
                }
            }
        }
    })
}

/// `claude-sonnet-4-5` → `Claude Sonnet 4.5`; date suffixes are dropped.
fn display_name(id: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut previous_numeric = false;
    for part in id.split('-') {
        let numeric = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
        if numeric && part.len() >= 8 {
            continue;
        }
        match words.last_mut() {
            Some(last) if numeric && previous_numeric => {
                last.push('.');
                last.push_str(part);
            }
            _ => {
                let mut chars = part.chars();
                let word = chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default();
                words.push(word);
            }
        }
        previous_numeric = numeric;
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn display_names_read_well() {
        assert_eq!(display_name("claude-sonnet-4-5"), "Claude Sonnet 4.5");
        assert_eq!(display_name("claude-haiku-4-5"), "Claude Haiku 4.5");
        assert_eq!(display_name("claude-opus-4-1-20250805"), "Claude Opus 4.1");
        assert_eq!(
            display_name("claude-3-5-haiku-20241022"),
            "Claude 3.5 Haiku"
        );
    }

    #[test]
    fn capabilities_follow_the_id() {
        let adaptive = model("claude-opus-4-6", 0);
        assert_eq!(
            adaptive["capabilities"]["thinking"]["types"]["adaptive"]["supported"],
            true
        );
        assert_eq!(
            adaptive["capabilities"]["thinking"]["types"]["enabled"]["supported"],
            false
        );
        let plain = model("claude-text-only-no-thinking", 3);
        assert_eq!(plain["capabilities"]["thinking"]["supported"], false);
        assert_eq!(plain["capabilities"]["image_input"]["supported"], false);
        assert_eq!(plain["created_at"], "2025-06-29T00:00:00Z");
    }
}
