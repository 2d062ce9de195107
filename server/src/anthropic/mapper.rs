//! Turns Anthropic [`StreamEvent`]s into provider-neutral
//! [`CompletionEvent`]s. Stateful: tool input arrives as JSON fragments per
//! block index and is parsed when its block stops; usage reports are folded
//! into a running total.

use std::collections::HashMap;

use kestrel_shared::{ContentBlock, Usage};

use super::wire::{Delta, StartBlock, StreamEvent};
use crate::llm::{CompletionEvent, LlmError};

/// A block being assembled.
#[derive(Debug)]
enum OpenBlock {
    Text,
    Thinking {
        signature: String,
        thinking: String,
    },
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// Maps one reply's events; make a new one per request.
#[derive(Debug, Default)]
pub struct EventMapper {
    open: HashMap<u32, OpenBlock>,
    usage: Usage,
    request_id: Option<String>,
    stopped: bool,
}

impl EventMapper {
    pub fn new(request_id: Option<String>) -> Self {
        Self {
            request_id,
            ..Self::default()
        }
    }

    /// Whether `message_stop` has arrived.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Maps one event, pushing zero or more completion events onto `out`.
    pub fn map(
        &mut self,
        event: StreamEvent,
        out: &mut Vec<CompletionEvent>,
    ) -> Result<(), LlmError> {
        match event {
            StreamEvent::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    usage.apply_to(&mut self.usage);
                }
                out.push(CompletionEvent::Started {
                    message_id: message.id,
                    model: message.model,
                });
                out.push(CompletionEvent::Usage(self.usage));
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    StartBlock::Text { text } => {
                        if !text.is_empty() {
                            out.push(CompletionEvent::Text { index, text });
                        }
                        OpenBlock::Text
                    }
                    StartBlock::Thinking { thinking } => {
                        if !thinking.is_empty() {
                            out.push(CompletionEvent::Thinking {
                                index,
                                thinking: thinking.clone(),
                            });
                        }
                        OpenBlock::Thinking {
                            signature: String::new(),
                            thinking,
                        }
                    }
                    StartBlock::RedactedThinking { data } => {
                        out.push(CompletionEvent::BlockStopped {
                            index,
                            block: Some(ContentBlock::RedactedThinking { data }),
                        });
                        OpenBlock::Other
                    }
                    StartBlock::ToolUse { id, name } => OpenBlock::ToolUse {
                        id,
                        name,
                        json: String::new(),
                    },
                    StartBlock::Other => OpenBlock::Other,
                };
                self.open.insert(index, block);
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                match (delta, self.open.get_mut(&index)) {
                    (Delta::TextDelta { text }, _) => {
                        out.push(CompletionEvent::Text { index, text })
                    }
                    (
                        Delta::ThinkingDelta { thinking },
                        Some(OpenBlock::Thinking { thinking: all, .. }),
                    ) => {
                        all.push_str(&thinking);
                        out.push(CompletionEvent::Thinking { index, thinking });
                    }
                    (Delta::ThinkingDelta { thinking }, _) => {
                        out.push(CompletionEvent::Thinking { index, thinking })
                    }
                    (
                        Delta::SignatureDelta { signature },
                        Some(OpenBlock::Thinking { signature: sig, .. }),
                    ) => {
                        // Arrives once; kept exactly as sent.
                        *sig = signature.clone();
                        out.push(CompletionEvent::ThinkingSignature { index, signature });
                    }
                    (
                        Delta::InputJsonDelta { partial_json },
                        Some(OpenBlock::ToolUse { json, .. }),
                    ) => {
                        json.push_str(&partial_json);
                    }
                    // Citations and unknown deltas are not shown yet.
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                let block = match self.open.remove(&index) {
                    Some(OpenBlock::ToolUse { id, name, json }) => {
                        let input = if json.trim().is_empty() {
                            serde_json::Value::Object(serde_json::Map::new())
                        } else {
                            serde_json::from_str(&json).map_err(|e| LlmError::Malformed {
                                what: "tool input",
                                detail: format!("{name}: {e}"),
                            })?
                        };
                        Some(ContentBlock::ToolUse { id, name, input })
                    }
                    Some(OpenBlock::Thinking {
                        signature,
                        thinking,
                    }) => Some(ContentBlock::Thinking {
                        thinking,
                        signature,
                    }),
                    Some(OpenBlock::Text | OpenBlock::Other) | None => None,
                };
                out.push(CompletionEvent::BlockStopped { index, block });
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(usage) = usage {
                    usage.apply_to(&mut self.usage);
                    out.push(CompletionEvent::Usage(self.usage));
                }
                if delta.stop_reason.is_some() {
                    out.push(CompletionEvent::Stopped {
                        stop_reason: delta.stop_reason,
                    });
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                return Err(LlmError::StreamError {
                    error_type: error.error_type,
                    message: error.message,
                    request_id: self.request_id.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::StopReason;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(events: Vec<serde_json::Value>) -> (Vec<CompletionEvent>, Option<LlmError>) {
        let mut mapper = EventMapper::new(Some("req_1".into()));
        let mut out = Vec::new();
        for event in events {
            let event: StreamEvent = serde_json::from_value(event).unwrap();
            if let Err(e) = mapper.map(event, &mut out) {
                return (out, Some(e));
            }
        }
        (out, None)
    }

    #[test]
    fn text_reply_with_cumulative_usage() {
        let (events, error) = run(vec![
            json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}),
            json!({"type":"ping"}),
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}),
            json!({"type":"content_block_stop","index":0}),
            json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}),
            json!({"type":"message_stop"}),
        ]);
        assert!(error.is_none());
        let usage = |output| Usage {
            input_tokens: 10,
            output_tokens: output,
            ..Usage::default()
        };
        assert_eq!(
            events,
            vec![
                CompletionEvent::Started {
                    message_id: "msg_1".into(),
                    model: "m".into()
                },
                CompletionEvent::Usage(usage(1)),
                CompletionEvent::Text {
                    index: 0,
                    text: "Hi".into()
                },
                CompletionEvent::BlockStopped {
                    index: 0,
                    block: None
                },
                CompletionEvent::Usage(usage(5)),
                CompletionEvent::Stopped {
                    stop_reason: Some(StopReason::EndTurn)
                },
            ]
        );
    }

    #[test]
    fn tool_input_is_assembled_from_fragments_and_thinking_keeps_its_signature() {
        let (events, error) = run(vec![
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me"}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}),
            json!({"type":"content_block_stop","index":0}),
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"locati"}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\": \"Oslo\"}"}}),
            json!({"type":"content_block_stop","index":1}),
        ]);
        assert!(error.is_none());
        assert_eq!(
            events[2..],
            [
                CompletionEvent::BlockStopped {
                    index: 0,
                    block: Some(ContentBlock::Thinking {
                        thinking: "Let me".into(),
                        signature: "EqQBCgIYAhIM".into()
                    }),
                },
                CompletionEvent::BlockStopped {
                    index: 1,
                    block: Some(ContentBlock::ToolUse {
                        id: "toolu_1".into(),
                        name: "get_weather".into(),
                        input: json!({"location": "Oslo"}),
                    }),
                },
            ]
        );
    }

    #[test]
    fn broken_tool_json_is_a_typed_error() {
        let (_, error) = run(vec![
            json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"x","input":{}}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\": "}}),
            json!({"type":"content_block_stop","index":0}),
        ]);
        assert!(matches!(
            error,
            Some(LlmError::Malformed {
                what: "tool input",
                ..
            })
        ));
    }

    #[test]
    fn mid_stream_error_event_carries_type_and_request_id() {
        let (_, error) = run(vec![
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        ]);
        match error {
            Some(LlmError::StreamError {
                error_type,
                message,
                request_id,
            }) => {
                assert_eq!(
                    (error_type.as_str(), message.as_str(), request_id.as_deref()),
                    ("overloaded_error", "Overloaded", Some("req_1"))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
