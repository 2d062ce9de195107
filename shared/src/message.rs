//! Messages and their content blocks, shaped like the Anthropic Messages API
//! so that any stored branch can be replayed to a model exactly.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, MessageId, Timestamp, Usage};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageStatus {
    /// Finished normally.
    Complete,
    /// The reply is still arriving.
    Streaming,
    /// The user pressed Stop; the text so far is kept.
    Cancelled,
    /// The reply ended with an error; the text so far is kept.
    Failed,
    /// The app stopped while the reply was arriving (crash, kill, power
    /// loss); the text up to the last saved batch is kept.
    Interrupted,
}

/// One message of a conversation's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// The message this one answers or follows; `None` for the first.
    pub parent_id: Option<MessageId>,
    pub role: Role,
    pub content: Vec<ContentBlock>,
    pub status: MessageStatus,
    /// The model that wrote an assistant message.
    pub model: Option<String>,
    /// Token usage of the request that produced an assistant message.
    pub usage: Option<Usage>,
    pub created_at: Timestamp,
}

impl Message {
    /// The text of every text block, joined with blank lines.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for text in self.content.iter().filter_map(ContentBlock::as_text) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(text);
        }
        out
    }
}

/// Where an image's or document's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaSource {
    /// Inline bytes, base64 encoded.
    Base64 { media_type: String, data: String },
    /// A URL the provider fetches itself.
    Url { url: String },
    /// A file stored by Kestrel, by its content hash.
    Stored { media_type: String, sha256: String },
}

/// One block of a message's content, as the Messages API names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        /// Sent back unchanged when the conversation continues.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Vec<ContentBlock>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    Image {
        source: MediaSource,
    },
    Document {
        source: MediaSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// A block this version has no type for (server tool calls and their
    /// results, kinds added to the API later), kept exactly as the provider
    /// sent it so it can be stored and sent back unchanged.
    #[serde(untagged)]
    Other(serde_json::Value),
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// The text of a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text { text } => Some(text),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn round_trip(block: ContentBlock, wire: serde_json::Value) {
        assert_eq!(serde_json::to_value(&block).unwrap(), wire);
        assert_eq!(serde_json::from_value::<ContentBlock>(wire).unwrap(), block);
    }

    #[test]
    fn every_block_kind_matches_the_api_shape() {
        round_trip(
            ContentBlock::text("hi"),
            json!({"type": "text", "text": "hi"}),
        );
        round_trip(
            ContentBlock::Thinking {
                thinking: "hmm".into(),
                signature: "EqQB".into(),
            },
            json!({"type": "thinking", "thinking": "hmm", "signature": "EqQB"}),
        );
        round_trip(
            ContentBlock::RedactedThinking { data: "xyz".into() },
            json!({"type": "redacted_thinking", "data": "xyz"}),
        );
        round_trip(
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"location": "Oslo"}),
            },
            json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Oslo"}}),
        );
        round_trip(
            ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: vec![ContentBlock::text("4°C")],
                is_error: true,
            },
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "4°C"}], "is_error": true}),
        );
        round_trip(
            ContentBlock::Image {
                source: MediaSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBO".into(),
                },
            },
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}),
        );
        round_trip(
            ContentBlock::Document {
                source: MediaSource::Url {
                    url: "https://example.com/a.pdf".into(),
                },
                title: Some("A".into()),
            },
            json!({"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}, "title": "A"}),
        );
        // Server tool blocks and kinds from the future are kept verbatim.
        let search =
            json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []});
        round_trip(ContentBlock::Other(search.clone()), search);
    }

    #[test]
    fn message_text_joins_text_blocks_only() {
        let message = Message {
            id: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
            conversation_id: "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap(),
            parent_id: None,
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking {
                    thinking: "secret".into(),
                    signature: String::new(),
                },
                ContentBlock::text("one"),
                ContentBlock::text("two"),
            ],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: Timestamp(0),
        };
        assert_eq!(message.text(), "one\n\ntwo");
        let back: Message =
            serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(back, message);
    }
}
