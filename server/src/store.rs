//! The conversation store: one SQLite file (WAL) holding conversations, the
//! message tree and settings.
//!
//! [`Store`] is the async face the rest of the backend uses: every call runs
//! on a blocking thread against one connection behind a mutex (one writer),
//! so the async runtime never waits on disk. The SQL lives in [`schema`]
//! (migrations), [`queries`] (plain functions over a `Connection`, which
//! tests call directly), [`shape`] (reading a branch and its forks fast)
//! and [`search`] (the full-text index and its queries).

pub mod conversations;
pub mod drafts;
pub mod queries;
pub mod recovery;
pub mod schema;
pub mod search;
pub mod shape;
pub mod tree;

use std::sync::{Arc, Mutex};

use kestrel_shared::{ErrorKind, KestrelError};
use rusqlite::Connection;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, I/O error, constraint). Shown to the user;
    /// whatever they typed stays in the composer.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database could not be brought to this version's schema.
    #[error("database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The database was written by a newer Kestrel. It is left untouched;
    /// the user updates Kestrel or points it at another data directory.
    #[error(
        "this data was written by a newer version of Kestrel (database schema {found}; this version \
         knows up to {known}). Nothing was changed. Update Kestrel, or start it with --data-dir \
         pointing elsewhere."
    )]
    TooNew { found: usize, known: usize },
    /// A stored JSON column did not parse (hand-edited or corrupt data).
    #[error("stored {what} is not valid: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The id names nothing in this database.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    /// The request does not fit the data (continuing a finished reply,
    /// editing a reply). The message says why, for the user.
    #[error("{0}")]
    Refused(String),
    /// The blocking task running the operation panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    pub fn to_kestrel(&self) -> KestrelError {
        match self {
            Self::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) => {
                KestrelError::new(
                    ErrorKind::Storage,
                    "The disk is full, so this could not be saved. Free some space and try \
                     again; what you typed is kept.",
                )
            }
            Self::NotFound { .. } | Self::Refused(_) => {
                KestrelError::new(ErrorKind::BadInput, self.to_string())
            }
            _ => KestrelError::new(ErrorKind::Storage, self.to_string()),
        }
    }
}

/// The shared handle to the database.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Wraps an open, migrated connection (see [`schema::open`]).
    pub fn from_connection(conn: Connection) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::{ContentBlock, Message, MessageId, MessageStatus, Role};

    #[test]
    fn a_full_disk_is_a_clear_storage_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        let conversation = queries::create_conversation(&conn, "m", "").unwrap();
        // SQLite reports SQLITE_FULL once the file may not grow: the same
        // error a full disk gives.
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "max_page_count", pages).unwrap();
        let message = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: conversation.id,
            parent_id: None,
            role: Role::User,
            content: vec![ContentBlock::text("x".repeat(256 * 1024))],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: queries::now(),
        };
        let error = queries::insert_message(&mut conn, &message).unwrap_err();
        let shown = error.to_kestrel();
        assert_eq!(shown.kind, ErrorKind::Storage);
        assert!(shown.message.contains("disk is full"), "{}", shown.message);
        conn.pragma_update(None, "max_page_count", 1_000_000)
            .unwrap();
        let conversation = queries::get_conversation(&conn, conversation.id).unwrap();
        assert_eq!(conversation.active_leaf, None);
        assert!(queries::get_message(&conn, message.id).is_err());
    }
}
