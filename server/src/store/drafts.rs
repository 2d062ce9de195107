//! Unsent drafts, one per conversation (and one for the composer of a
//! conversation not yet saved), so text typed but not sent survives a
//! restart or a crash. Empty text deletes the draft.

use kestrel_shared::ConversationId;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::queries::now;

fn key(conversation: Option<ConversationId>) -> String {
    conversation.map(|c| c.to_string()).unwrap_or_default()
}

/// Saves (or, for empty text, deletes) the draft of `conversation`.
pub fn save(
    conn: &Connection,
    conversation: Option<ConversationId>,
    text: &str,
) -> Result<(), StoreError> {
    if text.is_empty() {
        conn.execute(
            "DELETE FROM drafts WHERE conversation_key = ?1",
            [key(conversation)],
        )?;
    } else {
        conn.execute(
            "INSERT INTO drafts (conversation_key, text, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(conversation_key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
            params![key(conversation), text, now().0],
        )?;
    }
    Ok(())
}

/// The draft of `conversation`, or empty text.
pub fn load(conn: &Connection, conversation: Option<ConversationId>) -> Result<String, StoreError> {
    Ok(conn
        .query_row(
            "SELECT text FROM drafts WHERE conversation_key = ?1",
            [key(conversation)],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{queries, schema};

    #[test]
    fn drafts_are_kept_per_conversation_until_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        let conversation = {
            let conn = schema::open(&path).unwrap();
            let c = queries::create_conversation(&conn, "m", "").unwrap().id;
            save(&conn, Some(c), "half a thought").unwrap();
            save(&conn, Some(c), "half a thought, more").unwrap();
            save(&conn, None, "a new chat").unwrap();
            c
        };
        let conn = schema::open(&path).unwrap();
        assert_eq!(
            load(&conn, Some(conversation)).unwrap(),
            "half a thought, more"
        );
        assert_eq!(load(&conn, None).unwrap(), "a new chat");
        save(&conn, None, "").unwrap();
        assert_eq!(load(&conn, None).unwrap(), "");
        assert_eq!(
            load(&conn, Some(conversation)).unwrap(),
            "half a thought, more"
        );
    }
}
