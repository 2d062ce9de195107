//! Turns a Chat Completions stream into [`CompletionEvent`]s: `data:`
//! chunks in, thinking (`reasoning_content` / `reasoning`), text and tool
//! calls out as content blocks numbered in order of first appearance; tool
//! arguments are joined per call and parsed when the choice finishes; the
//! usage chunk (`stream_options.include_usage`) becomes [`Usage`] with
//! cached prompt tokens counted as cache reads; `data: [DONE]` ends the
//! reply. Only the first choice is read (Kestrel asks for one).

use std::collections::BTreeMap;

use kestrel_shared::{ContentBlock, StopReason, Usage};
use serde_json::Value;

use super::wire::{ChoiceDelta, Chunk};
use crate::anthropic::MAX_EVENT_BYTES;
use crate::llm::{CompletionEvent, LlmError};
use crate::provider::http::BodyParser;
use crate::sse::{SseDecoder, SseEvent};

#[derive(Debug)]
struct ToolCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Parses one reply's body; make a new one per request.
#[derive(Debug, Default)]
pub struct ChatStreamParser {
    decoder: SseDecoder,
    request_id: Option<String>,
    started: bool,
    next_index: u32,
    thinking: Option<(u32, String)>,
    text: Option<u32>,
    /// By the call's position in `tool_calls`.
    tools: BTreeMap<u32, ToolCall>,
    finished: Option<Option<StopReason>>,
    usage: Usage,
    stopped: bool,
}

impl ChatStreamParser {
    pub fn new(request_id: Option<String>) -> Self {
        Self {
            request_id,
            ..Self::default()
        }
    }

    fn chunk(&mut self, chunk: Chunk, out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        if let Some(error) = chunk.error {
            let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
            return Err(LlmError::StreamError {
                error_type: text("type")
                    .or_else(|| text("code"))
                    .unwrap_or_else(|| "api_error".into()),
                message: text("message").unwrap_or_else(|| error.to_string()),
                request_id: self.request_id.clone(),
            });
        }
        if !self.started {
            self.started = true;
            out.push(CompletionEvent::Started {
                message_id: chunk.id.unwrap_or_default(),
                model: chunk.model.unwrap_or_default(),
            });
        }
        if let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) {
            self.delta(choice.delta, out);
            if let Some(reason) = choice.finish_reason {
                self.finish_choice(&reason, out);
            }
        }
        if let Some(usage) = chunk.usage {
            let cached = usage.prompt_tokens_details.map_or(0, |d| d.cached_tokens);
            self.usage = Usage {
                input_tokens: usage.prompt_tokens.saturating_sub(cached),
                output_tokens: usage.completion_tokens,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: cached,
            };
            out.push(CompletionEvent::Usage(self.usage));
        }
        Ok(())
    }

    fn delta(&mut self, delta: ChoiceDelta, out: &mut Vec<CompletionEvent>) {
        if self.finished.is_some() {
            return;
        }
        if let Some(thinking) = delta.reasoning_content.or(delta.reasoning)
            && !thinking.is_empty()
        {
            let next = &mut self.next_index;
            let (index, all) = self.thinking.get_or_insert_with(|| {
                *next += 1;
                (*next - 1, String::new())
            });
            all.push_str(&thinking);
            CompletionEvent::push_thinking(out, *index, &thinking);
        }
        if let Some(text) = delta.content
            && !text.is_empty()
        {
            let next = &mut self.next_index;
            let index = *self.text.get_or_insert_with(|| {
                *next += 1;
                *next - 1
            });
            CompletionEvent::push_text(out, index, &text);
        }
        for call in delta.tool_calls {
            let function = call.function;
            let entry = match self.tools.get_mut(&call.index) {
                Some(entry) => entry,
                None => {
                    let index = self.next_index;
                    self.next_index += 1;
                    let name = function
                        .as_ref()
                        .and_then(|f| f.name.clone())
                        .unwrap_or_default();
                    let id = call.id.clone().unwrap_or_default();
                    out.push(CompletionEvent::ToolUseStarted {
                        index,
                        id: id.clone(),
                        name: name.clone(),
                    });
                    self.tools.entry(call.index).or_insert(ToolCall {
                        index,
                        id,
                        name,
                        arguments: String::new(),
                    })
                }
            };
            if let Some(arguments) = function.and_then(|f| f.arguments) {
                entry.arguments.push_str(&arguments);
            }
        }
    }

    /// Closes every open block, in index order.
    fn finish_choice(&mut self, reason: &str, out: &mut Vec<CompletionEvent>) {
        if self.finished.is_some() {
            return;
        }
        let stop = match reason {
            "stop" => StopReason::EndTurn,
            "length" => StopReason::MaxTokens,
            "tool_calls" | "function_call" => StopReason::ToolUse,
            "content_filter" => StopReason::Refusal,
            _ => StopReason::Other,
        };
        self.finished = Some(Some(stop));
        let mut closing: Vec<(u32, CompletionEvent)> = Vec::new();
        if let Some((index, thinking)) = self.thinking.take() {
            let block = ContentBlock::Thinking {
                thinking,
                signature: String::new(),
            };
            closing.push((
                index,
                CompletionEvent::BlockStopped {
                    index,
                    block: Some(block),
                },
            ));
        }
        if let Some(index) = self.text.take() {
            closing.push((index, CompletionEvent::BlockStopped { index, block: None }));
        }
        for call in std::mem::take(&mut self.tools).into_values() {
            let parsed = if call.arguments.trim().is_empty() {
                Ok(Value::Object(serde_json::Map::new()))
            } else {
                serde_json::from_str::<Value>(&call.arguments)
            };
            let event = match parsed {
                Ok(input) => CompletionEvent::BlockStopped {
                    index: call.index,
                    block: Some(ContentBlock::ToolUse {
                        id: call.id,
                        name: call.name,
                        input,
                    }),
                },
                Err(error) => CompletionEvent::ToolInputInvalid {
                    index: call.index,
                    id: call.id,
                    name: call.name,
                    json: call.arguments,
                    error: error.to_string(),
                },
            };
            closing.push((call.index, event));
        }
        closing.sort_by_key(|(index, _)| *index);
        out.extend(closing.into_iter().map(|(_, event)| event));
    }

    fn end(&mut self, out: &mut Vec<CompletionEvent>) {
        self.stopped = true;
        out.push(CompletionEvent::Stopped {
            stop_reason: self.finished.flatten(),
            stop_sequence: None,
        });
    }

    fn event(
        &mut self,
        event: SseEvent<'_>,
        out: &mut Vec<CompletionEvent>,
    ) -> Result<(), LlmError> {
        if self.stopped {
            return Ok(());
        }
        if event.data.len() > MAX_EVENT_BYTES {
            return Err(LlmError::EventTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            if self.finished.is_none() {
                self.finish_choice("stop", out);
            }
            self.end(out);
            return Ok(());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| LlmError::Malformed {
            what: "stream chunk",
            detail: e.to_string(),
        })?;
        self.chunk(chunk, out)
    }

    /// Runs the decoder over `chunk` (or, with `None`, ends it), mapping
    /// each event it completes.
    fn decode(
        &mut self,
        chunk: Option<&[u8]>,
        out: &mut Vec<CompletionEvent>,
    ) -> Result<(), LlmError> {
        let mut decoder = std::mem::take(&mut self.decoder);
        let result = match chunk {
            Some(chunk) => decoder.feed(chunk, |event| self.event(event, out)),
            None => decoder.finish(|event| self.event(event, out)),
        };
        self.decoder = decoder;
        result
    }
}

impl BodyParser for ChatStreamParser {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        if self.stopped {
            return Ok(());
        }
        self.decode(Some(chunk), out)?;
        if self.decoder.pending_len() > MAX_EVENT_BYTES {
            return Err(LlmError::EventTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        if self.stopped {
            return Ok(());
        }
        match self.decode(None, out) {
            Err(LlmError::Malformed { .. }) => return Err(LlmError::EndedEarly),
            other => other?,
        }
        // Some servers end the body after the finishing chunk without
        // `[DONE]`; that reply is complete.
        if !self.stopped && self.finished.is_some() {
            self.end(out);
        }
        if self.stopped {
            Ok(())
        } else {
            Err(LlmError::EndedEarly)
        }
    }

    fn is_stopped(&self) -> bool {
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn parse(lines: &[Value], done: bool) -> (Vec<CompletionEvent>, Result<(), LlmError>) {
        let mut body = String::new();
        for line in lines {
            body.push_str(&format!("data: {line}\n\n"));
        }
        if done {
            body.push_str("data: [DONE]\n\n");
        }
        let mut parser = ChatStreamParser::new(None);
        let mut out = Vec::new();
        let result = parser
            .feed(body.as_bytes(), &mut out)
            .and_then(|()| parser.finish(&mut out));
        (out, result)
    }

    fn delta(delta: Value, finish: Option<&str>) -> Value {
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn reasoning_text_tool_calls_and_usage() {
        let (events, result) = parse(
            &[
                delta(json!({"role": "assistant", "content": ""}), None),
                delta(json!({"reasoning_content": "Think"}), None),
                delta(json!({"content": "Hi"}), None),
                delta(
                    json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
                    None,
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\":"}}]}),
                    None,
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
                    None,
                ),
                delta(json!({}), Some("tool_calls")),
                json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60}}}),
            ],
            true,
        );
        result.unwrap();
        assert_eq!(
            events,
            vec![
                CompletionEvent::Started {
                    message_id: "c1".into(),
                    model: "m".into()
                },
                CompletionEvent::Thinking {
                    index: 0,
                    thinking: "Think".into()
                },
                CompletionEvent::Text {
                    index: 1,
                    text: "Hi".into()
                },
                CompletionEvent::ToolUseStarted {
                    index: 2,
                    id: "call_a".into(),
                    name: "f".into()
                },
                CompletionEvent::BlockStopped {
                    index: 0,
                    block: Some(ContentBlock::Thinking {
                        thinking: "Think".into(),
                        signature: String::new()
                    })
                },
                CompletionEvent::BlockStopped {
                    index: 1,
                    block: None
                },
                CompletionEvent::BlockStopped {
                    index: 2,
                    block: Some(ContentBlock::ToolUse {
                        id: "call_a".into(),
                        name: "f".into(),
                        input: json!({"x": 1})
                    })
                },
                CompletionEvent::Usage(Usage {
                    input_tokens: 40,
                    output_tokens: 7,
                    cache_creation_input_tokens: 0,
                    cache_read_input_tokens: 60
                }),
                CompletionEvent::Stopped {
                    stop_reason: Some(StopReason::ToolUse),
                    stop_sequence: None
                },
            ]
        );
    }

    #[test]
    fn a_finished_reply_without_done_is_complete_and_a_cut_one_is_not() {
        let (events, result) = parse(
            &[
                delta(json!({"content": "ok"}), None),
                delta(json!({}), Some("length")),
            ],
            false,
        );
        result.unwrap();
        assert_eq!(
            events.last(),
            Some(&CompletionEvent::Stopped {
                stop_reason: Some(StopReason::MaxTokens),
                stop_sequence: None
            })
        );
        let (_, result) = parse(&[delta(json!({"content": "half"}), None)], false);
        assert!(matches!(result, Err(LlmError::EndedEarly)));
    }

    #[test]
    fn errors_in_the_stream_are_typed() {
        let (events, result) = parse(
            &[
                delta(json!({"content": "partial"}), None),
                json!({"error": {"message": "boom", "type": "server_error"}}),
            ],
            false,
        );
        assert_eq!(events.len(), 2);
        assert!(
            matches!(result, Err(LlmError::StreamError { error_type, .. }) if error_type == "server_error")
        );
        let mut parser = ChatStreamParser::new(None);
        let mut out = Vec::new();
        let result = parser.feed(b"data: {not json\n\n", &mut out);
        assert!(matches!(result, Err(LlmError::Malformed { .. })));
    }
}
