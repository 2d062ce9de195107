//! What a person does to a whole conversation from the sidebar: rename,
//! pin, archive, delete and undo the delete. None of these is activity, so
//! none moves the conversation in the list (pinning does, by design).
//! A deleted conversation is hidden at once and kept until the next start,
//! so "Undo" works for the rest of the session; [`purge_deleted`] removes
//! it for good at start-up.

use kestrel_shared::{Conversation, ConversationId};
use rusqlite::{Connection, params};

use super::StoreError;
use super::queries::{get_conversation, now};

/// The longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

fn changed(count: usize, id: ConversationId) -> Result<(), StoreError> {
    if count == 0 {
        return Err(StoreError::NotFound {
            what: "conversation",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Sets the title (trimmed, one line, at most [`MAX_TITLE_CHARS`]).
pub fn rename(
    conn: &Connection,
    id: ConversationId,
    title: &str,
) -> Result<Conversation, StoreError> {
    let title: String = title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    if title.is_empty() {
        return Err(StoreError::Refused("A title cannot be empty.".into()));
    }
    changed(
        conn.execute(
            "UPDATE conversations SET title = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), title],
        )?,
        id,
    )?;
    get_conversation(conn, id)
}

/// Replaces the title only if it is still `provisional` (the person has
/// not renamed the conversation meanwhile). Returns whether it changed.
pub fn replace_provisional_title(
    conn: &Connection,
    id: ConversationId,
    provisional: &str,
    title: &str,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE conversations SET title = ?3 WHERE id = ?1 AND title = ?2",
        params![id.to_string(), provisional, title],
    )? > 0)
}

pub fn set_pinned(
    conn: &Connection,
    id: ConversationId,
    pinned: bool,
) -> Result<Conversation, StoreError> {
    changed(
        conn.execute(
            "UPDATE conversations SET pinned = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), pinned],
        )?,
        id,
    )?;
    get_conversation(conn, id)
}

pub fn set_archived(
    conn: &Connection,
    id: ConversationId,
    archived: bool,
) -> Result<Conversation, StoreError> {
    changed(
        conn.execute(
            "UPDATE conversations SET archived = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), archived],
        )?,
        id,
    )?;
    get_conversation(conn, id)
}

/// Hides a conversation; [`restore`] brings it back until the next start.
pub fn delete(conn: &Connection, id: ConversationId) -> Result<(), StoreError> {
    changed(
        conn.execute(
            "UPDATE conversations SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id.to_string(), now().0],
        )?,
        id,
    )
}

/// Undoes [`delete`].
pub fn restore(conn: &Connection, id: ConversationId) -> Result<Conversation, StoreError> {
    changed(
        conn.execute(
            "UPDATE conversations SET deleted_at = NULL WHERE id = ?1 AND deleted_at IS NOT NULL",
            [id.to_string()],
        )?,
        id,
    )?;
    get_conversation(conn, id)
}

/// Removes conversations deleted in an earlier session, with their
/// messages and drafts. Returns how many went.
pub fn purge_deleted(conn: &mut Connection) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM drafts WHERE conversation_key IN
         (SELECT id FROM conversations WHERE deleted_at IS NOT NULL)",
        [],
    )?;
    // Messages go with their conversation (ON DELETE CASCADE).
    let purged = tx.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL", [])?;
    tx.commit()?;
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{drafts, queries, schema};
    use kestrel_shared::{ContentBlock, Message, MessageId, MessageStatus, Role};
    use pretty_assertions::assert_eq;

    fn ids(conn: &Connection) -> Vec<ConversationId> {
        queries::list_conversations(conn)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn rename_pin_archive_delete_and_undo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        let mut conn = schema::open(&path).unwrap();
        let a = queries::create_conversation(&conn, "m", "").unwrap().id;
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = queries::create_conversation(&conn, "m", "").unwrap().id;
        assert_eq!(ids(&conn), vec![b, a]);

        let renamed = rename(&conn, a, "  Trip\n plans  ").unwrap();
        assert_eq!(renamed.title, "Trip plans");
        assert!(matches!(
            rename(&conn, a, " \n "),
            Err(StoreError::Refused(_))
        ));
        assert_eq!(ids(&conn), vec![b, a], "renaming is not activity");

        assert!(set_pinned(&conn, a, true).unwrap().pinned);
        assert_eq!(ids(&conn), vec![a, b], "pinned first");
        assert!(set_archived(&conn, b, true).unwrap().archived);

        // A message so the delete has something to cascade.
        let message = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: a,
            parent_id: None,
            role: Role::User,
            content: vec![ContentBlock::text("hi")],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: queries::now(),
        };
        queries::insert_message(&mut conn, &message).unwrap();
        drafts::save(&conn, Some(a), "unsent").unwrap();

        delete(&conn, a).unwrap();
        assert_eq!(ids(&conn), vec![b]);
        assert!(matches!(delete(&conn, a), Err(StoreError::NotFound { .. })));
        let back = restore(&conn, a).unwrap();
        assert!(back.pinned);
        assert_eq!(ids(&conn), vec![a, b]);

        // Deleted and not undone: gone at the next start, messages and
        // draft included.
        delete(&conn, a).unwrap();
        assert_eq!(purge_deleted(&mut conn).unwrap(), 1);
        assert!(matches!(
            restore(&conn, a),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            queries::get_message(&conn, message.id),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(drafts::load(&conn, Some(a)).unwrap(), "");
        assert_eq!(ids(&conn), vec![b]);
    }

    #[test]
    fn a_provisional_title_is_replaced_only_if_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        queries::set_title_if_empty(&conn, c, "what is the capital of").unwrap();
        assert!(replace_provisional_title(&conn, c, "what is the capital of", "Capitals").unwrap());
        rename(&conn, c, "Mine").unwrap();
        assert!(!replace_provisional_title(&conn, c, "Capitals", "Other").unwrap());
        assert_eq!(queries::get_conversation(&conn, c).unwrap().title, "Mine");
    }
}
