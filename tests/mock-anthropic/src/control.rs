//! The `/_mock/` control endpoints, for tests written in other languages:
//! enqueue and clear scripted replies, list and clear recorded requests, set
//! and read the default pacing. The routes are mounted in `server.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::server::{RequestId, Shared, error_response, json_response, lock};
use crate::{Pacing, Reply};

/// `POST /_mock/replies`: one reply spec or an array of them.
pub(crate) async fn enqueue_replies(
    State(shared): State<Arc<Shared>>,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).and_then(|value| match value {
        Value::Array(_) => serde_json::from_value::<Vec<Reply>>(value),
        other => serde_json::from_value::<Reply>(other).map(|reply| vec![reply]),
    });
    match parsed {
        Ok(replies) => {
            let mut queue = lock(&shared.replies);
            queue.extend(replies);
            json_response(StatusCode::OK, &json!({ "queued": queue.len() }))
        }
        Err(error) => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("invalid reply spec: {error}"),
            &request_id,
        ),
    }
}

/// `DELETE /_mock/replies`.
pub(crate) async fn clear_replies(State(shared): State<Arc<Shared>>) -> Response {
    let mut queue = lock(&shared.replies);
    let cleared = queue.len();
    queue.clear();
    json_response(StatusCode::OK, &json!({ "cleared": cleared }))
}

/// `GET /_mock/requests`.
pub(crate) async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests = lock(&shared.requests).clone();
    json_response(StatusCode::OK, &requests)
}

/// `DELETE /_mock/requests`.
pub(crate) async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    let mut requests = lock(&shared.requests);
    let cleared = requests.len();
    requests.clear();
    json_response(StatusCode::OK, &json!({ "cleared": cleared }))
}

/// `POST /_mock/pacing`.
pub(crate) async fn set_pacing(
    State(shared): State<Arc<Shared>>,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<Pacing>(&body) {
        Ok(pacing) => {
            *lock(&shared.pacing) = pacing;
            json_response(StatusCode::OK, &pacing)
        }
        Err(error) => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &format!("invalid pacing: {error}"),
            &request_id,
        ),
    }
}

/// `GET /_mock/pacing`.
pub(crate) async fn get_pacing(State(shared): State<Arc<Shared>>) -> Response {
    let pacing = *lock(&shared.pacing);
    json_response(StatusCode::OK, &pacing)
}
