//! The API's JSON shapes and SSE event builders: the Message object, its
//! usage, the streaming events (`message_start` … `message_stop`, `ping`,
//! `error`) and the error body. Structs keep the API's field order (`type`
//! first), so the bytes look like the real service's.

use serde::Serialize;

/// `usage` of a Message (and of `message_start`).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens,
        }
    }
}

/// The Message object, streamed (empty content) or whole.
#[derive(Debug, Serialize)]
pub(crate) struct Message<'a, C: Serialize> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: C,
    pub stop_reason: Option<&'a str>,
    pub stop_sequence: Option<&'a str>,
    pub usage: Usage,
}

impl<'a, C: Serialize> Message<'a, C> {
    pub fn new(
        id: &'a str,
        model: &'a str,
        content: C,
        stop_reason: Option<&'a str>,
        usage: Usage,
    ) -> Self {
        Self {
            id,
            kind: "message",
            role: "assistant",
            model,
            content,
            stop_reason,
            stop_sequence: None,
            usage,
        }
    }
}

/// A fully known content block, as in a non-streamed Message.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum FullBlock<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a serde_json::Value,
    },
}

/// The `content_block` of `content_block_start`: the block with its content
/// still empty.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StartBlock<'a> {
    Text {
        text: &'static str,
    },
    Thinking {
        thinking: &'static str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: serde_json::Map<String, serde_json::Value>,
    },
}

/// The `delta` of `content_block_delta`.
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub(crate) enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

/// The `delta` of `message_delta`.
#[derive(Debug, Serialize)]
pub(crate) struct StopDelta<'a> {
    pub stop_reason: &'a str,
    pub stop_sequence: Option<&'a str>,
}

/// The `usage` of `message_delta`.
#[derive(Debug, Serialize)]
pub(crate) struct OutputUsage {
    pub output_tokens: u64,
}

/// `{"type": <error type>, "message": …}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub message: &'a str,
}

/// The body of an HTTP error response.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorResponse<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: ErrorDetail<'a>,
    pub request_id: &'a str,
}

impl<'a> ErrorResponse<'a> {
    pub fn new(error_type: &'a str, message: &'a str, request_id: &'a str) -> Self {
        Self {
            kind: "error",
            error: ErrorDetail {
                kind: error_type,
                message,
            },
            request_id,
        }
    }
}

/// One streaming event; its `type` is also its SSE event name.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event<'a> {
    MessageStart {
        message: Message<'a, [FullBlock<'a>; 0]>,
    },
    ContentBlockStart {
        index: usize,
        content_block: StartBlock<'a>,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: StopDelta<'a>,
        usage: OutputUsage,
    },
    MessageStop,
    Error {
        error: ErrorDetail<'a>,
    },
}

impl Event<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Error { .. } => "error",
        }
    }

    /// Appends `event: <name>\ndata: <json>\n\n` to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(self.name().as_bytes());
        out.extend_from_slice(b"\ndata: ");
        serde_json::to_writer(&mut *out, self)?;
        out.extend_from_slice(b"\n\n");
        Ok(())
    }
}

/// The `ping` event, byte for byte as the API sends it.
pub(crate) const PING: &[u8] = b"event: ping\ndata: {\"type\": \"ping\"}\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn encode(event: &Event<'_>) -> String {
        let mut out = Vec::new();
        event.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn events_have_the_api_bytes() {
        assert_eq!(
            encode(&Event::ContentBlockDelta {
                index: 0,
                delta: Delta::Text { text: " hi" },
            }),
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" hi\"}}\n\n"
        );
        assert_eq!(
            encode(&Event::MessageStop),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let start = encode(&Event::MessageStart {
            message: Message::new("msg_1", "m", [], None, Usage::new(3, 1)),
        });
        assert_eq!(
            start,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n"
        );
    }
}
