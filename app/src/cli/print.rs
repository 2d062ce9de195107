//! `kestrel -p PROMPT`: print mode. Sends one message through the same
//! backend as the app (same data dir, same SQLite file, so the conversation
//! appears in the app), prints the reply, and exits with a code that says
//! how the turn ended.
//!
//! Input: PROMPT, then piped stdin after a blank line (either alone is
//! enough). Output (`--output-format`):
//! - `text` (default): the reply's text, streamed as it arrives.
//! - `json`: one object when the turn ends; its `message` is the reply in
//!   the exact shape of a Messages API response ([`ApiMessage`]).
//! - `stream-json`: one JSON line per [`ChatEvent`], as the UI receives them.
//!
//! Errors go to stderr. Exit codes ([`exit_code`]):
//!
//! | code | meaning | error kinds |
//! |---|---|---|
//! | 0 | the reply finished | – |
//! | 1 | anything else (local storage, internal) | `storage`, `internal`, … |
//! | 2 | usage: bad flags, no prompt, input refused | `bad_input` |
//! | 3 | no API key, or the key was refused | `no_api_key`, `invalid_api_key`, `permission_denied`, `billing` |
//! | 4 | rate limited or overloaded: try again later | `rate_limited`, `overloaded` |
//! | 5 | network: unreachable, timed out, stream cut off | `network`, `timeout`, `stream_interrupted` |
//! | 6 | the API refused or failed the request | `invalid_request`, `not_found`, `request_too_large`, `context_too_long`, `provider_error` |
//! | 130 | interrupted (Ctrl-C); the partial reply is saved as cancelled | – |
//! | 141 | stdout was closed (e.g. `| head`); the reply is saved as cancelled | – |
//!
//! Start-up cost is kept to what one turn needs: a current-thread runtime,
//! warnings-only logging to the log file (stderr too when `RUST_LOG` is
//! set), and the backend's SQLite open. Output is buffered and flushed
//! whenever no further event is ready, so a fast stream costs few writes
//! and a slow one shows every token at once.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::ValueEnum;
use futures::{FutureExt, StreamExt};
use kestrel_server::Backend;
use kestrel_server::config::{Config, Connections};
use kestrel_server::secrets::KeyStore;
use kestrel_shared::{
    ApiMessage, ChatEvent, ErrorKind, KestrelError, ReplyAssembler, SendMessage, TurnId,
};
use serde::Serialize;

/// Print-mode flags (flattened into the top-level command).
#[derive(Debug, clap::Args)]
pub struct PrintArgs {
    /// Print mode: send PROMPT (and piped stdin), print the reply, exit.
    #[arg(short = 'p', long = "print")]
    pub print: bool,

    /// The message to send (with -p). Piped stdin is added after it.
    #[arg(value_name = "PROMPT", requires = "print")]
    prompt: Option<String>,

    /// The model to use [default: KESTREL_MODEL, or claude-sonnet-4-5]
    #[arg(long, value_name = "MODEL", requires = "print")]
    model: Option<String>,

    /// The system prompt of the new conversation.
    #[arg(long, value_name = "TEXT", requires = "print")]
    system: Option<String>,

    /// The most model calls one run may make. Without tools a turn is one
    /// model call, so every N ≥ 1 runs exactly one.
    #[arg(long, value_name = "N", requires = "print",
          value_parser = clap::value_parser!(u32).range(1..))]
    max_turns: Option<u32>,

    /// How to print the reply.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
}

/// `--output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// The reply's text, streamed.
    Text,
    /// One JSON object at the end, with the reply as a Messages API message.
    Json,
    /// One JSON line per event of the turn.
    StreamJson,
}

/// Exit codes (see the table at the top of this file).
const EXIT_OTHER: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INTERRUPTED: u8 = 130;
const EXIT_STDOUT_CLOSED: u8 = 141;

/// The exit code for a turn that failed with `kind`.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput => EXIT_USAGE,
        ErrorKind::NoApiKey
        | ErrorKind::InvalidApiKey
        | ErrorKind::PermissionDenied
        | ErrorKind::Billing => 3,
        ErrorKind::RateLimited | ErrorKind::Overloaded => 4,
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::StreamInterrupted => 5,
        ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::RequestTooLarge
        | ErrorKind::ContextTooLong
        | ErrorKind::ProviderError => 6,
        _ => EXIT_OTHER,
    }
}

/// Runs print mode to the end of the turn.
pub fn run(args: PrintArgs, data_dir: Option<PathBuf>) -> ExitCode {
    let started = Instant::now();
    let text = match message_text(args.prompt.as_deref()) {
        Ok(text) => text,
        Err(problem) => {
            eprintln!("kestrel: {problem}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut config = match Config::resolve(data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kestrel: {error}");
            return ExitCode::from(EXIT_OTHER);
        }
    };
    if let Some(model) = args.model {
        config.default_model = model;
    }
    // One request, then the process ends.
    config.connections = Connections::OneShot;
    init_logging(&config);
    let backend = match Backend::open(config, KeyStore::open()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::from(EXIT_OTHER);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kestrel: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_OTHER);
        }
    };
    let turn = Turn {
        backend,
        format: args.output_format,
        system: args.system,
        started,
    };
    ExitCode::from(runtime.block_on(turn.run(text)))
}

/// The user's message: PROMPT, then piped stdin after a blank line.
fn message_text(prompt: Option<&str>) -> Result<String, String> {
    let mut piped = String::new();
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut bytes = Vec::new();
        stdin
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|error| format!("cannot read stdin: {error}"))?;
        piped = String::from_utf8(bytes).map_err(|_| "stdin is not UTF-8 text".to_owned())?;
    }
    let prompt = prompt.unwrap_or_default();
    let text = match (prompt.trim().is_empty(), piped.trim().is_empty()) {
        (false, false) => format!("{prompt}\n\n{piped}"),
        (false, true) => prompt.to_owned(),
        (true, false) => piped,
        (true, true) => {
            return Err(
                "nothing to send: give a prompt (`kestrel -p \"PROMPT\"`) or pipe text in"
                    .to_owned(),
            );
        }
    };
    Ok(text)
}

/// Warnings and errors go to `logs/kestrel.log` in the data dir, written as
/// they happen (no writer thread); `RUST_LOG` adds stderr and sets the
/// level. Stdout stays the reply's alone.
fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let log_dir = config.log_dir();
    let file = std::fs::create_dir_all(&log_dir).ok().and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join("kestrel.log"))
            .ok()
    });
    let file_layer = file.map(|file| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Mutex::new(file))
    });
    let (filter, stderr_layer) = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => (
            EnvFilter::new(directives),
            Some(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)),
        ),
        _ => (
            EnvFilter::default().add_directive(LevelFilter::WARN.into()),
            None,
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
}

/// One print-mode turn.
struct Turn {
    backend: Arc<Backend>,
    format: OutputFormat,
    system: Option<String>,
    started: Instant,
}

/// Why the output loop stopped writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupted,
    StdoutClosed,
}

impl Turn {
    async fn run(self, text: String) -> u8 {
        // Before anything is sent, so that Ctrl-C always cancels cleanly.
        let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
        let conversation_id = match &self.system {
            Some(system) => match self.new_conversation(system.clone()).await {
                Ok(id) => Some(id),
                Err(error) => return self.refused(&error),
            },
            None => None,
        };
        let mut events = match self
            .backend
            .send_message(SendMessage {
                conversation_id,
                text,
            })
            .await
        {
            Ok(events) => events,
            Err(error) => return self.refused(&error),
        };

        let mut out = Output::new(self.format);
        let mut turn_id: Option<TurnId> = None;
        let mut stop: Option<Stop> = None;
        loop {
            let event = match events.next().now_or_never() {
                Some(event) => event,
                None => {
                    if stop != Some(Stop::StdoutClosed) && out.flush().is_err() {
                        stop = Some(self.cancel(turn_id, Stop::StdoutClosed));
                    }
                    tokio::select! {
                        event = events.next() => event,
                        signal = &mut ctrl_c, if stop.is_none() => {
                            if signal.is_ok() {
                                stop = Some(self.cancel(turn_id, Stop::Interrupted));
                            }
                            continue;
                        }
                    }
                }
            };
            let Some(event) = event else { break };
            if let ChatEvent::TurnStarted { turn_id: id, .. } = &event {
                turn_id = Some(*id);
            }
            // A wait on the provider is said where the person running the
            // command sees it (stream-json has it as an event on stdout).
            if let ChatEvent::Retrying {
                attempt,
                delay_ms,
                error,
            } = &event
                && self.format != OutputFormat::StreamJson
            {
                eprintln!("kestrel: {}", error.kind.retry_notice(*attempt, *delay_ms));
            }
            if stop != Some(Stop::StdoutClosed) && out.event(&event).is_err() {
                stop = Some(self.cancel(turn_id, Stop::StdoutClosed));
            }
            if event.is_terminal() {
                return self.end(event, out, stop);
            }
        }
        eprintln!("kestrel: the turn ended without a result");
        EXIT_OTHER
    }

    async fn new_conversation(
        &self,
        system: String,
    ) -> Result<kestrel_shared::ConversationId, KestrelError> {
        let conversation = self.backend.create_conversation().await?;
        self.backend
            .set_system_prompt(conversation.id, system)
            .await?;
        Ok(conversation.id)
    }

    fn cancel(&self, turn: Option<TurnId>, why: Stop) -> Stop {
        if let Some(turn) = turn {
            self.backend.cancel_turn(turn);
        }
        why
    }

    /// A refusal before anything was saved.
    fn refused(&self, error: &KestrelError) -> u8 {
        report(error);
        exit_code(error.kind)
    }

    /// Prints the end of the turn and picks the exit code.
    fn end(&self, terminal: ChatEvent, mut out: Output, stop: Option<Stop>) -> u8 {
        let code = match (&terminal, stop) {
            (_, Some(Stop::StdoutClosed)) => return EXIT_STDOUT_CLOSED,
            (ChatEvent::Error { error, .. }, _) => {
                report(error);
                exit_code(error.kind)
            }
            (ChatEvent::Cancelled { .. }, _) | (_, Some(Stop::Interrupted)) => {
                eprintln!("kestrel: interrupted; the partial reply is saved");
                EXIT_INTERRUPTED
            }
            _ => 0,
        };
        let elapsed = self.started.elapsed();
        if out.finish(&terminal, elapsed).is_err() {
            return EXIT_STDOUT_CLOSED;
        }
        code
    }
}

/// An error on stderr: the headline and details, and the provider's
/// request id when there is one (for support requests).
fn report(error: &KestrelError) {
    match &error.request_id {
        Some(id) => eprintln!("kestrel: {error} (request id {id})"),
        None => eprintln!("kestrel: {error}"),
    }
}

/// Writes one format to stdout.
struct Output {
    format: OutputFormat,
    stdout: std::io::BufWriter<std::io::Stdout>,
    assembler: ReplyAssembler,
    conversation: Option<String>,
    /// Text output: the block last written to, and whether it ended with a
    /// newline.
    last_block: Option<u32>,
    ends_with_newline: bool,
}

/// `--output-format json`: the result of the run.
#[derive(Serialize)]
struct JsonResult<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// `success`, `error` or `cancelled`.
    subtype: &'static str,
    is_error: bool,
    conversation_id: Option<&'a str>,
    num_turns: u32,
    duration_ms: u128,
    /// The reply's text.
    result: String,
    /// The reply as a Messages API response; `null` if the provider never
    /// answered.
    message: Option<ApiMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a KestrelError>,
}

impl Output {
    fn new(format: OutputFormat) -> Self {
        Self {
            format,
            stdout: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            assembler: ReplyAssembler::new(),
            conversation: None,
            last_block: None,
            ends_with_newline: true,
        }
    }

    fn event(&mut self, event: &ChatEvent) -> std::io::Result<()> {
        if let ChatEvent::TurnStarted { conversation, .. } = event {
            self.conversation = Some(conversation.id.to_string());
        }
        match self.format {
            OutputFormat::Text => match event {
                ChatEvent::TextDelta { index, text } if !text.is_empty() => {
                    if self.last_block.is_some_and(|last| last != *index) {
                        self.stdout.write_all(b"\n\n")?;
                    }
                    self.last_block = Some(*index);
                    self.stdout.write_all(text.as_bytes())?;
                    self.ends_with_newline = text.ends_with('\n');
                    Ok(())
                }
                _ => Ok(()),
            },
            OutputFormat::Json => {
                self.assembler.push(event);
                Ok(())
            }
            OutputFormat::StreamJson => {
                serde_json::to_writer(&mut self.stdout, event)?;
                self.stdout.write_all(b"\n")
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stdout.flush()
    }

    /// Ends the output after the terminal event.
    fn finish(
        &mut self,
        terminal: &ChatEvent,
        elapsed: std::time::Duration,
    ) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Text if !self.ends_with_newline => self.stdout.write_all(b"\n")?,
            OutputFormat::Text | OutputFormat::StreamJson => {}
            OutputFormat::Json => {
                let (subtype, error, reply) = match terminal {
                    ChatEvent::Done { message, .. } => ("success", None, Some(message)),
                    ChatEvent::Error { error, message } => ("error", Some(error), message.as_ref()),
                    ChatEvent::Cancelled { message } => ("cancelled", None, message.as_ref()),
                    _ => ("error", None, None),
                };
                let assembler = std::mem::take(&mut self.assembler);
                let result = JsonResult {
                    kind: "result",
                    subtype,
                    is_error: subtype != "success",
                    conversation_id: self.conversation.as_deref(),
                    num_turns: 1,
                    duration_ms: elapsed.as_millis(),
                    result: reply.map(|m| m.text()).unwrap_or_default(),
                    message: assembler.finish(),
                    error,
                };
                serde_json::to_writer(&mut self.stdout, &result)?;
                self.stdout.write_all(b"\n")?;
            }
        }
        self.stdout.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_error_kind_has_its_documented_code() {
        let cases = [
            (ErrorKind::BadInput, 2),
            (ErrorKind::NoApiKey, 3),
            (ErrorKind::InvalidApiKey, 3),
            (ErrorKind::PermissionDenied, 3),
            (ErrorKind::Billing, 3),
            (ErrorKind::RateLimited, 4),
            (ErrorKind::Overloaded, 4),
            (ErrorKind::Network, 5),
            (ErrorKind::Timeout, 5),
            (ErrorKind::StreamInterrupted, 5),
            (ErrorKind::InvalidRequest, 6),
            (ErrorKind::NotFound, 6),
            (ErrorKind::RequestTooLarge, 6),
            (ErrorKind::ContextTooLong, 6),
            (ErrorKind::ProviderError, 6),
            (ErrorKind::Storage, 1),
            (ErrorKind::Internal, 1),
            (ErrorKind::Disconnected, 1),
        ];
        for (kind, code) in cases {
            assert_eq!((kind, exit_code(kind)), (kind, code));
        }
    }
}
