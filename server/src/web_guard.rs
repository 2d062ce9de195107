//! The web server's front door: one middleware in front of every route of
//! `kestrel serve` (pages, assets and server functions), in this order:
//!
//! 1. **Host** must name this server ([`hosts::HostPolicy`]): defeats DNS
//!    rebinding. Else 403.
//! 2. **Origin** of a request that changes something must be this server's
//!    own ([`hosts::origin_allowed`]): defeats CSRF. Else 403.
//! 3. **Size**: a body over the limit is refused with 413 before any
//!    handler reads it (the framework's body reader panics on an over-limit
//!    body, so it must never see one).
//! 4. **Access token** when bound beyond loopback ([`access`]): pages get
//!    the login page, everything else 401.
//! 5. **Rate limit** on the chat endpoint per client ([`rate_limit`]): 429
//!    with a `retry-after` and an error event the UI shows.
//! 6. **Bad input** the framework rejects (malformed or mistyped JSON,
//!    missing arguments) leaves as 400 with a [`KestrelError`], not 500;
//!    a panicking handler becomes a plain 500 with no trace.
//! 7. **Headers** on every response ([`headers`]): a strict CSP (with a
//!    per-response nonce on pages), `nosniff`, a same-origin referrer policy, no framing.
//!
//! The desktop app does not use any of this: it serves no backend at all.

pub mod access;
pub mod headers;
pub mod hosts;
pub mod rate_limit;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::Bytes;
use dioxus::server::axum::body::{Body, to_bytes};
use dioxus::server::axum::extract::{ConnectInfo, Request, State};
use dioxus::server::axum::middleware::{self, Next};
use dioxus::server::axum::response::Response;
use dioxus::server::axum::{self, Router};
pub(crate) use dioxus::server::http;
use futures::{FutureExt, StreamExt};
use http::{HeaderValue, Method, StatusCode, header};
use kestrel_shared::{ChatEvent, ErrorKind, KestrelError};

use access::TokenHash;
use hosts::HostPolicy;
use rate_limit::ChatLimiter;

/// The chat server function's path.
pub const CHAT_PATH: &str = "/api/v1/chat";
/// The login form's path (only when an access token is required).
pub const LOGIN_PATH: &str = "/login";
/// The largest error body that is read to be rewritten.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How the guard is set up.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The address the server listens on.
    pub bound: SocketAddr,
    /// Host names (besides the bound address) requests may name.
    pub extra_hosts: Vec<String>,
    /// Origins (besides the server's own) that may send requests that change
    /// something: a proxy in front that rewrites `Host`, such as `dx serve`.
    pub trusted_origins: Vec<String>,
    /// Required beyond loopback: the access token's hash.
    pub access: Option<TokenHash>,
    pub chat_per_minute: NonZeroU32,
    /// The largest request body accepted.
    pub body_limit: usize,
}

#[derive(Debug)]
struct Guard {
    hosts: HostPolicy,
    trusted_origins: Vec<String>,
    access: Option<TokenHash>,
    chat: ChatLimiter,
    body_limit: usize,
}

/// Puts the guard in front of every route of `router`. Serve the result
/// with `into_make_service_with_connect_info::<SocketAddr>()` so the rate
/// limit knows each client.
pub fn protect(router: Router, config: GuardConfig) -> Router {
    let guard = Arc::new(Guard {
        hosts: HostPolicy::new(config.bound, config.extra_hosts),
        trusted_origins: config.trusted_origins,
        access: config.access,
        chat: ChatLimiter::per_minute(config.chat_per_minute),
        body_limit: config.body_limit,
    });
    router.layer(middleware::from_fn_with_state(guard, guard_request))
}

async fn guard_request(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = match admit(&guard, request).await {
        Ok(request) => run(request, next, api).await,
        Err(refusal) => refusal,
    };
    finish(&mut response, api).await;
    response
}

/// Steps 1–5: the request as the handler may see it, or the refusal.
async fn admit(guard: &Guard, request: Request) -> Result<Request, Response> {
    let headers = request.headers();
    // HTTP/2 carries the host in the URI's authority instead.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if !guard.hosts.allows(&host) {
        tracing::warn!(host = %host.chars().take(100).collect::<String>(), "refused a request for another host");
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "This server does not answer to that host name.",
        ));
    }
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes
        && !hosts::origin_allowed(
            header_str(headers, header::ORIGIN.as_str()),
            header_str(headers, "sec-fetch-site"),
            &host,
            &guard.trusted_origins,
        )
    {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin request");
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Requests from other sites are refused.",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > guard.body_limit) {
        let limit = guard.body_limit;
        drain(request.into_body(), limit).await;
        return Err(too_large(limit));
    }

    let path = request.uri().path().to_owned();
    if let Some(hash) = &guard.access {
        if path == LOGIN_PATH {
            return Err(login(hash, request, guard.body_limit).await);
        }
        let known = access::presented_token(request.headers()).is_some_and(|t| hash.matches(t));
        if !known {
            return Err(sign_in_first(&request));
        }
    }

    if path == CHAT_PATH && request.method() == Method::POST {
        let client = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        if let Some(client) = client
            && let Err(wait) = guard.chat.check(client)
        {
            tracing::warn!(%client, wait_secs = wait.as_secs(), "chat rate limit reached");
            return Err(rate_limited(wait.as_secs().max(1)));
        }
    }

    if !changes {
        return Ok(request);
    }
    // Read the whole body now, under the limit, so no handler meets an
    // over-limit or endless body.
    let (parts, body) = request.into_parts();
    match read_limited(body, guard.body_limit).await {
        Some(bytes) => Ok(Request::from_parts(parts, Body::from(bytes))),
        None => Err(too_large(guard.body_limit)),
    }
}

/// The whole body if it fits in `limit`; else `None`, after reading on
/// (see [`drain`]) so the client is still listening for the answer.
async fn read_limited(body: Body, limit: usize) -> Option<Bytes> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if buffer.len() + chunk.len() > limit {
            drain_stream(stream, limit).await;
            return None;
        }
        buffer.extend_from_slice(&chunk);
    }
    Some(Bytes::from(buffer))
}

/// Reads and drops up to `4 × limit` more bytes of a refused body. A
/// client still sending when the answer comes (browsers, most HTTP
/// libraries) sees a reset instead of the 413; past this much the
/// connection is closed anyway.
async fn drain(body: Body, limit: usize) {
    drain_stream(body.into_data_stream(), limit).await;
}

async fn drain_stream(mut stream: axum::body::BodyDataStream, limit: usize) {
    let mut read = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > limit.saturating_mul(4) {
            break;
        }
    }
}

/// Runs the handler; a panic becomes a plain 500, and the framework's own
/// 500 for unreadable arguments becomes the 400 it is.
async fn run(request: Request, next: Next, api: bool) -> Response {
    let response = match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a request handler panicked");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server; the log has details.",
            );
        }
    };
    if api && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return bad_arguments_as_400(response).await;
    }
    if api && response.status() == StatusCode::METHOD_NOT_ALLOWED {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "There is no such API endpoint for this method.",
        );
    }
    if api && is_html(&response) {
        // No server function has this path; the app's page is not an answer.
        return refuse(StatusCode::NOT_FOUND, "There is no such API endpoint.");
    }
    response
}

/// Dioxus answers arguments it cannot deserialize with a 500 and no
/// details; our own errors always carry details. Turns the former into 400.
async fn bad_arguments_as_400(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
    };
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let has_details = parsed.as_ref().is_some_and(|v| v.get("details").is_some());
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let unreadable = ["error deserializing server function", "missing argument"]
        .iter()
        .any(|prefix| message.starts_with(prefix));
    if has_details || !unreadable {
        return Response::from_parts(parts, Body::from(bytes));
    }
    tracing::info!("refused a server-function call with unreadable arguments");
    // "error deserializing server function results: <what serde said>"
    let detail = message
        .split_once(": ")
        .map_or(message, |(_, detail)| detail);
    let error = KestrelError::new(
        ErrorKind::BadInput,
        format!("The request could not be read: {detail}"),
    );
    json_error(StatusCode::BAD_REQUEST, error)
}

/// Step 7: headers, and the nonce on pages.
async fn finish(response: &mut Response, api: bool) {
    if !is_html(response)
        || response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        headers::apply(response.headers_mut(), headers::RESOURCE_CSP, api);
        return;
    }
    let body = std::mem::replace(response.body_mut(), Body::empty());
    let page = match (
        headers::new_nonce(),
        to_bytes(body, headers::MAX_HTML_BYTES).await,
    ) {
        (Some(nonce), Ok(bytes)) => {
            let text = String::from_utf8_lossy(&bytes);
            Some((headers::page_csp(&nonce), headers::add_nonce(&text, &nonce)))
        }
        _ => None,
    };
    match page {
        Some((csp, html)) => {
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.body_mut() = Body::from(html);
            headers::apply(response.headers_mut(), &csp, api);
        }
        None => {
            *response = refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be sent.",
            );
            headers::apply(response.headers_mut(), headers::RESOURCE_CSP, api);
        }
    }
}

/// `POST /login` checks the form's token and sets the cookie; `GET` shows
/// the form.
async fn login(hash: &TokenHash, request: Request, limit: usize) -> Response {
    if request.method() != Method::POST {
        return login_page(StatusCode::OK, false);
    }
    let body = to_bytes(request.into_body(), limit)
        .await
        .unwrap_or_default();
    let Some(token) = access::form_token(&body).filter(|t| hash.matches(t)) else {
        tracing::warn!("a sign-in with a wrong token");
        return login_page(StatusCode::UNAUTHORIZED, true);
    };
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000",
        access::COOKIE,
        token.trim()
    );
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Without the token: the login page for a browser asking for a page,
/// 401 for everything else.
fn sign_in_first(request: &Request) -> Response {
    let wants_page = request.method() == Method::GET
        && !request.uri().path().starts_with("/api/")
        && header_str(request.headers(), header::ACCEPT.as_str())
            .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        return login_page(StatusCode::UNAUTHORIZED, false);
    }
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        KestrelError::new(
            ErrorKind::BadInput,
            "This server needs its access token (Authorization: Bearer, or sign in at /login).",
        ),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"kestrel\""),
    );
    response
}

fn login_page(status: StatusCode, failed: bool) -> Response {
    let mut response = Response::new(Body::from(access::login_page(failed)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(headers::LOGIN_CSP),
    );
    response
}

/// The chat endpoint's 429: its body is an error event, which is what the
/// UI reads from that endpoint.
fn rate_limited(wait_secs: u64) -> Response {
    let error = KestrelError::new(
        ErrorKind::RateLimited,
        format!("Too many messages from this client; try again in {wait_secs} s."),
    )
    .with_retry_after(wait_secs);
    let line = kestrel_shared::frame::encode_event(&ChatEvent::Error {
        error,
        message: None,
    });
    let mut response = Response::new(Body::from(line));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(value) = HeaderValue::from_str(&wait_secs.to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

fn too_large(limit: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        KestrelError::new(
            ErrorKind::BadInput,
            format!(
                "The request is larger than {} MiB (or was cut off).",
                limit / (1024 * 1024)
            ),
        ),
    )
}

/// A refusal in the shape server functions use for errors.
fn json_error(status: StatusCode, error: KestrelError) -> Response {
    let body = serde_json::json!({ "error": error.message, "details": error });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    let kind = if status.is_server_error() {
        ErrorKind::Internal
    } else {
        ErrorKind::BadInput
    };
    json_error(status, KestrelError::new(kind, message))
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
