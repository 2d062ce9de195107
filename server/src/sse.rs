//! An incremental Server-Sent Events decoder (the WHATWG `text/event-stream`
//! format), fed raw bytes exactly as the network delivers them.
//!
//! It owns framing only: line ends (LF, CR, CRLF, including a CR at the end
//! of one chunk and its LF at the start of the next), `field: value` parsing,
//! multi-line `data` joined with `\n`, comment lines and dispatch on blank
//! lines. It knows nothing about Anthropic; [`crate::anthropic`] gives the
//! events meaning.
//!
//! Bytes are buffered until a whole line has arrived, and line ends are
//! ASCII, so a UTF-8 sequence split across chunks is always decoded whole.

/// One dispatched event, borrowed from the decoder until the callback
/// returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field; empty when the event had none (the spec's
    /// "message").
    pub event: &'a str,
    /// The `data:` lines, joined with `\n`.
    pub data: &'a str,
}

/// Decodes a byte stream into [`SseEvent`]s. An event is handed to the
/// caller's callback straight from the decoder's own buffers, which are
/// reused, so a stream of any length allocates only for its longest event.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in CR, so a leading LF belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    /// Whether any `data` field arrived for the event being built.
    has_data: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk, calling `on_event` for every event it
    /// completes. The first error from `on_event` stops decoding and is
    /// returned (the stream is then of no further use).
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if chunk.is_empty() {
            // An empty read must not forget a pending CR.
            return Ok(());
        }
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', rest @ ..] = chunk {
                chunk = rest;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) {
            let line_bytes = &chunk[..end];
            let terminator = chunk[end];
            let mut next = end + 1;
            if terminator == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            chunk = &chunk[next..];
            if self.line.is_empty() {
                self.process_line(line_bytes, &mut on_event)?;
            } else {
                self.line.extend_from_slice(line_bytes);
                let line = std::mem::take(&mut self.line);
                let result = self.process_line(&line, &mut on_event);
                // Reuse the allocation for the next partial line.
                self.line = line;
                self.line.clear();
                result?;
            }
        }
        self.line.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes held for the event being built (its unfinished line and its
    /// data so far). Callers cap it so that one endless event cannot take
    /// all memory.
    pub fn pending_len(&self) -> usize {
        self.line.len() + self.data.len() + self.event.len()
    }

    /// Ends the stream: a final event that was not followed by a blank line
    /// is still dispatched, as long as its last line was complete or
    /// non-empty.
    pub fn finish<E>(
        &mut self,
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut on_event)?;
        }
        self.dispatch(&mut on_event)
    }

    fn process_line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(()); // comment
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => {
                self.event.clear();
                push_lossy(&mut self.event, value);
            }
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_lossy(&mut self.data, value);
                self.has_data = true;
            }
            // `id` and `retry` matter to reconnecting EventSource clients;
            // a model reply is never resumed, so they are ignored.
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.has_data && self.event.is_empty() {
            return Ok(());
        }
        let result = on_event(SseEvent {
            event: &self.event,
            data: &self.data,
        });
        self.event.clear();
        self.data.clear();
        self.has_data = false;
        result
    }
}

/// Appends `bytes` as text; invalid UTF-8 becomes U+FFFD, never an error.
fn push_lossy(to: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => to.push_str(text),
        Err(_) => to.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    fn ev(event: &str, data: &str) -> (String, String) {
        (event.into(), data.into())
    }

    /// Feeds `chunk`, collecting every event it completes.
    fn feed(decoder: &mut SseDecoder, chunk: &[u8], out: &mut Vec<(String, String)>) {
        let collect = |e: SseEvent<'_>| -> Result<(), ()> {
            out.push((e.event.to_owned(), e.data.to_owned()));
            Ok(())
        };
        decoder.feed(chunk, collect).unwrap();
    }

    fn decode_in_chunks(input: &[u8], cuts: &[usize]) -> Vec<(String, String)> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            feed(&mut decoder, &input[start..cut], &mut out);
            start = cut;
        }
        feed(&mut decoder, &input[start..], &mut out);
        decoder
            .finish(|e| -> Result<(), ()> {
                out.push((e.event.to_owned(), e.data.to_owned()));
                Ok(())
            })
            .unwrap();
        out
    }

    const STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
        : a comment\r\n\
        event: content_block_delta\r\ndata: {\"text\":\"h\u{e9}llo \u{1F980} \u{65E5}\"}\r\n\r\n\
        event: ping\rdata: {\"type\": \"ping\"}\r\r\
        data: line one\ndata: line two\n\n\
        event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    fn expected() -> Vec<(String, String)> {
        vec![
            ev("message_start", "{\"type\":\"message_start\"}"),
            ev(
                "content_block_delta",
                "{\"text\":\"h\u{e9}llo \u{1F980} \u{65E5}\"}",
            ),
            ev("ping", "{\"type\": \"ping\"}"),
            ev("", "line one\nline two"),
            ev("message_stop", "{\"type\":\"message_stop\"}"),
        ]
    }

    #[test]
    fn whole_stream_in_one_chunk() {
        assert_eq!(decode_in_chunks(STREAM.as_bytes(), &[]), expected());
    }

    #[test]
    fn every_single_split_point_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(
                decode_in_chunks(bytes, &[cut]),
                expected(),
                "split at byte {cut}"
            );
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let bytes = STREAM.as_bytes();
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(decode_in_chunks(bytes, &cuts), expected());
    }

    #[test]
    fn split_inside_a_multibyte_character() {
        let input = "data: \u{1F980}\n\n".as_bytes();
        // The crab is four bytes starting at offset 6.
        for cut in 7..10 {
            assert_eq!(decode_in_chunks(input, &[cut]), vec![ev("", "\u{1F980}")]);
        }
    }

    #[test]
    fn cr_and_lf_in_different_chunks_make_one_line_end() {
        let input = b"data: a\r\n\r\ndata: b\r\n\r\n";
        assert_eq!(
            decode_in_chunks(input, &[8, 10]),
            vec![ev("", "a"), ev("", "b")]
        );
        // An empty chunk between the CR and its LF changes nothing.
        assert_eq!(
            decode_in_chunks(input, &[8, 8, 10]),
            vec![ev("", "a"), ev("", "b")]
        );
    }

    #[test]
    fn final_event_without_blank_line_is_dispatched_by_finish() {
        assert_eq!(
            decode_in_chunks(b"event: message_stop\ndata: {}", &[]),
            vec![ev("message_stop", "{}")]
        );
        assert_eq!(decode_in_chunks(b"data: x\n", &[]), vec![ev("", "x")]);
    }

    #[test]
    fn field_forms() {
        let input = b"data\n\ndata:no-space\n\ndata:  two-spaces\n\nevent: e\n\nunknown: x\nid: 7\nretry: 10\n\n";
        assert_eq!(
            decode_in_chunks(input, &[]),
            vec![
                ev("", ""),
                ev("", "no-space"),
                ev("", " two-spaces"),
                ev("e", "")
            ]
        );
    }

    #[test]
    fn an_empty_chunk_between_cr_and_lf_keeps_them_one_line_end() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for chunk in [&b"event: e\r"[..], b"", b"\ndata: x\r\n\r\n"] {
            feed(&mut decoder, chunk, &mut out);
        }
        assert_eq!(out, vec![ev("e", "x")]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(
            decode_in_chunks(b"data: \xff\n\n", &[]),
            vec![ev("", "\u{FFFD}")]
        );
    }

    #[test]
    fn an_error_from_the_callback_stops_decoding_and_is_returned() {
        let mut decoder = SseDecoder::new();
        let mut seen = Vec::new();
        let result = decoder.feed(b"data: a\n\ndata: b\n\ndata: c\n\n", |e| {
            seen.push(e.data.to_owned());
            if e.data == "b" { Err("stop") } else { Ok(()) }
        });
        assert_eq!(result, Err("stop"));
        assert_eq!(seen, ["a", "b"]);
    }

    proptest! {
        #[test]
        fn arbitrary_chunking_never_changes_the_events(cuts in proptest::collection::vec(0..STREAM.len(), 0..12)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            prop_assert_eq!(decode_in_chunks(STREAM.as_bytes(), &cuts), expected());
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
            let cut = cut.min(input.len());
            let _ = decode_in_chunks(&input, &[cut]);
        }
    }
}
