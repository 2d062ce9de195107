//! Turns that add a branch instead of extending one, and moving between
//! branches. Nothing is overwritten:
//! - **edit** saves a new version of a user message as its sibling and
//!   answers it;
//! - **regenerate** (also "retry") asks again for a reply to a user
//!   message; the new reply is a sibling of the old ones;
//! - **continue** carries an unfinished reply (interrupted, stopped or
//!   failed) on from where it ended: the partial text is sent back as the
//!   start of the assistant turn and the model's continuation is appended
//!   to the same message;
//! - **switch** makes another sibling's branch the active one.
//!
//! Each turn commits its start (the new message, the active leaf) before
//! the provider request, as [`super`] does for a plain send.

use std::sync::Arc;

use kestrel_shared::{
    ContentBlock, ConversationView, EditMessage, KestrelError, Message, MessageId, MessageStatus,
    Role,
};
use rusqlite::Connection;

use super::{EventStream, TurnStart, check_user_text};
use crate::backend::Backend;
use crate::store::{StoreError, queries, tree};

/// A refusal the user caused (wrong kind of message for the action).
fn refuse(message: &str) -> StoreError {
    StoreError::Refused(message.to_owned())
}

impl Backend {
    /// Saves `request.text` as a new version of a user message (a sibling
    /// of it) and answers it.
    pub async fn edit_message(
        self: &Arc<Self>,
        request: EditMessage,
    ) -> Result<EventStream, KestrelError> {
        check_user_text(&request.text)?;
        self.turn_from(request.message_id, move |conn| {
            commit_edit(conn, request.message_id, request.text)
        })
        .await
    }

    /// Asks for a new reply. `message` is either a reply (a sibling of it
    /// is written) or a user message (it is answered again).
    pub async fn regenerate(
        self: &Arc<Self>,
        message: MessageId,
    ) -> Result<EventStream, KestrelError> {
        self.turn_from(message, move |conn| commit_regenerate(conn, message))
            .await
    }

    /// Carries an unfinished reply on from where it stopped.
    pub async fn continue_reply(
        self: &Arc<Self>,
        message: MessageId,
    ) -> Result<EventStream, KestrelError> {
        self.turn_from(message, move |conn| commit_continue(conn, message))
            .await
    }

    /// Runs a turn that starts at `message`: the key is checked first, then
    /// `commit` saves the turn's start, then the request goes out.
    async fn turn_from(
        self: &Arc<Self>,
        message: MessageId,
        commit: impl FnOnce(&mut Connection) -> Result<TurnStart, StoreError> + Send + 'static,
    ) -> Result<EventStream, KestrelError> {
        let (options, key) = self.message_options(message).await?;
        let start = self.store.call(commit).await.map_err(|e| e.to_kestrel())?;
        Ok(self.start_turn(start, options, key))
    }

    /// Where the open branch of `conversation` forks.
    pub async fn branch_points(
        &self,
        conversation: kestrel_shared::ConversationId,
    ) -> Result<Vec<kestrel_shared::BranchPoint>, KestrelError> {
        self.store
            .call(move |conn| {
                let conversation = queries::get_conversation(conn, conversation)?;
                let path = queries::active_path(conn, &conversation)?;
                tree::branch_points(conn, conversation.id, &path)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Shows the branch through `message` and returns the conversation as
    /// it now reads.
    pub async fn switch_branch(
        &self,
        message: MessageId,
    ) -> Result<ConversationView, KestrelError> {
        self.store
            .call(move |conn| {
                let conversation = tree::switch_to(conn, message)?;
                tree::view(conn, conversation)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }
}

fn commit_edit(
    conn: &mut Connection,
    original: MessageId,
    text: String,
) -> Result<TurnStart, StoreError> {
    let original = queries::get_message(conn, original)?;
    if original.role != Role::User {
        return Err(refuse("Only your own messages can be edited."));
    }
    let mut history = match original.parent_id {
        Some(parent) => queries::path_to(conn, parent)?,
        None => Vec::new(),
    };
    let message = Message {
        id: MessageId::from_uuid(queries::new_uuid()),
        conversation_id: original.conversation_id,
        parent_id: original.parent_id,
        role: Role::User,
        content: vec![ContentBlock::text(text)],
        status: MessageStatus::Complete,
        model: None,
        usage: None,
        created_at: queries::now(),
    };
    queries::insert_message(conn, &message)?;
    history.push(message.clone());
    Ok(TurnStart {
        conversation: queries::get_conversation(conn, message.conversation_id)?,
        user_message: message,
        history,
        continuing: None,
    })
}

fn commit_regenerate(conn: &mut Connection, target: MessageId) -> Result<TurnStart, StoreError> {
    let target = queries::get_message(conn, target)?;
    let user_message = match target.role {
        Role::User => target,
        Role::Assistant => {
            let parent = target
                .parent_id
                .ok_or_else(|| refuse("This reply answers no message."))?;
            queries::get_message(conn, parent)?
        }
    };
    if user_message.role != Role::User {
        return Err(refuse("This reply answers no message of yours."));
    }
    // The active leaf moves when the new reply's first batch is saved; a
    // request that fails before that leaves the old reply showing.
    let history = queries::path_to(conn, user_message.id)?;
    Ok(TurnStart {
        conversation: queries::get_conversation(conn, user_message.conversation_id)?,
        user_message,
        history,
        continuing: None,
    })
}

fn commit_continue(conn: &mut Connection, target: MessageId) -> Result<TurnStart, StoreError> {
    let mut partial = queries::get_message(conn, target)?;
    if partial.role != Role::Assistant {
        return Err(refuse("Only a reply can be continued."));
    }
    if !matches!(
        partial.status,
        MessageStatus::Interrupted | MessageStatus::Cancelled | MessageStatus::Failed
    ) {
        return Err(refuse("This reply is finished; regenerate it instead."));
    }
    if tree::child_count(conn, partial.id)? > 0 {
        return Err(refuse(
            "The conversation went on after this reply; regenerate it instead.",
        ));
    }
    let parent = partial
        .parent_id
        .ok_or_else(|| refuse("This reply answers no message."))?;
    let user_message = queries::get_message(conn, parent)?;
    // The API refuses an assistant turn that ends in whitespace; the
    // continuation brings its own.
    if let Some(ContentBlock::Text { text }) = partial.content.last_mut() {
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
    }
    if partial.content.last().and_then(ContentBlock::as_text) == Some("") {
        partial.content.pop();
    }
    if partial.content.is_empty() {
        return Err(refuse(
            "This reply has nothing to continue; retry it instead.",
        ));
    }
    tree::set_active_leaf(conn, partial.conversation_id, Some(partial.id))?;
    let mut history = queries::path_to(conn, parent)?;
    history.push(partial.clone());
    Ok(TurnStart {
        conversation: queries::get_conversation(conn, partial.conversation_id)?,
        user_message,
        history,
        continuing: Some(partial),
    })
}
