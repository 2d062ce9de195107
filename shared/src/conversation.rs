//! Conversations as the UI lists and opens them, and the request that sends
//! a user message into one.

use serde::{Deserialize, Serialize};

use crate::{BranchPoint, ConversationId, Message, MessageId};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A conversation's metadata, without its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    /// Shown in the sidebar; empty until the first message names it.
    pub title: String,
    /// Sent as the `system` prompt of every request in this conversation.
    pub system_prompt: String,
    /// The model the next turn uses.
    pub model: String,
    /// The message the conversation currently ends at (the tip of the
    /// active branch), if it has any messages.
    pub active_leaf: Option<MessageId>,
    pub created_at: Timestamp,
    /// Last activity: a message sent or received, or a setting changed.
    pub updated_at: Timestamp,
    /// Listed above the others.
    #[serde(default)]
    pub pinned: bool,
    /// Listed apart, under "Archived".
    #[serde(default)]
    pub archived: bool,
}

/// A conversation opened in the UI: its metadata and the messages of its
/// active branch, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    /// The messages of `messages` that have siblings, with their position.
    #[serde(default)]
    pub branches: Vec<BranchPoint>,
}

/// What the UI sends when the user presses Send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The conversation to continue, or `None` to start a new one.
    pub conversation_id: Option<ConversationId>,
    /// The user's text, exactly as typed.
    pub text: String,
}
