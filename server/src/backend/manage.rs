//! The backend's conversation management: rename, pin, archive, delete
//! and undo, and the auto-title setting. The SQL is in
//! [`crate::store::conversations`].

use kestrel_shared::{Conversation, ConversationId, KestrelError, Settings};

use super::Backend;
use crate::store::{conversations, queries};

impl Backend {
    pub async fn rename_conversation(
        &self,
        id: ConversationId,
        title: String,
    ) -> Result<Conversation, KestrelError> {
        self.store
            .call(move |conn| conversations::rename(conn, id, &title))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn pin_conversation(
        &self,
        id: ConversationId,
        pinned: bool,
    ) -> Result<Conversation, KestrelError> {
        self.store
            .call(move |conn| conversations::set_pinned(conn, id, pinned))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn archive_conversation(
        &self,
        id: ConversationId,
        archived: bool,
    ) -> Result<Conversation, KestrelError> {
        self.store
            .call(move |conn| conversations::set_archived(conn, id, archived))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Hides a conversation; [`Self::restore_conversation`] undoes it until
    /// Kestrel restarts, when it is removed for good.
    pub async fn delete_conversation(&self, id: ConversationId) -> Result<(), KestrelError> {
        self.store
            .call(move |conn| conversations::delete(conn, id))
            .await
            .map_err(|e| e.to_kestrel())
    }

    pub async fn restore_conversation(
        &self,
        id: ConversationId,
    ) -> Result<Conversation, KestrelError> {
        self.store
            .call(move |conn| conversations::restore(conn, id))
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// Whether to skip asking the model for a title after the first
    /// exchange.
    pub async fn set_skip_auto_title(&self, skip: bool) -> Result<Settings, KestrelError> {
        self.store
            .call(move |conn| {
                queries::save_skip_auto_title(conn, skip)?;
                queries::load_settings(conn)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }
}
