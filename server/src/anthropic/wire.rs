//! The Anthropic Messages API wire format, mirrored exactly: the request
//! body, the SSE stream events and the error body. Unknown event, block and
//! delta types are kept as raw JSON, never fatal: the API adds new ones.

use serde::{Deserialize, Serialize};

use kestrel_shared::{ContentBlock, Role, StopReason, Usage};

/// The body of `POST /v1/messages`.
#[derive(Debug, Serialize)]
pub struct MessagesRequest<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub system: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    pub stream: bool,
}

#[derive(Debug, Serialize)]
pub struct WireMessage<'a> {
    pub role: Role,
    pub content: &'a [ContentBlock],
}

/// One SSE event of a streamed reply, keyed by its `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
}

/// The event names [`StreamEvent`] knows. Any other name is an unknown
/// event and is skipped rather than failing the reply.
pub const KNOWN_EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

#[derive(Debug, Deserialize)]
pub struct MessageStart {
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// The block a `content_block_start` opens.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    /// Server tool blocks and kinds added after this was written.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    CitationsDelta {
        citation: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct MessageDeltaBody {
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
}

/// Usage as the API sends it: every field optional, because
/// `message_delta` carries only what changed.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct WireUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Folds this report into `total`. Reports are cumulative, so present
    /// fields replace earlier values.
    pub fn apply_to(&self, total: &mut Usage) {
        if let Some(n) = self.input_tokens {
            total.input_tokens = n;
        }
        if let Some(n) = self.output_tokens {
            total.output_tokens = n;
        }
        if let Some(n) = self.cache_creation_input_tokens {
            total.cache_creation_input_tokens = n;
        }
        if let Some(n) = self.cache_read_input_tokens {
            total.cache_read_input_tokens = n;
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub error_type: String,
    #[serde(default)]
    pub message: String,
}

/// The body of an HTTP error response.
#[derive(Debug, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn request_body_matches_the_api() {
        let content = [ContentBlock::text("hi")];
        let request = MessagesRequest {
            model: "claude-sonnet-4-5",
            max_tokens: 1024,
            system: "be brief",
            messages: vec![WireMessage {
                role: Role::User,
                content: &content,
            }],
            stream: true,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "system": "be brief",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                "stream": true
            })
        );
    }

    #[test]
    fn unknown_blocks_and_deltas_parse_as_other() {
        let event: StreamEvent = serde_json::from_value(json!({
            "type": "content_block_start", "index": 2,
            "content_block": {"type": "web_search_tool_result", "tool_use_id": "x", "content": []}
        }))
        .unwrap();
        assert!(matches!(
            event,
            StreamEvent::ContentBlockStart {
                index: 2,
                content_block: StartBlock::Other
            }
        ));
        let event: StreamEvent = serde_json::from_value(json!({
            "type": "content_block_delta", "index": 0, "delta": {"type": "brand_new_delta", "x": 1}
        }))
        .unwrap();
        assert!(matches!(
            event,
            StreamEvent::ContentBlockDelta {
                delta: Delta::Other,
                ..
            }
        ));
    }
}
