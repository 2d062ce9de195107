//! How a turn's [`ChatEvent`]s travel as bytes: one JSON object per line
//! (NDJSON). JSON text never holds a raw newline, so a line end always ends
//! an event, and a reader can resynchronise on any chunk boundary.
//!
//! [`EventDecoder`] buffers across chunks, so an event split over many
//! network reads (a megabyte paste echoed back, or a small event cut at a
//! TCP segment boundary) decodes exactly as if it had arrived whole.

use crate::ChatEvent;

/// The longest line a decoder accepts (64 MiB): far above any real event,
/// low enough that a hostile stream cannot grow the buffer without bound.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Encodes one event as a line.
pub fn encode_event(event: &ChatEvent) -> Vec<u8> {
    // Serializing our own enum to a Vec cannot fail: every field is a
    // string, number, bool, map with string keys, or sequence.
    let mut line = serde_json::to_vec(event).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    line
}

/// A line that was not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("event is not valid JSON for this version: {0}")]
    Invalid(String),
    #[error("event larger than {MAX_FRAME_BYTES} bytes")]
    TooLarge,
    #[error("the stream ended in the middle of an event")]
    Truncated,
}

/// Decodes a byte stream of NDJSON events.
#[derive(Debug, Default)]
pub struct EventDecoder {
    /// The unfinished line; it never holds a newline between calls.
    buf: Vec<u8>,
}

impl EventDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; pushes every event it completes onto `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Result<ChatEvent, FrameError>>) {
        // Only the new bytes can hold a newline.
        let mut search = self.buf.len();
        self.buf.extend_from_slice(chunk);
        let mut line_start = 0;
        while let Some(offset) = self.buf[search..].iter().position(|&b| b == b'\n') {
            let end = search + offset;
            let line = &self.buf[line_start..end];
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.push(
                    serde_json::from_slice(line).map_err(|e| FrameError::Invalid(e.to_string())),
                );
            }
            line_start = end + 1;
            search = line_start;
        }
        self.buf.drain(..line_start);
        if self.buf.len() > MAX_FRAME_BYTES {
            self.buf = Vec::new();
            out.push(Err(FrameError::TooLarge));
        }
    }

    /// Ends the stream: leftover bytes are a truncated event.
    pub fn finish(&mut self) -> Option<FrameError> {
        let leftover = !self.buf.iter().all(u8::is_ascii_whitespace);
        self.buf = Vec::new();
        leftover.then_some(FrameError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentState, KestrelError};
    use pretty_assertions::assert_eq;

    fn events() -> Vec<ChatEvent> {
        vec![
            ChatEvent::AgentState {
                state: AgentState::Thinking,
            },
            ChatEvent::TextDelta {
                index: 0,
                text: "line one\nline two \u{1F980} \"quoted\"".into(),
            },
            ChatEvent::TextDelta {
                index: 0,
                text: "x".repeat(100_000),
            },
            ChatEvent::Error {
                error: KestrelError::new(crate::ErrorKind::Overloaded, "busy"),
                message: None,
            },
        ]
    }

    fn encoded() -> Vec<u8> {
        events().iter().flat_map(encode_event).collect()
    }

    fn decode(bytes: &[u8], cuts: &[usize]) -> Vec<Result<ChatEvent, FrameError>> {
        let mut decoder = EventDecoder::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            decoder.push(&bytes[start..cut], &mut out);
            start = cut;
        }
        decoder.push(&bytes[start..], &mut out);
        if let Some(error) = decoder.finish() {
            out.push(Err(error));
        }
        out
    }

    #[test]
    fn each_event_is_one_line() {
        for event in events() {
            let line = encode_event(&event);
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(line.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn any_chunking_decodes_the_same_events() {
        let bytes = encoded();
        let expected: Vec<_> = events().into_iter().map(Ok).collect();
        assert_eq!(decode(&bytes, &[]), expected);
        // Every cut near the event boundaries, and a few inside the big one.
        let boundaries: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        for &boundary in &boundaries {
            for cut in boundary.saturating_sub(3)..=(boundary + 3).min(bytes.len()) {
                assert_eq!(decode(&bytes, &[cut]), expected, "cut at {cut}");
            }
        }
        let many: Vec<usize> = (1..bytes.len()).step_by(1_399).collect();
        assert_eq!(decode(&bytes, &many), expected);
    }

    #[test]
    fn bad_lines_are_errors_and_decoding_continues() {
        let mut bytes = b"not json\n\n".to_vec();
        bytes.extend(encode_event(&ChatEvent::Cancelled { message: None }));
        bytes.extend(b"{\"type\":\"cancel");
        let out = decode(&bytes, &[3]);
        assert!(matches!(out[0], Err(FrameError::Invalid(_))));
        assert_eq!(out[1], Ok(ChatEvent::Cancelled { message: None }));
        assert_eq!(out[2], Err(FrameError::Truncated));
        assert_eq!(out.len(), 3);
    }
}
