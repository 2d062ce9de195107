//! A turn's reply in the exact shape of an Anthropic Messages API response
//! ([`ApiMessage`]), folded from the turn's [`ChatEvent`]s by
//! [`ReplyAssembler`]. `kestrel -p --output-format json` prints it, so a
//! script written against the API's non-streaming response reads Kestrel's
//! output unchanged.
//!
//! The content comes from the reply as saved (the terminal event's
//! message): tool input is parsed JSON and thinking blocks keep their
//! signatures. Kestrel sends no `stop_sequences`, so `stop_sequence` is
//! always `null`.

use serde::{Deserialize, Serialize};

use crate::{ChatEvent, ContentBlock, Message, StopReason, Usage};

/// A Messages API response object (`"type": "message"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiMessage {
    /// The provider's id for the reply (`msg_…`).
    pub id: String,
    /// Always `"message"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `"assistant"`.
    pub role: String,
    pub model: String,
    pub content: Vec<ContentBlock>,
    /// `null` while the reply is unfinished (cancelled or failed).
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// Folds a turn's events into its [`ApiMessage`]. Feed every event to
/// [`ReplyAssembler::push`], then call [`ReplyAssembler::finish`].
#[derive(Debug, Clone, Default)]
pub struct ReplyAssembler {
    id: Option<String>,
    model: Option<String>,
    usage: Usage,
    reply: Option<Message>,
    stop_reason: Option<StopReason>,
}

impl ReplyAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one event of the turn.
    pub fn push(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::ProviderMessage { id, model } => {
                self.id = Some(id.clone());
                self.model = Some(model.clone());
            }
            ChatEvent::Usage { usage } => self.usage = *usage,
            ChatEvent::Done {
                message,
                stop_reason,
            } => {
                self.reply = Some(message.clone());
                self.stop_reason = *stop_reason;
            }
            ChatEvent::Cancelled { message } | ChatEvent::Error { message, .. } => {
                self.reply.clone_from(message);
            }
            _ => {}
        }
    }

    /// The reply so far. `None` if the provider never accepted the request
    /// (no `ProviderMessage` event arrived).
    pub fn finish(self) -> Option<ApiMessage> {
        let id = self.id?;
        let (content, usage, saved_model) = match self.reply {
            Some(message) => (
                message.content,
                message.usage.unwrap_or(self.usage),
                message.model,
            ),
            None => (Vec::new(), self.usage, None),
        };
        Some(ApiMessage {
            id,
            kind: "message".to_owned(),
            role: "assistant".to_owned(),
            model: saved_model.or(self.model).unwrap_or_default(),
            content,
            stop_reason: self.stop_reason,
            stop_sequence: None,
            usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageStatus, Role, Timestamp};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn reply(content: Vec<ContentBlock>, usage: Usage) -> Message {
        Message {
            id: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
            conversation_id: "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap(),
            parent_id: None,
            role: Role::Assistant,
            content,
            status: MessageStatus::Complete,
            model: Some("claude-sonnet-4-5-20250929".into()),
            usage: Some(usage),
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn a_finished_reply_has_the_api_response_shape() {
        let usage = Usage {
            input_tokens: 12,
            output_tokens: 40,
            ..Usage::default()
        };
        let content = vec![
            ContentBlock::Thinking {
                thinking: "The user wants the weather.".into(),
                signature: "EqQBCkYIARgCIkDm".into(),
            },
            ContentBlock::text("Checking."),
            ContentBlock::ToolUse {
                id: "toolu_01".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
            },
        ];
        let mut assembler = ReplyAssembler::new();
        for event in [
            ChatEvent::ProviderMessage {
                id: "msg_01abc".into(),
                model: "claude-sonnet-4-5-20250929".into(),
            },
            ChatEvent::TextDelta {
                index: 1,
                text: "Checking.".into(),
            },
            ChatEvent::Usage { usage },
            ChatEvent::Done {
                message: reply(content, usage),
                stop_reason: Some(StopReason::ToolUse),
            },
        ] {
            assembler.push(&event);
        }
        let message = assembler.finish().unwrap();
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({
                "id": "msg_01abc",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [
                    {"type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCkYIARgCIkDm"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
                ],
                "stop_reason": "tool_use",
                "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
            })
        );
    }

    #[test]
    fn a_cancelled_reply_keeps_its_text_and_has_no_stop_reason() {
        let mut assembler = ReplyAssembler::new();
        assembler.push(&ChatEvent::ProviderMessage {
            id: "msg_2".into(),
            model: "m".into(),
        });
        assembler.push(&ChatEvent::Cancelled {
            message: Some(reply(vec![ContentBlock::text("Half")], Usage::default())),
        });
        let message = assembler.finish().unwrap();
        assert_eq!(message.content, vec![ContentBlock::text("Half")]);
        assert_eq!(message.stop_reason, None);
    }

    #[test]
    fn nothing_is_assembled_before_the_provider_answers() {
        let mut assembler = ReplyAssembler::new();
        assembler.push(&ChatEvent::Cancelled { message: None });
        assert_eq!(assembler.finish(), None);
    }
}
