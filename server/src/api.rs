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
    BranchPoint, ChatEvent, Conversation, ConversationId, ConversationView, EditMessage, ErrorKind,
    KestrelError, KeyCheck, KeyStatus, MessageId, ProviderKind, SearchQuery, SearchResults,
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

/// Full-text search over messages or conversation titles.
#[post("/api/v1/search")]
pub async fn search(query: SearchQuery) -> Result<SearchResults, ServerFnError> {
    server::backend()?
        .search(query)
        .await
        .map_err(server::to_server_error)
}

/// The conversation holding a message, with that message's branch made
/// the active one (a search result was chosen).
#[post("/api/v1/search/reveal")]
pub async fn reveal_message(message_id: MessageId) -> Result<ConversationView, ServerFnError> {
    server::backend()?
        .reveal_message(message_id)
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

/// Saves a new version of a user message beside the old one and streams
/// its answer, as [`send_message`] does.
#[post("/api/v1/chat/edit")]
pub async fn edit_message(request: EditMessage) -> Result<Streaming<Bytes>, ServerFnError> {
    let started = match Backend::global() {
        Ok(backend) => backend.edit_message(request).await,
        Err(error) => Err(error),
    };
    Ok(server::event_bytes(started))
}

/// Asks again for a reply to a user message (`message_id` is the message
/// or one of its replies); the new reply becomes a sibling of the old.
#[post("/api/v1/chat/regenerate")]
pub async fn regenerate(message_id: MessageId) -> Result<Streaming<Bytes>, ServerFnError> {
    let started = match Backend::global() {
        Ok(backend) => backend.regenerate(message_id).await,
        Err(error) => Err(error),
    };
    Ok(server::event_bytes(started))
}

/// Carries an interrupted, stopped or failed reply on from where it ended.
#[post("/api/v1/chat/continue")]
pub async fn continue_reply(message_id: MessageId) -> Result<Streaming<Bytes>, ServerFnError> {
    let started = match Backend::global() {
        Ok(backend) => backend.continue_reply(message_id).await,
        Err(error) => Err(error),
    };
    Ok(server::event_bytes(started))
}

/// Shows the branch through `message_id` (a sibling picked with ‹ ›).
#[post("/api/v1/conversations/switch-branch")]
pub async fn switch_branch(message_id: MessageId) -> Result<ConversationView, ServerFnError> {
    server::backend()?
        .switch_branch(message_id)
        .await
        .map_err(server::to_server_error)
}

/// Where the active branch of a conversation forks (after a turn added a
/// sibling).
#[post("/api/v1/conversations/branches")]
pub async fn branch_points(id: ConversationId) -> Result<Vec<BranchPoint>, ServerFnError> {
    server::backend()?
        .branch_points(id)
        .await
        .map_err(server::to_server_error)
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

/// Whether `provider`'s key is configured, where from, its last four
/// characters, and the endpoint it is for (`?provider=anthropic|openai`).
#[get("/api/v1/settings/key?provider")]
pub async fn key_status(provider: ProviderKind) -> Result<KeyStatus, ServerFnError> {
    Ok(server::backend()?.key_status(provider).await)
}

/// Saves `provider`'s API key: in the OS keychain, or for this session
/// only when no keychain is available (blank removes it). The answer holds
/// only the new status, never the key.
#[post("/api/v1/settings/key")]
pub async fn set_api_key(provider: ProviderKind, key: String) -> Result<KeyStatus, ServerFnError> {
    server::backend()?
        .set_api_key(provider, &key)
        .await
        .map_err(server::to_server_error)
}

/// Removes `provider`'s API key from the keychain and from memory.
#[post("/api/v1/settings/key/delete")]
pub async fn delete_api_key(provider: ProviderKind) -> Result<KeyStatus, ServerFnError> {
    server::backend()?
        .delete_api_key(provider)
        .await
        .map_err(server::to_server_error)
}

/// Makes one cheap authenticated call to `provider` with its active key.
#[post("/api/v1/settings/key/check")]
pub async fn check_api_key(provider: ProviderKind) -> Result<KeyCheck, ServerFnError> {
    Ok(server::backend()?.check_api_key(provider).await)
}

/// Points the OpenAI-compatible provider at another server (blank: the
/// default) and answers with that endpoint's key status; keys are kept per
/// endpoint. A malformed or non-http(s) address is refused with 400.
#[post("/api/v1/settings/openai-base-url")]
pub async fn set_openai_base_url(base_url: String) -> Result<KeyStatus, ServerFnError> {
    server::backend()?
        .set_openai_base_url(&base_url)
        .await
        .map_err(server::to_server_error)
}

/// Renames a conversation.
#[post("/api/v1/conversations/rename")]
pub async fn rename_conversation(
    id: ConversationId,
    title: String,
) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .rename_conversation(id, title)
        .await
        .map_err(server::to_server_error)
}

/// Pins a conversation to the top of the list, or unpins it.
#[post("/api/v1/conversations/pin")]
pub async fn pin_conversation(
    id: ConversationId,
    pinned: bool,
) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .pin_conversation(id, pinned)
        .await
        .map_err(server::to_server_error)
}

/// Moves a conversation to "Archived", or back.
#[post("/api/v1/conversations/archive")]
pub async fn archive_conversation(
    id: ConversationId,
    archived: bool,
) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .archive_conversation(id, archived)
        .await
        .map_err(server::to_server_error)
}

/// Deletes a conversation; [`restore_conversation`] undoes it until
/// Kestrel restarts.
#[post("/api/v1/conversations/delete")]
pub async fn delete_conversation(id: ConversationId) -> Result<(), ServerFnError> {
    server::backend()?
        .delete_conversation(id)
        .await
        .map_err(server::to_server_error)
}

/// Undoes [`delete_conversation`].
#[post("/api/v1/conversations/restore")]
pub async fn restore_conversation(id: ConversationId) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .restore_conversation(id)
        .await
        .map_err(server::to_server_error)
}

/// Asks the model for a short title after the first exchange (unless
/// skipped in settings or renamed); returns the conversation as it is.
#[post("/api/v1/conversations/auto-title")]
pub async fn auto_title(id: ConversationId) -> Result<Conversation, ServerFnError> {
    server::backend()?
        .auto_title(id)
        .await
        .map_err(server::to_server_error)
}

/// Whether to skip the title request after the first exchange.
#[post("/api/v1/settings/skip-auto-title")]
pub async fn set_skip_auto_title(skip: bool) -> Result<Settings, ServerFnError> {
    server::backend()?
        .set_skip_auto_title(skip)
        .await
        .map_err(server::to_server_error)
}

/// One conversation as Markdown or as Kestrel's JSON: every branch, or
/// only the active one with `branch_only`.
#[post("/api/v1/conversations/export")]
pub async fn export_conversation(
    id: ConversationId,
    markdown: bool,
    branch_only: bool,
) -> Result<String, ServerFnError> {
    use crate::ExportFormat;
    use crate::transfer::Scope;

    let format = if markdown {
        ExportFormat::Markdown
    } else {
        ExportFormat::Json
    };
    let scope = if branch_only {
        Scope::Branch
    } else {
        Scope::Tree
    };
    server::backend()?
        .export_conversation(id, format, scope)
        .await
        .map_err(server::to_server_error)
}

/// Saves one conversation's export as a file on this machine (the desktop
/// app): every branch, or only the active one with `branch_only`. Returns
/// where.
#[post("/api/v1/conversations/save-export")]
pub async fn save_export(
    id: ConversationId,
    markdown: bool,
    branch_only: bool,
) -> Result<String, ServerFnError> {
    use crate::transfer::Scope;

    let format = if markdown {
        crate::ExportFormat::Markdown
    } else {
        crate::ExportFormat::Json
    };
    let scope = if branch_only {
        Scope::Branch
    } else {
        Scope::Tree
    };
    server::backend()?
        .save_export(id, format, scope)
        .await
        .map(|path| path.display().to_string())
        .map_err(server::to_server_error)
}

/// Every conversation, whole trees, as one JSON archive (the browser
/// downloads it).
#[post("/api/v1/export-all")]
pub async fn export_all() -> Result<String, ServerFnError> {
    server::backend()?
        .export_all()
        .await
        .map_err(server::to_server_error)
}

/// Saves every conversation as one JSON archive on this machine (the
/// desktop app) and returns where.
#[post("/api/v1/save-export-all")]
pub async fn save_export_all() -> Result<String, ServerFnError> {
    server::backend()?
        .save_export_all()
        .await
        .map(|path| path.display().to_string())
        .map_err(server::to_server_error)
}

/// Imports a file's text, read by the app: Kestrel's JSON archive, a
/// Claude.ai export or a ChatGPT export (`conversations.json`), told apart
/// by shape. All of it or nothing; returns what was imported, as a
/// sentence for the user.
#[post("/api/v1/import")]
pub async fn import_conversations(data: String) -> Result<String, ServerFnError> {
    server::backend()?
        .import_bytes(data.into_bytes(), None)
        .await
        .map(|report| report.summary())
        .map_err(server::to_server_error)
}

/// Keeps the composer's unsent text for a conversation (`None`: the new
/// conversation's composer); empty text deletes it.
#[post("/api/v1/drafts/save")]
pub async fn save_draft(
    conversation_id: Option<ConversationId>,
    text: String,
) -> Result<(), ServerFnError> {
    server::backend()?
        .save_draft(conversation_id, text)
        .await
        .map_err(server::to_server_error)
}

/// The unsent text of a conversation, or empty text.
#[post("/api/v1/drafts/load")]
pub async fn load_draft(conversation_id: Option<ConversationId>) -> Result<String, ServerFnError> {
    server::backend()?
        .load_draft(conversation_id)
        .await
        .map_err(server::to_server_error)
}

/// What the user must be told about this start (a damaged database kept
/// aside); empty on a normal start.
#[get("/api/v1/notices")]
pub async fn startup_notices() -> Result<Vec<String>, ServerFnError> {
    Ok(server::backend()?.notices())
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

    /// A turn's events as NDJSON bytes; a turn refused before it started
    /// is a stream of one `Error` event.
    pub fn event_bytes(
        started: Result<crate::chat::EventStream, KestrelError>,
    ) -> dioxus::fullstack::Streaming<bytes::Bytes> {
        use futures::stream::{self, BoxStream};

        let events: BoxStream<'static, kestrel_shared::ChatEvent> = match started {
            Ok(events) => Box::pin(events),
            Err(error) => Box::pin(stream::iter([kestrel_shared::ChatEvent::Error {
                error,
                message: None,
            }])),
        };
        dioxus::fullstack::Streaming::new(futures::StreamExt::map(events, |event| {
            bytes::Bytes::from(kestrel_shared::frame::encode_event(&event))
        }))
    }

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
