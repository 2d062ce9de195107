//! The typed protocol between Kestrel's UI and its backend.
//!
//! Everything that crosses the boundary between the Dioxus UI and the Rust
//! backend is defined here: ids ([`ConversationId`], [`MessageId`],
//! [`TurnId`]), stored records ([`Conversation`], [`Message`] with its
//! [`ContentBlock`]s), the event stream of one turn ([`ChatEvent`],
//! [`AgentState`]), settings ([`Settings`], [`KeyStatus`]) and the error the UI
//! shows ([`KestrelError`] with its [`ErrorKind`]).
//!
//! This crate does no I/O and depends on nothing that cannot build for
//! `wasm32-unknown-unknown`.
//!
//! ```
//! use kestrel_shared::{ChatEvent, ContentBlock};
//!
//! let event = ChatEvent::TextDelta { index: 0, text: "Hel".into() };
//! let json = serde_json::to_string(&event).unwrap();
//! assert_eq!(json, r#"{"type":"text_delta","index":0,"text":"Hel"}"#);
//! assert_eq!(ContentBlock::text("hi").as_text(), Some("hi"));
//! ```

mod api_message;
mod conversation;
mod error;
mod event;
pub mod frame;
mod ids;
mod message;
mod model;
mod search;
mod settings;
mod tree;

pub use api_message::{ApiMessage, ReplyAssembler};
pub use conversation::{Conversation, ConversationView, SendMessage, Timestamp};
pub use error::{ErrorKind, KestrelError};
pub use event::{AgentState, ChatEvent, StopReason, ToolCallEvent, Usage};
pub use ids::{ConversationId, IdParseError, MessageId, TurnId};
pub use message::{ContentBlock, MediaSource, Message, MessageStatus, Role};
pub use model::{
    ConversationOptions, Cost, ModelInfo, Price, PriceList, ProviderKind, ThinkingSupport,
    price_for,
};
pub use search::{
    MAX_SEARCH_LIMIT, Ranking, SearchHit, SearchQuery, SearchResults, SearchScope, SnippetPart,
};
pub use settings::{KeyCheck, KeySource, KeyStatus, SecureStore, Settings, Theme};
pub use tree::{BranchPoint, EditMessage};

/// The longest user message the backend accepts, in bytes (4 MiB).
///
/// Large pastes are normal; this bound only stops a runaway client.
pub const MAX_USER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The longest system prompt the backend accepts, in bytes (256 KiB).
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 256 * 1024;
