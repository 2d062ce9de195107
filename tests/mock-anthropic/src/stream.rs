//! Response bodies: turns a resolved reply ([`Script`]) into the SSE event
//! sequence or the JSON Message, splits recorded SSE for replay, and plays a
//! [`Plan`] (bytes, pauses, an optional abort) out as an HTTP body.
//!
//! Unpaced plans coalesce into one buffer, so a fast reply costs one write.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

use crate::Pacing;
use crate::reply::{Block, estimate_tokens, split_json, split_words};
use crate::sse::{
    Delta, Event, FullBlock, Message, OutputUsage, PING, StartBlock, StopDelta, Usage,
};

/// How long an aborting body waits before failing, so the bytes already
/// produced reach the socket before the connection is torn down.
const ABORT_GRACE: Duration = Duration::from_millis(20);

/// How a streamed reply ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// `content_block_stop`, `message_delta`, `message_stop`.
    Complete,
    /// An `error` event right after the last delta, then the end of the body.
    Error { error_type: String, message: String },
    /// The connection is aborted right after the last delta.
    Drop,
}

/// A reply with every tool_use id filled in.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub blocks: Vec<ResolvedBlock>,
    pub stop_reason: String,
    pub ending: Ending,
}

#[derive(Debug, Clone)]
pub(crate) enum ResolvedBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
        /// The compact JSON of `input`, streamed in fragments.
        json: String,
    },
}

impl ResolvedBlock {
    pub fn resolve(
        block: Block,
        new_tool_id: impl FnOnce() -> String,
    ) -> Result<Self, serde_json::Error> {
        Ok(match block {
            Block::Text { text } => Self::Text { text },
            Block::Thinking {
                thinking,
                signature,
            } => Self::Thinking {
                thinking,
                signature,
            },
            Block::ToolUse { id, name, input } => Self::ToolUse {
                id: id.unwrap_or_else(new_tool_id),
                json: serde_json::to_string(&input)?,
                name,
                input,
            },
        })
    }

    fn full(&self) -> FullBlock<'_> {
        match self {
            Self::Text { text } => FullBlock::Text { text },
            Self::Thinking {
                thinking,
                signature,
            } => FullBlock::Thinking {
                thinking,
                signature,
            },
            Self::ToolUse {
                id, name, input, ..
            } => FullBlock::ToolUse { id, name, input },
        }
    }

    fn start(&self) -> StartBlock<'_> {
        match self {
            Self::Text { .. } => StartBlock::Text { text: "" },
            Self::Thinking { .. } => StartBlock::Thinking { thinking: "" },
            Self::ToolUse { id, name, .. } => StartBlock::ToolUse {
                id,
                name,
                input: serde_json::Map::new(),
            },
        }
    }

    fn deltas(&self) -> Vec<Delta<'_>> {
        match self {
            Self::Text { text } => split_words(text)
                .into_iter()
                .map(|text| Delta::Text { text })
                .collect(),
            Self::Thinking {
                thinking,
                signature,
            } => split_words(thinking)
                .into_iter()
                .map(|thinking| Delta::Thinking { thinking })
                .chain([Delta::Signature { signature }])
                .collect(),
            Self::ToolUse { json, .. } => split_json(json)
                .into_iter()
                .map(|partial_json| Delta::InputJson { partial_json })
                .collect(),
        }
    }

    fn output_chars(&self) -> usize {
        match self {
            Self::Text { text } => text.chars().count(),
            Self::Thinking { thinking, .. } => thinking.chars().count(),
            Self::ToolUse { json, .. } => json.chars().count(),
        }
    }
}

impl Script {
    fn output_tokens(&self) -> u64 {
        estimate_tokens(self.blocks.iter().map(ResolvedBlock::output_chars).sum())
    }

    /// How long the whole reply takes to stream under `pacing`.
    pub fn streaming_time(&self, pacing: Pacing) -> Duration {
        let deltas: usize = self.blocks.iter().map(|b| b.deltas().len()).sum();
        let rest = u32::try_from(deltas.saturating_sub(1)).unwrap_or(u32::MAX);
        let interval = pacing.token_interval().unwrap_or_default();
        pacing.first_token_delay + interval.saturating_mul(rest)
    }

    /// The SSE event sequence of this reply.
    pub fn sse_plan(
        &self,
        message_id: &str,
        model: &str,
        input_tokens: u64,
        pacing: Pacing,
    ) -> Result<Plan, serde_json::Error> {
        let mut plan = Plan::default();
        let mut pacer = Pacer::new(pacing);
        let start = Event::MessageStart {
            message: Message::new(message_id, model, [], None, Usage::new(input_tokens, 1)),
        };
        start.write_to(&mut plan.current)?;
        plan.push(PING);
        let last = self.blocks.len().saturating_sub(1);
        for (index, block) in self.blocks.iter().enumerate() {
            Event::ContentBlockStart {
                index,
                content_block: block.start(),
            }
            .write_to(&mut plan.current)?;
            for delta in block.deltas() {
                pacer.before_delta(&mut plan);
                Event::ContentBlockDelta { index, delta }.write_to(&mut plan.current)?;
            }
            if index == last && self.ending != Ending::Complete {
                break;
            }
            Event::ContentBlockStop { index }.write_to(&mut plan.current)?;
        }
        match &self.ending {
            Ending::Complete => {
                Event::MessageDelta {
                    delta: StopDelta {
                        stop_reason: &self.stop_reason,
                        stop_sequence: None,
                    },
                    usage: OutputUsage {
                        output_tokens: self.output_tokens(),
                    },
                }
                .write_to(&mut plan.current)?;
                Event::MessageStop.write_to(&mut plan.current)?;
            }
            Ending::Error {
                error_type,
                message,
            } => {
                Event::Error {
                    error: crate::sse::ErrorDetail {
                        kind: error_type,
                        message,
                    },
                }
                .write_to(&mut plan.current)?;
            }
            Ending::Drop => plan.abort = true,
        }
        Ok(plan)
    }

    /// The whole JSON Message of this reply.
    pub fn message_json(
        &self,
        message_id: &str,
        model: &str,
        input_tokens: u64,
    ) -> Result<Vec<u8>, serde_json::Error> {
        let content: Vec<FullBlock<'_>> = self.blocks.iter().map(ResolvedBlock::full).collect();
        let message = Message::new(
            message_id,
            model,
            content,
            Some(&self.stop_reason),
            Usage::new(input_tokens, self.output_tokens()),
        );
        serde_json::to_vec(&message)
    }
}

/// Recorded SSE, sent unchanged; pacing pauses go before each
/// `content_block_delta` event.
pub(crate) fn replay_plan(raw: &[u8], pacing: Pacing) -> Plan {
    let mut plan = Plan::default();
    if pacing.is_unpaced() {
        plan.push(raw);
        return plan;
    }
    let mut pacer = Pacer::new(pacing);
    for event in split_events(raw) {
        if contains(event, b"content_block_delta") {
            pacer.before_delta(&mut plan);
        }
        plan.push(event);
    }
    plan
}

/// Splits SSE bytes after each blank line (`\n\n` or `\r\n\r\n`); the pieces
/// concatenate back to `raw`.
fn split_events(raw: &[u8]) -> Vec<&[u8]> {
    let mut events = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\n' {
            let end = match (raw.get(i + 1), raw.get(i + 2)) {
                (Some(b'\n'), _) => Some(i + 2),
                (Some(b'\r'), Some(b'\n')) => Some(i + 3),
                _ => None,
            };
            if let Some(end) = end {
                events.push(&raw[start..end]);
                start = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if start < raw.len() {
        events.push(&raw[start..]);
    }
    events
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Places the pacing pauses: the first-token delay before the first delta,
/// the token interval before each later one.
pub(crate) struct Pacer {
    pacing: Pacing,
    started: bool,
}

impl Pacer {
    pub(crate) fn new(pacing: Pacing) -> Self {
        Self {
            pacing,
            started: false,
        }
    }

    pub(crate) fn before_delta(&mut self, plan: &mut Plan) {
        let pause = if self.started {
            self.pacing.token_interval().unwrap_or_default()
        } else {
            self.started = true;
            self.pacing.first_token_delay
        };
        plan.pause(pause);
    }
}

enum Segment {
    Data(Bytes),
    Pause(Duration),
    Abort,
}

/// A body to play out: bytes separated by pauses, ending cleanly or with an
/// aborted connection.
#[derive(Default)]
pub(crate) struct Plan {
    segments: Vec<Segment>,
    current: Vec<u8>,
    abort: bool,
}

impl Plan {
    /// Ends the body with an aborted connection instead of its end.
    pub(crate) fn abort_at_end(&mut self) {
        self.abort = true;
    }

    /// A plan sending `bytes`, then aborting the connection.
    pub fn truncated(bytes: &[u8]) -> Self {
        let mut plan = Self::default();
        plan.push(bytes);
        plan.abort = true;
        plan
    }

    /// Raw bytes under `pacing`: with a first-token delay, the first half
    /// goes at once and the rest after the delay.
    pub fn push_paced(&mut self, bytes: &[u8], pacing: Pacing) {
        if pacing.first_token_delay.is_zero() {
            self.push(bytes);
            return;
        }
        let half = bytes.len() / 2;
        self.push(&bytes[..half]);
        self.pause(pacing.first_token_delay);
        self.push(&bytes[half..]);
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.current.extend_from_slice(bytes);
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            let data = std::mem::take(&mut self.current);
            self.segments.push(Segment::Data(Bytes::from(data)));
        }
    }

    pub(crate) fn pause(&mut self, pause: Duration) {
        if !pause.is_zero() {
            self.flush();
            self.segments.push(Segment::Pause(pause));
        }
    }

    /// The HTTP body playing this plan. `dropped` counts bodies the client
    /// went away from before they were fully sent.
    pub fn into_body(mut self, dropped: Arc<AtomicUsize>) -> Body {
        if !self.abort && self.segments.is_empty() {
            return Body::from(self.current);
        }
        self.flush();
        if self.abort {
            self.segments.push(Segment::Pause(ABORT_GRACE));
            self.segments.push(Segment::Abort);
        }
        let state = Playing {
            queue: VecDeque::from(self.segments),
            dropped,
        };
        Body::from_stream(futures::stream::unfold(state, |mut state| async move {
            loop {
                match state.queue.pop_front()? {
                    Segment::Data(data) => return Some((Ok(data), state)),
                    Segment::Pause(pause) => tokio::time::sleep(pause).await,
                    Segment::Abort => {
                        let error = std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "mock-anthropic: scripted dropped connection",
                        );
                        state.queue.clear();
                        return Some((Err(error), state));
                    }
                }
            }
        }))
    }
}

/// A body being played; counts itself as dropped when it goes away with
/// segments left.
struct Playing {
    queue: VecDeque<Segment>,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Playing {
    fn drop(&mut self) {
        if !self.queue.is_empty() {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn events_split_and_rejoin() {
        let raw = b"event: a\ndata: {}\n\nevent: b\r\ndata: {}\r\n\r\ntrailing";
        let events = split_events(raw);
        assert_eq!(events.len(), 3);
        assert_eq!(events.concat(), raw.to_vec());
    }

    #[test]
    fn unpaced_plan_is_one_buffer() {
        let plan = replay_plan(b"event: x\ndata: {}\n\n", Pacing::default());
        assert!(plan.segments.is_empty());
        let paced = replay_plan(
            b"event: a\ndata: {}\n\nevent: content_block_delta\ndata: {}\n\n",
            Pacing::new(Duration::from_millis(1), None),
        );
        assert_eq!(paced.segments.len(), 2);
    }
}
