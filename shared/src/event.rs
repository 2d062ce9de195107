//! The stream of one turn, as the UI consumes it. The backend sends these in
//! order over an in-process stream (desktop) or a framed HTTP stream (web);
//! both UIs render the same truth from them.

use serde::{Deserialize, Serialize};

use crate::{Conversation, KestrelError, Message, MessageId, TurnId};

/// What the assistant is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentState {
    #[default]
    Idle,
    /// Waiting for the model's first token, or receiving thinking.
    Thinking,
    /// Receiving the reply's text.
    Streaming,
    /// A tool call waits for the user's yes or no.
    AwaitingApproval,
    RunningTool,
    /// Summarizing old turns to fit the context window.
    Compacting,
    Error,
    Cancelled,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    PauseTurn,
    Refusal,
    ModelContextWindowExceeded,
    /// A reason this version does not know yet.
    #[serde(other)]
    Other,
}

/// Token counts of one request, as the provider reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}

/// A tool call's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolCallEvent {
    /// The model began a call; its input is still arriving.
    Started { id: String, name: String },
    /// The call's input is complete.
    Ready {
        id: String,
        input: serde_json::Value,
    },
    /// The call finished; `output` is what the model will see.
    Finished {
        id: String,
        output: String,
        is_error: bool,
    },
}

/// One event of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChatEvent {
    /// The user message is saved; the reply will be `assistant_message_id`.
    /// Always the first event of a turn.
    TurnStarted {
        turn_id: TurnId,
        conversation: Conversation,
        user_message: Message,
        assistant_message_id: MessageId,
    },
    /// The provider accepted the request: its id for the reply (`msg_…`)
    /// and the model that answers.
    ProviderMessage {
        id: String,
        model: String,
    },
    /// More reply text for content block `index`.
    TextDelta {
        index: u32,
        text: String,
    },
    /// More thinking text for content block `index`.
    ThinkingDelta {
        index: u32,
        thinking: String,
    },
    ToolCall(ToolCallEvent),
    AgentState {
        state: AgentState,
    },
    /// The provider failed before any of the reply was shown (busy, rate
    /// limited, unreachable) and the request goes again after `delay_ms`:
    /// the `attempt`-th retry. The turn goes on; the next event says how.
    Retrying {
        attempt: u32,
        delay_ms: u64,
        error: KestrelError,
    },
    /// Cumulative usage of the turn so far.
    Usage {
        usage: Usage,
    },
    /// The turn failed. `message` is the partial reply as saved, if the
    /// model had produced anything.
    Error {
        error: KestrelError,
        message: Option<Message>,
    },
    /// The turn finished; `message` is the reply as saved.
    Done {
        message: Message,
        stop_reason: Option<StopReason>,
    },
    /// The user stopped the turn; `message` is the partial reply as saved.
    Cancelled {
        message: Option<Message>,
    },
}

impl ChatEvent {
    /// Whether this event ends the turn.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Error { .. } | Self::Done { .. } | Self::Cancelled { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Timestamp};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn events_are_tagged_snake_case_and_round_trip() {
        let cases = vec![
            (
                ChatEvent::ThinkingDelta {
                    index: 0,
                    thinking: "so".into(),
                },
                json!({"type": "thinking_delta", "index": 0, "thinking": "so"}),
            ),
            (
                ChatEvent::AgentState {
                    state: AgentState::AwaitingApproval,
                },
                json!({"type": "agent_state", "state": "awaiting_approval"}),
            ),
            (
                ChatEvent::ToolCall(ToolCallEvent::Started {
                    id: "t".into(),
                    name: "shell".into(),
                }),
                json!({"type": "tool_call", "phase": "started", "id": "t", "name": "shell"}),
            ),
            (
                ChatEvent::Usage {
                    usage: Usage {
                        input_tokens: 3,
                        output_tokens: 5,
                        ..Usage::default()
                    },
                },
                json!({"type": "usage", "usage": {"input_tokens": 3, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}),
            ),
            (
                ChatEvent::Error {
                    error: KestrelError::new(ErrorKind::RateLimited, "slow down")
                        .with_retry_after(7),
                    message: None,
                },
                json!({"type": "error", "error": {"kind": "rate_limited", "message": "slow down", "retry_after_secs": 7}, "message": null}),
            ),
            (
                ChatEvent::Cancelled { message: None },
                json!({"type": "cancelled", "message": null}),
            ),
            (
                ChatEvent::Retrying {
                    attempt: 1,
                    delay_ms: 500,
                    error: KestrelError::new(ErrorKind::Overloaded, "Overloaded"),
                },
                json!({"type": "retrying", "attempt": 1, "delay_ms": 500, "error": {"kind": "overloaded", "message": "Overloaded"}}),
            ),
        ];
        for (event, wire) in cases {
            assert_eq!(serde_json::to_value(&event).unwrap(), wire);
            assert_eq!(serde_json::from_value::<ChatEvent>(wire).unwrap(), event);
        }
    }

    #[test]
    fn turn_started_round_trips() {
        let conversation = Conversation {
            id: "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap(),
            title: "t".into(),
            system_prompt: String::new(),
            model: "claude-x".into(),
            active_leaf: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(2),
            pinned: false,
            archived: false,
        };
        let user_message = Message {
            id: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
            conversation_id: conversation.id,
            parent_id: None,
            role: crate::Role::User,
            content: vec![crate::ContentBlock::text("hello")],
            status: crate::MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: Timestamp(3),
        };
        let event = ChatEvent::TurnStarted {
            turn_id: "01890a5d-ac96-774b-bcce-b302099a8059".parse().unwrap(),
            conversation,
            user_message,
            assistant_message_id: "01890a5d-ac96-774b-bcce-b302099a805a".parse().unwrap(),
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<ChatEvent>(&json).unwrap(), event);
        assert!(!event.is_terminal());
    }

    #[test]
    fn unknown_stop_reasons_do_not_fail() {
        assert_eq!(
            serde_json::from_value::<StopReason>(json!("brand_new")).unwrap(),
            StopReason::Other
        );
    }
}
