//! What the provider can send wrong: each case gives a clear typed error,
//! never a panic or a hang, and the text that had arrived is kept. Also the
//! timeouts and cancellation of a running request.

use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::{Pacing, Reply};
use kestrel_server::anthropic::{AnthropicClient, MAX_EVENT_BYTES};
use kestrel_server::llm::{CompletionEvent, LlmError};
use kestrel_server::provider::retry::RetryPolicy;
use kestrel_server::provider::{Provider, complete};
use kestrel_shared::{ContentBlock, ErrorKind};
use pretty_assertions::assert_eq;

use super::common::mock;
use super::conformance::{key, request};

fn client(base_url: &str) -> AnthropicClient {
    AnthropicClient::new(base_url)
        .unwrap()
        .with_retry(RetryPolicy::never())
        .with_idle_timeout(Duration::from_secs(10))
}

const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Kept\"}}\n\n";

#[tokio::test]
async fn a_200_with_an_html_body_is_a_typed_error() {
    let server = mock().await;
    server.push_reply(Reply::raw(
        200,
        "text/html; charset=utf-8",
        "<html><body><h1>Welcome to Hotel Wi-Fi</h1></body></html>",
    ));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    let LlmError::UnexpectedBody {
        content_type,
        snippet,
        request_id,
    } = &failed.error
    else {
        panic!("{:?}", failed.error);
    };
    assert_eq!(content_type, "text/html");
    assert!(snippet.contains("Hotel Wi-Fi"), "{snippet}");
    assert!(
        request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("req_"))
    );
    let shown = failed.error.to_kestrel();
    assert_eq!(shown.kind, ErrorKind::ProviderError);
    assert!(shown.message.contains("text/html"), "{}", shown.message);
}

#[tokio::test]
async fn a_gzip_body_is_a_typed_error_with_or_without_its_header() {
    let gzip_magic = vec![
        0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0x4b, 0x4c, 0x4a,
    ];
    let server = mock().await;
    server.push_reply(
        Reply::raw_bytes(200, "text/event-stream", gzip_magic.clone())
            .with_header("content-encoding", "gzip"),
    );
    server.push_reply(Reply::raw_bytes(200, "text/event-stream", gzip_magic));
    for _ in 0..2 {
        let failed = complete(Provider::stream(
            &client(&server.base_url()),
            Some(&key()),
            &request("hi"),
        ))
        .await
        .unwrap_err();
        assert!(
            matches!(&failed.error, LlmError::UnexpectedBody { content_type, .. } if content_type.contains("gzip")),
            "{:?}",
            failed.error
        );
    }
}

#[tokio::test]
async fn a_ten_megabyte_event_is_refused_and_earlier_text_kept() {
    let server = mock().await;
    let huge = "x".repeat(10 * 1024 * 1024);
    let sse = format!(
        "{START}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{huge}\"}}}}\n\n"
    );
    server.push_reply(Reply::replay(sse));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(failed.error, LlmError::EventTooLarge { limit } if limit == MAX_EVENT_BYTES),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.partial.content, vec![ContentBlock::text("Kept")]);
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::StreamInterrupted);
}

#[tokio::test]
async fn malformed_json_and_unknown_indexes_keep_the_text() {
    let server = mock().await;
    server.push_reply(Reply::replay(format!(
        "{START}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\n\n"
    )));
    server.push_reply(Reply::replay(format!(
        "{START}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":9,\"delta\":{{\"type\":\"text_delta\",\"text\":\"x\"}}}}\n\n"
    )));
    for expected in [
        "stream event: content_block_delta event",
        "block 9, which never started",
    ] {
        let failed = complete(Provider::stream(
            &client(&server.base_url()),
            Some(&key()),
            &request("hi"),
        ))
        .await
        .unwrap_err();
        assert!(
            failed.error.to_string().contains(expected),
            "{expected}: {}",
            failed.error
        );
        assert_eq!(failed.partial.content, vec![ContentBlock::text("Kept")]);
    }
}

#[tokio::test]
async fn a_stream_cut_mid_event_ends_early_with_the_text_kept() {
    let server = mock().await;
    server.push_reply(Reply::replay(format!(
        "{START}event: content_block_delta\ndata: {{\"type\":\"content_blo"
    )));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(failed.error, LlmError::EndedEarly),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.partial.content, vec![ContentBlock::text("Kept")]);
}

#[tokio::test]
async fn a_silent_stream_times_out_instead_of_hanging() {
    let server = mock().await;
    server.push_reply(
        Reply::text("never arrives").with_pacing(Pacing::new(Duration::from_secs(30), None)),
    );
    let client = client(&server.base_url()).with_idle_timeout(Duration::from_millis(200));
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert!(
        matches!(failed.error, LlmError::IdleTimeout { .. }),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::Timeout);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection_mid_reply() {
    let server = mock().await;
    let long = "word ".repeat(400);
    server.push_reply(Reply::text(long).with_pacing(Pacing::new(Duration::ZERO, Some(50.0))));
    let client = client(&server.base_url());
    let mut stream = Provider::stream(&client, Some(&key()), &request("hi"));
    loop {
        match stream.next().await.unwrap().unwrap() {
            CompletionEvent::Text { .. } => break,
            _ => continue,
        }
    }
    assert_eq!(server.dropped_bodies(), 0);
    drop(stream);
    // The server sees the connection close long before the reply's eight
    // seconds are up.
    tokio::time::timeout(Duration::from_secs(5), async {
        while server.dropped_bodies() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the request was not stopped");
}
