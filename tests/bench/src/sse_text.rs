//! What the streaming benchmark's reference clients (`stream-floor`,
//! `stream-reqwest`) share: their request body ([`request_body`]), and
//! the reply text of a streamed Messages API body as they read it: split
//! into lines, `serde_json` on each `data:` line
//! (borrowing where it can), the text deltas kept. Nothing else a real
//! client does (events other than text, errors' details, usage).

use std::borrow::Cow;
use std::io::Write;

use anyhow::bail;
use serde::Deserialize;

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// Decoded body bytes in, reply text out.
#[derive(Default)]
pub struct SseText {
    /// Body bytes not yet split into lines.
    pending: Vec<u8>,
}

impl SseText {
    /// Takes in body bytes; appends the text deltas of every complete
    /// line to `out`. Returns whether `message_stop` arrived.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        self.pending.extend_from_slice(bytes);
        let mut pos = 0;
        let mut stopped = false;
        while let Some(end) = memchr::memchr(b'\n', &self.pending[pos..]) {
            let line = &self.pending[pos..pos + end];
            pos += end + 1;
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            let event: Event = serde_json::from_slice(data)?;
            match event.kind.as_ref() {
                "content_block_delta" => {
                    if let Some(text) = event.delta.and_then(|d| d.text) {
                        out.extend_from_slice(text.as_bytes());
                    }
                }
                "message_stop" => stopped = true,
                "error" => bail!("error event: {}", String::from_utf8_lossy(data)),
                _ => {}
            }
        }
        self.pending.drain(..pos);
        Ok(stopped)
    }
}

/// Writes the text gathered in `out` (if any) and flushes it, once per
/// network read, then empties `out`.
pub fn print(out: &mut Vec<u8>, stdout: &mut impl Write) -> std::io::Result<()> {
    if !out.is_empty() {
        stdout.write_all(out)?;
        stdout.flush()?;
        out.clear();
    }
    Ok(())
}

/// The request both clients send: `prompt` to `model`, streamed.
pub fn request_body(prompt: &str, model: &str) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&serde_json::json!({
        "model": model,
        "max_tokens": 8192,
        "stream": true,
        "messages": [{"role": "user", "content": prompt}],
    }))
}
