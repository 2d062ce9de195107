//! Turns Anthropic [`StreamEvent`]s into provider-neutral
//! [`CompletionEvent`]s. Stateful, one per reply:
//!
//! - tool input arrives as JSON fragments per block index (the first may be
//!   empty) and is parsed when its block stops; input that does not parse
//!   becomes [`CompletionEvent::ToolInputInvalid`], and the reply goes on;
//! - thinking text and its signature are kept exactly as sent;
//! - usage reports are cumulative and folded into one running total,
//!   cache creation and cache reads included;
//! - server tool blocks and block kinds this version does not know are
//!   kept as raw JSON and handed on whole when they stop;
//! - an event for a block that never started, or a known event with a shape
//!   that does not parse, is a typed [`LlmError::Malformed`].

use std::collections::HashMap;

use kestrel_shared::{ContentBlock, Usage};
use serde_json::Value;

use super::wire::{self, Delta, StartBlock, StreamEvent};
use crate::llm::{CompletionEvent, LlmError};

/// A block being assembled.
#[derive(Debug)]
enum OpenBlock {
    Text,
    Thinking {
        signature: String,
        thinking: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    /// Server tool calls and unknown kinds: the start block as sent, plus
    /// any streamed `input` fragments.
    Raw {
        block: Value,
        json: String,
    },
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

    /// The usage so far.
    pub fn usage(&self) -> Usage {
        self.usage
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
                let block = self.start_block(index, content_block, out)?;
                self.open.insert(index, block);
            }
            StreamEvent::ContentBlockDelta { index, delta } => self.delta(index, delta, out)?,
            StreamEvent::ContentBlockStop { index } => {
                let Some(open) = self.open.remove(&index) else {
                    return Err(never_started(index, "content_block_stop"));
                };
                self.stop_block(index, open, out);
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(usage) = usage {
                    usage.apply_to(&mut self.usage);
                    out.push(CompletionEvent::Usage(self.usage));
                }
                if delta.stop_reason.is_some() {
                    out.push(CompletionEvent::Stopped {
                        stop_reason: delta.stop_reason,
                        stop_sequence: delta.stop_sequence,
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
            StreamEvent::Unknown(raw) => {
                let name = wire::type_of(&raw);
                if wire::KNOWN_EVENTS.contains(&name) {
                    return Err(malformed_shape("event", name, &raw));
                }
                tracing::debug!(event = name, "unknown stream event kept");
                out.push(CompletionEvent::Unknown { raw });
            }
        }
        Ok(())
    }

    fn start_block(
        &self,
        index: u32,
        block: StartBlock,
        out: &mut Vec<CompletionEvent>,
    ) -> Result<OpenBlock, LlmError> {
        Ok(match block {
            StartBlock::Text { text } => {
                if !text.is_empty() {
                    out.push(CompletionEvent::Text { index, text });
                }
                OpenBlock::Text
            }
            StartBlock::Thinking {
                thinking,
                signature,
            } => {
                if !thinking.is_empty() {
                    out.push(CompletionEvent::Thinking {
                        index,
                        thinking: thinking.clone(),
                    });
                }
                OpenBlock::Thinking {
                    signature,
                    thinking,
                }
            }
            StartBlock::RedactedThinking { data } => OpenBlock::RedactedThinking { data },
            StartBlock::ToolUse { id, name } => {
                out.push(CompletionEvent::ToolUseStarted {
                    index,
                    id: id.clone(),
                    name: name.clone(),
                });
                OpenBlock::ToolUse {
                    id,
                    name,
                    json: String::new(),
                }
            }
            StartBlock::ServerToolUse { id, name } => OpenBlock::Raw {
                block: serde_json::json!({
                    "type": "server_tool_use", "id": id, "name": name, "input": {}
                }),
                json: String::new(),
            },
            StartBlock::Unknown(block) => {
                let kind = wire::type_of(&block);
                if wire::KNOWN_BLOCKS.contains(&kind) {
                    return Err(malformed_shape("content block", kind, &block));
                }
                if !block.is_object() {
                    return Err(malformed_shape("content block", kind, &block));
                }
                OpenBlock::Raw {
                    block,
                    json: String::new(),
                }
            }
        })
    }

    fn delta(
        &mut self,
        index: u32,
        delta: Delta,
        out: &mut Vec<CompletionEvent>,
    ) -> Result<(), LlmError> {
        let Some(open) = self.open.get_mut(&index) else {
            return Err(never_started(index, "content_block_delta"));
        };
        match (delta, open) {
            (Delta::TextDelta { text }, _) => CompletionEvent::push_text(out, index, &text),
            (Delta::ThinkingDelta { thinking }, OpenBlock::Thinking { thinking: all, .. }) => {
                all.push_str(&thinking);
                CompletionEvent::push_thinking(out, index, &thinking);
            }
            (Delta::SignatureDelta { signature }, OpenBlock::Thinking { signature: sig, .. }) => {
                // Arrives once, just before the block stops; kept exactly.
                sig.clone_from(&signature);
                out.push(CompletionEvent::ThinkingSignature { index, signature });
            }
            (
                Delta::InputJsonDelta { partial_json },
                OpenBlock::ToolUse { json, .. } | OpenBlock::Raw { json, .. },
            ) => json.push_str(&partial_json),
            (Delta::CitationsDelta { citation }, _) => {
                out.push(CompletionEvent::Citation { index, citation });
            }
            (Delta::Unknown(raw), _) => {
                let kind = wire::type_of(&raw);
                if wire::KNOWN_DELTAS.contains(&kind) {
                    return Err(malformed_shape("delta", kind, &raw));
                }
                tracing::debug!(delta = kind, index, "unknown delta kept");
                out.push(CompletionEvent::Unknown { raw });
            }
            (delta, open) => {
                return Err(LlmError::Malformed {
                    what: "stream event",
                    detail: format!(
                        "a {} for block {index}, which is {}",
                        delta_name(&delta),
                        block_name(open)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Takes a text, thinking or tool-input fragment read in place
    /// ([`wire::HotDelta`]), as [`Self::map`] would take the same event.
    /// Returns false, having changed nothing, for anything it does not take
    /// (a block that never started, a delta that does not fit its block, a
    /// missing field): the caller then maps the event the general way,
    /// which reports it.
    pub fn hot_delta(
        &mut self,
        index: u32,
        delta: &wire::HotDeltaBody<'_>,
        out: &mut Vec<CompletionEvent>,
    ) -> bool {
        let Some(open) = self.open.get_mut(&index) else {
            return false;
        };
        match (
            delta.kind.as_ref(),
            open,
            &delta.text,
            &delta.thinking,
            &delta.partial_json,
        ) {
            ("text_delta", _, Some(text), _, _) => CompletionEvent::push_text(out, index, &text.0),
            ("thinking_delta", OpenBlock::Thinking { thinking: all, .. }, _, Some(thinking), _) => {
                all.push_str(&thinking.0);
                CompletionEvent::push_thinking(out, index, &thinking.0);
            }
            (
                "input_json_delta",
                OpenBlock::ToolUse { json, .. } | OpenBlock::Raw { json, .. },
                _,
                _,
                Some(partial),
            ) => json.push_str(&partial.0),
            _ => return false,
        }
        true
    }

    fn stop_block(&self, index: u32, open: OpenBlock, out: &mut Vec<CompletionEvent>) {
        let block = match open {
            OpenBlock::Text => None,
            OpenBlock::Thinking {
                signature,
                thinking,
            } => Some(ContentBlock::Thinking {
                thinking,
                signature,
            }),
            OpenBlock::RedactedThinking { data } => Some(ContentBlock::RedactedThinking { data }),
            OpenBlock::ToolUse { id, name, json } => match parse_input(&json) {
                Ok(input) => Some(ContentBlock::ToolUse { id, name, input }),
                Err(error) => {
                    tracing::warn!(%name, bytes = json.len(), "tool input is not valid JSON");
                    out.push(CompletionEvent::ToolInputInvalid {
                        index,
                        id,
                        name,
                        json,
                        error: error.to_string(),
                    });
                    return;
                }
            },
            OpenBlock::Raw { mut block, json } => {
                if !json.trim().is_empty() {
                    match serde_json::from_str::<Value>(&json) {
                        Ok(input) => block["input"] = input,
                        Err(error) => {
                            out.push(CompletionEvent::ToolInputInvalid {
                                index,
                                id: block["id"].as_str().unwrap_or_default().to_owned(),
                                name: block["name"].as_str().unwrap_or_default().to_owned(),
                                json,
                                error: error.to_string(),
                            });
                            return;
                        }
                    }
                }
                Some(ContentBlock::Other(block))
            }
        };
        out.push(CompletionEvent::BlockStopped { index, block });
    }
}

/// Tool input: the joined fragments, `{}` when there were none.
fn parse_input(json: &str) -> Result<Value, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(json)
}

fn never_started(index: u32, event: &str) -> LlmError {
    LlmError::Malformed {
        what: "stream event",
        detail: format!("{event} for block {index}, which never started"),
    }
}

fn malformed_shape(what: &str, name: &str, raw: &Value) -> LlmError {
    let mut shown = raw.to_string();
    if shown.len() > 200 {
        let mut cut = 200;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    LlmError::Malformed {
        what: "stream event",
        detail: format!("{what} `{name}` has an unexpected shape: {shown}"),
    }
}

fn delta_name(delta: &Delta) -> &'static str {
    match delta {
        Delta::TextDelta { .. } => "text_delta",
        Delta::InputJsonDelta { .. } => "input_json_delta",
        Delta::ThinkingDelta { .. } => "thinking_delta",
        Delta::SignatureDelta { .. } => "signature_delta",
        Delta::CitationsDelta { .. } => "citations_delta",
        Delta::Unknown(_) => "delta",
    }
}

fn block_name(block: &OpenBlock) -> &'static str {
    match block {
        OpenBlock::Text => "a text block",
        OpenBlock::Thinking { .. } => "a thinking block",
        OpenBlock::RedactedThinking { .. } => "a redacted thinking block",
        OpenBlock::ToolUse { .. } => "a tool_use block",
        OpenBlock::Raw { .. } => "a server block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::StopReason;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(events: Vec<Value>) -> (Vec<CompletionEvent>, Option<LlmError>) {
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

    fn start(index: u32, block: Value) -> Value {
        json!({"type": "content_block_start", "index": index, "content_block": block})
    }

    fn delta(index: u32, delta: Value) -> Value {
        json!({"type": "content_block_delta", "index": index, "delta": delta})
    }

    fn stop(index: u32) -> Value {
        json!({"type": "content_block_stop", "index": index})
    }

    #[test]
    fn text_reply_with_cumulative_usage_including_cache_tokens() {
        let (events, error) = run(vec![
            json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":1}}}),
            json!({"type":"ping"}),
            start(0, json!({"type":"text","text":""})),
            delta(0, json!({"type":"text_delta","text":"Hi"})),
            stop(0),
            json!({"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":5}}),
            json!({"type":"message_delta","delta":{},"usage":{"output_tokens":7,"input_tokens":10}}),
            json!({"type":"message_stop"}),
        ]);
        assert!(error.is_none());
        let usage = |output| Usage {
            input_tokens: 10,
            output_tokens: output,
            cache_creation_input_tokens: 200,
            cache_read_input_tokens: 3000,
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
                    stop_reason: Some(StopReason::StopSequence),
                    stop_sequence: Some("END".into()),
                },
                // Cumulative: the second report replaces, never adds.
                CompletionEvent::Usage(usage(7)),
            ]
        );
    }

    #[test]
    fn tool_input_is_assembled_from_fragments_and_thinking_keeps_its_signature() {
        let (events, error) = run(vec![
            start(0, json!({"type":"thinking","thinking":""})),
            delta(0, json!({"type":"thinking_delta","thinking":"Let me"})),
            delta(
                0,
                json!({"type":"signature_delta","signature":"EqQBCgIYAhIM+/=="}),
            ),
            stop(0),
            start(
                1,
                json!({"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}),
            ),
            delta(1, json!({"type":"input_json_delta","partial_json":""})),
            delta(
                1,
                json!({"type":"input_json_delta","partial_json":"{\"locati"}),
            ),
            delta(
                1,
                json!({"type":"input_json_delta","partial_json":"on\": \"Oslo\"}"}),
            ),
            stop(1),
            start(
                2,
                json!({"type":"tool_use","id":"toolu_2","name":"now","input":{}}),
            ),
            stop(2),
        ]);
        assert!(error.is_none(), "{error:?}");
        let stopped: Vec<_> = events
            .into_iter()
            .filter(|e| matches!(e, CompletionEvent::BlockStopped { .. }))
            .collect();
        assert_eq!(
            stopped,
            [
                CompletionEvent::BlockStopped {
                    index: 0,
                    block: Some(ContentBlock::Thinking {
                        thinking: "Let me".into(),
                        signature: "EqQBCgIYAhIM+/==".into()
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
                CompletionEvent::BlockStopped {
                    index: 2,
                    block: Some(ContentBlock::ToolUse {
                        id: "toolu_2".into(),
                        name: "now".into(),
                        input: json!({}),
                    }),
                },
            ]
        );
    }

    #[test]
    fn broken_tool_json_is_a_typed_event_and_the_reply_goes_on() {
        let (events, error) = run(vec![
            start(0, json!({"type":"tool_use","id":"t","name":"x","input":{}})),
            delta(
                0,
                json!({"type":"input_json_delta","partial_json":"{\"a\": "}),
            ),
            stop(0),
            start(1, json!({"type":"text","text":""})),
            delta(1, json!({"type":"text_delta","text":"after"})),
        ]);
        assert!(error.is_none());
        assert!(matches!(
            &events[1],
            CompletionEvent::ToolInputInvalid { index: 0, id, name, json, .. }
                if id == "t" && name == "x" && json == "{\"a\": "
        ));
        assert_eq!(
            events[2],
            CompletionEvent::Text {
                index: 1,
                text: "after".into()
            }
        );
    }

    #[test]
    fn redacted_thinking_server_tools_and_unknown_blocks_are_kept_whole() {
        let result = json!({"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://example.com","title":"Ex"}]});
        let (events, error) = run(vec![
            start(0, json!({"type":"redacted_thinking","data":"EmwKAhgB"})),
            stop(0),
            start(
                1,
                json!({"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}),
            ),
            delta(
                1,
                json!({"type":"input_json_delta","partial_json":"{\"query\":\"kestrel\"}"}),
            ),
            stop(1),
            start(2, result.clone()),
            stop(2),
            start(3, json!({"type":"text","text":""})),
            delta(
                3,
                json!({"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://example.com","cited_text":"x"}}),
            ),
            delta(3, json!({"type":"brand_new_delta","v":1})),
            stop(3),
            json!({"type":"brand_new_event","v":2}),
        ]);
        assert!(error.is_none(), "{error:?}");
        let blocks: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CompletionEvent::BlockStopped { block, .. } => Some(block.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            blocks,
            vec![
                Some(ContentBlock::RedactedThinking {
                    data: "EmwKAhgB".into()
                }),
                Some(ContentBlock::Other(
                    json!({"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"kestrel"}})
                )),
                Some(ContentBlock::Other(result)),
                None,
            ]
        );
        assert!(events.contains(&CompletionEvent::Citation {
            index: 3,
            citation: json!({"type":"web_search_result_location","url":"https://example.com","cited_text":"x"})
        }));
        assert!(events.contains(&CompletionEvent::Unknown {
            raw: json!({"type":"brand_new_delta","v":1})
        }));
        assert!(events.contains(&CompletionEvent::Unknown {
            raw: json!({"type":"brand_new_event","v":2})
        }));
    }

    #[test]
    fn events_for_blocks_that_never_started_are_typed_errors() {
        for event in [delta(4, json!({"type":"text_delta","text":"x"})), stop(4)] {
            let (_, error) = run(vec![event]);
            assert!(
                matches!(&error, Some(LlmError::Malformed { detail, .. }) if detail.contains("block 4, which never started")),
                "{error:?}"
            );
        }
    }

    #[test]
    fn known_kinds_with_broken_shapes_are_typed_errors_not_unknowns() {
        for event in [
            json!({"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}),
            start(0, json!({"type":"tool_use","name":"no id"})),
            json!({"type":"message_start"}),
        ] {
            let mut events = vec![start(0, json!({"type":"text","text":""}))];
            events.push(event.clone());
            let (_, error) = run(events);
            assert!(
                matches!(&error, Some(LlmError::Malformed { detail, .. }) if detail.contains("unexpected shape")),
                "{event}: {error:?}"
            );
        }
        let (_, error) = run(vec![
            start(0, json!({"type":"text","text":""})),
            delta(0, json!({"type":"text_delta"})),
        ]);
        assert!(matches!(error, Some(LlmError::Malformed { .. })));
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
