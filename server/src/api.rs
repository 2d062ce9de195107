//! The server functions: the only doors from the UI into the backend.
//!
//! Each is a thin, explicitly-pathed wrapper over a [`crate::Backend`]
//! method. Built with the `server` feature they run in-process (desktop)
//! or behind the web server's routes; built without it (the wasm UI) they
//! are HTTP calls to the same paths on the page's own origin. Every
//! function returns JSON or a framed JSON stream, the two forms that work
//! both ways.
//!
//! Errors cross as [`ServerFnError::ServerError`] whose `details` hold a
//! [`KestrelError`]; [`to_kestrel_error`] turns any failure back into one.
//!
//! A turn's events travel as NDJSON bytes ([`kestrel_shared::frame`]) and
//! are read back with [`EventReader`], which buffers across chunks. (The
//! framework's typed stream decoder assumes every network chunk holds whole
//! frames, which large events and real networks break.)

mod models;

pub use models::{
    conversation_options, conversation_provider, list_models, prices, provider_models,
    set_conversation_model, set_conversation_options, set_conversation_provider,
};

use bytes::Bytes;
use dioxus::fullstack::Streaming;
use dioxus::prelude::*;
use kestrel_shared::frame::{EventDecoder, FrameError};
use kestrel_shared::{
    ChatEvent, Conversation, ConversationId, ConversationView, ErrorKind, KestrelError, KeyStatus,
    SendMessage, Settings, Theme, TurnId,
};

/// Every conversation, most recently active first.
#[get("/api/v1/conversations")]
pub async fn list_conversations() -> Result<Vec<Conversation>, ServerFnError> {
    server::backend()?
        .list_conversations()
        .await
        .map_err(server::to_server_error)
}

/// A conversation with the messages of its active branch.
#[post("/api/v1/conversations/load")]
pub async fn load_conversation(id: ConversationId) -> Result<ConversationView, ServerFnError> {
    server::backend()?
        .load_conversation(id)
        .await
        .map_err(server::to_server_error)
}

/// A new, empty conversation.
#[post("/api/v1/conversations/new")]
pub async fn create_conversation() -> Result<Conversation, ServerFnError> {
    server::backend()?
        .create_conversation()
        .await
        .map_err(server::to_server_error)
}

/// Sets the system prompt of a conversation.
#[post("/api/v1/conversations/system-prompt")]
pub async fn set_system_prompt(
    id: ConversationId,
    system_prompt: String,
) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .set_system_prompt(id, system_prompt)
        .await
        .map_err(server::to_server_error)
}

/// Sends a user message and streams the turn's events as NDJSON; read them
/// with [`EventReader`]. A message refused before anything was saved (no
/// key, empty text, unknown conversation) is a stream of one `Error` event,
/// so that every failure reaches the UI the same way on every platform.
#[post("/api/v1/chat")]
pub async fn send_message(request: SendMessage) -> Result<Streaming<Bytes>, ServerFnError> {
    use futures::stream::{self, BoxStream};

    let started = match Backend::global() {
        Ok(backend) => backend.send_message(request).await,
        Err(error) => Err(error),
    };
    let events: BoxStream<'static, ChatEvent> = match started {
        Ok(events) => Box::pin(events),
        Err(error) => Box::pin(stream::iter([ChatEvent::Error {
            error,
            message: None,
        }])),
    };
    let lines = futures::StreamExt::map(events, |event| {
        Bytes::from(kestrel_shared::frame::encode_event(&event))
    });
    Ok(Streaming::new(lines))
}

/// Reads a turn's events from [`send_message`]'s byte stream.
pub struct EventReader {
    bytes: Streaming<Bytes>,
    decoder: EventDecoder,
    ready: std::collections::VecDeque<Result<ChatEvent, FrameError>>,
    scratch: Vec<Result<ChatEvent, FrameError>>,
    ended: bool,
}

impl EventReader {
    pub fn new(bytes: Streaming<Bytes>) -> Self {
        Self {
            bytes,
            decoder: EventDecoder::new(),
            ready: Default::default(),
            scratch: Vec::new(),
            ended: false,
        }
    }

    /// The next event; `None` once the stream has ended. Cancel-safe: a
    /// call dropped before it completes loses nothing.
    pub async fn next(&mut self) -> Option<Result<ChatEvent, KestrelError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(
                    item.map_err(|e| {
                        KestrelError::new(ErrorKind::StreamInterrupted, e.to_string())
                    }),
                );
            }
            if self.ended {
                return None;
            }
            match self.bytes.next().await {
                Some(Ok(chunk)) => {
                    self.decoder.push(&chunk, &mut self.scratch);
                    self.ready.extend(self.scratch.drain(..));
                }
                Some(Err(error)) => {
                    self.ended = true;
                    return Some(Err(KestrelError::new(
                        ErrorKind::Disconnected,
                        error.to_string(),
                    )));
                }
                None => {
                    self.ended = true;
                    self.ready.extend(self.decoder.finish().map(Err));
                }
            }
        }
    }
}

/// Stops a running turn; the partial reply is kept. Returns whether the
/// turn was still running.
#[post("/api/v1/chat/cancel")]
pub async fn cancel_turn(turn_id: TurnId) -> Result<bool, ServerFnError> {
    Ok(server::backend()?.cancel_turn(turn_id))
}

#[get("/api/v1/settings")]
pub async fn get_settings() -> Result<Settings, ServerFnError> {
    server::backend()?
        .settings()
        .await
        .map_err(server::to_server_error)
}

#[post("/api/v1/settings/theme")]
pub async fn set_theme(theme: Theme) -> Result<Settings, ServerFnError> {
    server::backend()?
        .set_theme(theme)
        .await
        .map_err(server::to_server_error)
}

/// Whether a key is configured, where from, and its last four characters.
#[get("/api/v1/settings/key")]
pub async fn key_status() -> Result<KeyStatus, ServerFnError> {
    Ok(server::backend()?.key_status())
}

/// Sets the API key for this session (blank removes it). The answer holds
/// only the new status, never the key.
#[post("/api/v1/settings/key")]
pub async fn set_api_key(key: String) -> Result<KeyStatus, ServerFnError> {
    Ok(server::backend()?.set_session_key(&key))
}

/// Turns any server-function failure into the error the UI shows.
pub fn to_kestrel_error(error: ServerFnError) -> KestrelError {
    match error {
        ServerFnError::ServerError {
            details: Some(details),
            message,
            ..
        } => serde_json::from_value(details)
            .unwrap_or_else(|_| KestrelError::new(ErrorKind::Internal, message)),
        ServerFnError::ServerError { message, .. } => {
            KestrelError::new(ErrorKind::Internal, message)
        }
        ServerFnError::Request(error) => {
            KestrelError::new(ErrorKind::Disconnected, error.to_string())
        }
        ServerFnError::StreamError(message) => KestrelError::new(ErrorKind::Disconnected, message),
        other => KestrelError::new(ErrorKind::Internal, other.to_string()),
    }
}

#[cfg(feature = "server")]
use crate::Backend;

#[cfg(feature = "server")]
mod server {
    use std::sync::Arc;

    use dioxus::prelude::ServerFnError;
    use kestrel_shared::{ErrorKind, KestrelError};

    use crate::backend::Backend;

    pub fn backend() -> Result<Arc<Backend>, ServerFnError> {
        Backend::global().map_err(to_server_error)
    }

    /// The HTTP status that matches an error kind.
    fn status(kind: ErrorKind) -> u16 {
        match kind {
            ErrorKind::BadInput => 400,
            ErrorKind::NoApiKey | ErrorKind::InvalidApiKey => 401,
            ErrorKind::RateLimited => 429,
            ErrorKind::Network
            | ErrorKind::Timeout
            | ErrorKind::Overloaded
            | ErrorKind::ProviderError => 502,
            _ => 500,
        }
    }

    pub fn to_server_error(error: KestrelError) -> ServerFnError {
        ServerFnError::ServerError {
            message: error.to_string(),
            code: status(error.kind),
            details: serde_json::to_value(&error).ok(),
        }
    }
}
