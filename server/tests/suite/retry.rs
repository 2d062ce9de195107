//! Retries as the official SDKs do them, against the mock server, on a
//! fake clock (every wait is recorded, none is spent): `x-should-retry`
//! obeyed, 408/409/429/5xx and connection failures retried twice, waits
//! from `retry-after-ms` / `retry-after` (seconds or HTTP date) within
//! 0–60 s, else exponential backoff; and never a retry once any of the
//! reply has been shown.

use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::Reply;
use kestrel_server::llm::{CompletionEvent, LlmError};
use kestrel_server::provider::{Provider, complete};
use kestrel_shared::{ContentBlock, ErrorKind};
use pretty_assertions::assert_eq;

use super::common::mock;
use super::conformance::{key, request};
use super::fake_clock::{client_with_fake_clock, fake_now};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn fails_twice_then_succeeds_with_backoff_waits() {
    let server = mock().await;
    server.push_replies([
        Reply::overloaded(),
        Reply::api_error(),
        Reply::text("Third time."),
    ]);
    let (client, clock) = client_with_fake_clock(&server.base_url());
    let mut stream = Provider::stream(&client, Some(&key()), &request("hi"));
    let mut retrying = Vec::new();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        if let CompletionEvent::Retrying {
            attempt,
            delay,
            error,
        } = &event
        {
            retrying.push((*attempt, *delay, error.kind));
        }
        events.push(event);
    }
    assert_eq!(
        retrying,
        [
            (1, Duration::from_millis(500), ErrorKind::Overloaded),
            (2, SECOND, ErrorKind::ProviderError)
        ]
    );
    assert_eq!(clock.slept(), [Duration::from_millis(500), SECOND]);
    assert_eq!(server.requests().len(), 3);
    // The three attempts sent the same body.
    let bodies: Vec<_> = server.requests().into_iter().map(|r| r.body).collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let text: String = events
        .iter()
        .filter_map(|event| match event {
            CompletionEvent::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Third time.");
}

#[tokio::test]
async fn gives_up_after_two_retries_with_the_last_error() {
    let server = mock().await;
    server.push_replies([Reply::status(500), Reply::status(503), Reply::status(529)]);
    let (client, clock) = client_with_fake_clock(&server.base_url());
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert!(matches!(failed.error, LlmError::Status { status: 529, .. }));
    assert_eq!(failed.partial.retries, 2);
    assert_eq!(clock.slept().len(), 2);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn only_retryable_statuses_are_retried() {
    for status in [408, 409, 429, 500, 504, 529] {
        let server = mock().await;
        server.push_replies([Reply::status(status), Reply::text("ok")]);
        let (client, _) = client_with_fake_clock(&server.base_url());
        let done = complete(Provider::stream(&client, Some(&key()), &request("hi"))).await;
        assert_eq!(done.unwrap().retries, 1, "{status}");
    }
    for status in [400, 401, 402, 403, 404, 413] {
        let server = mock().await;
        server.push_replies([Reply::status(status), Reply::text("ok")]);
        let (client, clock) = client_with_fake_clock(&server.base_url());
        let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
            .await
            .unwrap_err();
        assert!(matches!(failed.error, LlmError::Status { status: s, .. } if s == status));
        assert_eq!(
            (server.requests().len(), clock.slept().len()),
            (1, 0),
            "{status}"
        );
    }
}

#[tokio::test]
async fn x_should_retry_overrides_the_status() {
    let server = mock().await;
    server.push_replies([
        Reply::overloaded().with_should_retry(false),
        Reply::text("no"),
    ]);
    let (client, _) = client_with_fake_clock(&server.base_url());
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::Overloaded);
    assert_eq!(server.requests().len(), 1);

    server.clear_replies();
    server.push_replies([
        Reply::status(400).with_should_retry(true),
        Reply::text("yes"),
    ]);
    let done = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(done.retries, 1);
}

#[tokio::test]
async fn the_wait_comes_from_retry_after_headers_within_sixty_seconds() {
    let server = mock().await;
    let date = httpdate::fmt_http_date(fake_now() + Duration::from_secs(30));
    server.push_replies([
        Reply::rate_limited(7).with_retry_after_ms(1234),
        Reply::rate_limited(7),
        Reply::status(429).with_header("retry-after", date),
        Reply::text("finally"),
    ]);
    let (client, clock) = client_with_fake_clock(&server.base_url());
    let client = client.with_retry(kestrel_server::provider::retry::RetryPolicy {
        max_retries: 3,
        jitter: false,
        ..Default::default()
    });
    complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(
        clock.slept(),
        [Duration::from_millis(1234), 7 * SECOND, 30 * SECOND]
    );

    // Beyond sixty seconds the header is not obeyed; the backoff is.
    server.push_replies([Reply::rate_limited(600), Reply::text("ok")]);
    let (client, clock) = client_with_fake_clock(&server.base_url());
    complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(clock.slept(), [Duration::from_millis(500)]);
}

#[tokio::test]
async fn connection_failures_are_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (client, clock) = client_with_fake_clock(&format!("http://127.0.0.1:{port}"));
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert!(matches!(failed.error, LlmError::Connect { .. }));
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::Network);
    assert_eq!(clock.slept(), [Duration::from_millis(500), SECOND]);
}

#[tokio::test]
async fn a_connection_dropped_before_any_text_is_retried() {
    let server = mock().await;
    server.push_replies([Reply::drop_connection(""), Reply::text("Second try.")]);
    let (client, _) = client_with_fake_clock(&server.base_url());
    let done = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(done.content, vec![ContentBlock::text("Second try.")]);
    assert_eq!(done.retries, 1);
}

#[tokio::test]
async fn nothing_is_retried_once_text_was_shown() {
    let server = mock().await;
    server.push_replies([
        Reply::mid_stream_error("Partial answer"),
        Reply::text("must not be fetched"),
    ]);
    let (client, clock) = client_with_fake_clock(&server.base_url());
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert_eq!(
        failed.partial.content,
        vec![ContentBlock::text("Partial answer")]
    );
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::Overloaded);
    assert_eq!((server.requests().len(), clock.slept().len()), (1, 0));

    server.clear_replies();
    server.push_replies([Reply::drop_connection("Half a"), Reply::text("no")]);
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert!(matches!(failed.error, LlmError::EndedEarly));
    assert_eq!(failed.partial.content, vec![ContentBlock::text("Half a")]);
    assert_eq!(server.requests().len(), 2);
}
