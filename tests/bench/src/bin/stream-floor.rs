//! `stream-floor`: the floor of the streaming benchmark. The least a
//! client can do to print a streamed Messages API reply: one blocking
//! socket, a hand-written HTTP/1.1 request, chunked decoding, SSE lines,
//! `serde_json` on each `data:` line (borrowing where it can), and the
//! text deltas written to stdout once per socket read. No async runtime,
//! no TLS (loopback `http://` only), no persistence.
//!
//! Usage: `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT ANTHROPIC_API_KEY=KEY
//! stream-floor PROMPT [MODEL]`. Exits 0 after `message_stop`, 1 on any
//! error (message on stderr).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

use anyhow::{Context, bail};

// Not through the crate's library, which would link the whole app.
#[path = "../sse_text.rs"]
mod sse_text;

use sse_text::SseText;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-floor: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let base = std::env::var("ANTHROPIC_BASE_URL").context("ANTHROPIC_BASE_URL is not set")?;
    let key = std::env::var("ANTHROPIC_API_KEY").context("ANTHROPIC_API_KEY is not set")?;
    let mut args = std::env::args().skip(1);
    let prompt = args.next().context("usage: stream-floor PROMPT [MODEL]")?;
    let model = args
        .next()
        .unwrap_or_else(|| "claude-sonnet-4-5".to_owned());
    let host = base
        .strip_prefix("http://")
        .context("only http:// base URLs")?
        .trim_end_matches('/');

    let body = sse_text::request_body(&prompt, &model)?;
    let mut socket = TcpStream::connect(host).with_context(|| format!("connect {host}"))?;
    socket.set_nodelay(true)?;
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {host}\r\nx-api-key: {key}\r\n\
         anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(&body);
    socket.write_all(&request)?;

    let mut reader = Reader::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(64 * 1024);
    let mut stdout = std::io::stdout().lock();
    loop {
        let n = socket.read(&mut buf)?;
        if n == 0 {
            bail!("the stream ended before message_stop");
        }
        let done = reader.push(&buf[..n], &mut out)?;
        sse_text::print(&mut out, &mut stdout)?;
        if done {
            return Ok(());
        }
    }
}

/// Response head, then chunked body, then SSE lines.
#[derive(Default)]
struct Reader {
    head_done: bool,
    chunked: bool,
    /// Raw bytes not yet decoded (head or chunk framing).
    raw: Vec<u8>,
    /// Decoded body bytes to text.
    text: SseText,
}

impl Reader {
    /// Takes in bytes from the socket; appends text deltas to `out`.
    /// Returns whether `message_stop` arrived.
    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        self.raw.extend_from_slice(bytes);
        if !self.head_done {
            let Some(end) = find(&self.raw, b"\r\n\r\n") else {
                return Ok(false);
            };
            let head = std::str::from_utf8(&self.raw[..end])?.to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                bail!("{}", head.lines().next().unwrap_or_default());
            }
            self.chunked = head.contains("transfer-encoding: chunked");
            self.raw.drain(..end + 4);
            self.head_done = true;
        }
        if self.chunked {
            self.unchunk(out)
        } else {
            let raw = std::mem::take(&mut self.raw);
            self.text.push(&raw, out)
        }
    }

    /// Reads every complete chunk in `raw`; returns whether
    /// `message_stop` arrived.
    fn unchunk(&mut self, out: &mut Vec<u8>) -> anyhow::Result<bool> {
        let mut pos = 0;
        let mut stopped = false;
        while let Some(line_end) = find(&self.raw[pos..], b"\r\n") {
            let size_text = std::str::from_utf8(&self.raw[pos..pos + line_end])?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).context("chunk size")?;
            let data = pos + line_end + 2;
            if self.raw.len() < data + size + 2 {
                break;
            }
            stopped |= self.text.push(&self.raw[data..data + size], out)?;
            pos = data + size + 2;
            if size == 0 {
                break;
            }
        }
        self.raw.drain(..pos);
        Ok(stopped)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}
