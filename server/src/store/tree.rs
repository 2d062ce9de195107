//! The message tree's navigation: which messages share a parent (the
//! "‹ 2 / 3 ›" of the UI), switching the active branch, and finding the
//! leaf a branch ends at. Inserting messages and reading a path stay in
//! [`super::queries`]; this room only moves the active leaf and reports
//! siblings.

use kestrel_shared::{
    BranchPoint, Conversation, ConversationId, ConversationView, Message, MessageId,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::queries;
use super::shape::{self, Shape};

fn parse_message_id(text: &str) -> Result<MessageId, StoreError> {
    text.parse().map_err(|_| StoreError::NotFound {
        what: "message",
        id: text.to_owned(),
    })
}

/// The messages of `path` that have siblings, with their position among
/// them.
pub fn branch_points(
    conn: &Connection,
    conversation: ConversationId,
    path: &[Message],
) -> Result<Vec<BranchPoint>, StoreError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Shape::load(conn, conversation)?.branch_points(path))
}

/// The leaf a branch through `message` ends at: the newest message below
/// it (or itself), which is where the person was last working on that
/// branch.
pub fn leaf_under(conn: &Connection, message: MessageId) -> Result<MessageId, StoreError> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE below(id) AS (
            SELECT ?1
            UNION ALL
            SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id
         )
         SELECT m.id FROM below JOIN messages m ON m.id = below.id
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
    )?;
    let leaf = stmt
        .query_row([message.to_string()], |row| row.get::<_, String>(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "message",
            id: message.to_string(),
        })?;
    parse_message_id(&leaf)
}

/// Makes `leaf` the end of `conversation`'s active branch. Switching
/// branches is not activity: the conversation keeps its place in the list.
pub fn set_active_leaf(
    conn: &Connection,
    conversation: ConversationId,
    leaf: Option<MessageId>,
) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE conversations SET active_leaf = ?2 WHERE id = ?1",
        params![conversation.to_string(), leaf.map(|l| l.to_string())],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "conversation",
            id: conversation.to_string(),
        });
    }
    Ok(())
}

/// Shows the branch through `message`: the active leaf becomes the newest
/// leaf below it. Returns the conversation as it now is.
pub fn switch_to(conn: &Connection, message: MessageId) -> Result<Conversation, StoreError> {
    let target = queries::get_message(conn, message)?;
    let leaf = leaf_under(conn, message)?;
    set_active_leaf(conn, target.conversation_id, Some(leaf))?;
    queries::get_conversation(conn, target.conversation_id)
}

/// The direct children of `message`.
pub fn child_count(conn: &Connection, message: MessageId) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM messages WHERE parent_id = ?1",
        [message.to_string()],
        |row| row.get(0),
    )?)
}

/// A conversation with its active branch and where that branch forks.
pub fn view(conn: &Connection, conversation: Conversation) -> Result<ConversationView, StoreError> {
    // One read of the tree's shape serves the path and its forks.
    let (messages, branches) = match conversation.active_leaf {
        Some(leaf) => shape::snapshot(conn, || {
            Shape::load(conn, conversation.id)?.branch(conn, leaf)
        })?,
        None => (Vec::new(), Vec::new()),
    };
    Ok(ConversationView {
        conversation,
        messages,
        branches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;
    use kestrel_shared::{ContentBlock, MessageStatus, Role, Timestamp};
    use pretty_assertions::assert_eq;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        (dir, conn)
    }

    /// Inserts a message; `at` orders siblings deterministically.
    fn add(
        conn: &mut Connection,
        conversation: ConversationId,
        parent: Option<&Message>,
        role: Role,
        text: &str,
        at: i64,
    ) -> Message {
        let message = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: conversation,
            parent_id: parent.map(|p| p.id),
            role,
            content: vec![ContentBlock::text(text)],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: Timestamp(at),
        };
        queries::insert_message(conn, &message).unwrap();
        message
    }

    #[test]
    fn siblings_are_counted_and_switching_follows_the_newest_leaf() {
        let (_dir, mut conn) = db();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        let u1 = add(&mut conn, c, None, Role::User, "q", 1);
        let a1 = add(&mut conn, c, Some(&u1), Role::Assistant, "first answer", 2);
        let u2 = add(&mut conn, c, Some(&a1), Role::User, "follow-up", 3);
        let a2 = add(&mut conn, c, Some(&u2), Role::Assistant, "answer 2", 4);
        let a1b = add(&mut conn, c, Some(&u1), Role::Assistant, "second answer", 5);
        let a1c = add(&mut conn, c, Some(&u1), Role::Assistant, "third answer", 6);

        // The newest reply is active; it is the third of three.
        let conversation = queries::get_conversation(&conn, c).unwrap();
        assert_eq!(conversation.active_leaf, Some(a1c.id));
        let path = queries::active_path(&conn, &conversation).unwrap();
        assert_eq!(
            branch_points(&conn, c, &path).unwrap(),
            vec![BranchPoint {
                message_id: a1c.id,
                index: 2,
                count: 3,
                previous: Some(a1b.id),
                next: None,
            }]
        );

        // Back to the first reply: its follow-up comes back with it.
        let conversation = switch_to(&conn, a1.id).unwrap();
        assert_eq!(conversation.active_leaf, Some(a2.id));
        let path = queries::active_path(&conn, &conversation).unwrap();
        assert_eq!(
            path.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![u1.id, a1.id, u2.id, a2.id]
        );
        assert_eq!(
            branch_points(&conn, c, &path).unwrap(),
            vec![BranchPoint {
                message_id: a1.id,
                index: 0,
                count: 3,
                previous: None,
                next: Some(a1b.id),
            }]
        );
        assert_eq!(child_count(&conn, u1.id).unwrap(), 3);
        assert_eq!(child_count(&conn, a2.id).unwrap(), 0);
    }

    #[test]
    fn first_messages_can_be_siblings_too() {
        let (_dir, mut conn) = db();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        let other = queries::create_conversation(&conn, "m", "").unwrap().id;
        let first = add(&mut conn, c, None, Role::User, "v1", 1);
        let second = add(&mut conn, c, None, Role::User, "v2", 2);
        // A root message of another conversation is no sibling.
        add(&mut conn, other, None, Role::User, "elsewhere", 3);
        let path = vec![second];
        let points = branch_points(&conn, c, &path).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!((points[0].index, points[0].count), (1, 2));
        assert_eq!(points[0].previous, Some(first.id));
    }

    #[test]
    fn switching_to_an_unknown_message_is_refused() {
        let (_dir, conn) = db();
        let missing = MessageId::from_uuid(queries::new_uuid());
        assert!(matches!(
            switch_to(&conn, missing),
            Err(StoreError::NotFound { .. })
        ));
    }
}
