//! The store's SQL, as plain functions over a connection. Callers hold the
//! connection (through [`super::Store::call`] in the app, directly in tests).

use kestrel_shared::{
    ContentBlock, Conversation, ConversationId, Message, MessageId, MessageStatus, Settings, Theme,
    Timestamp, Usage,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use super::shape::{self, Shape};

/// Now, in milliseconds since the epoch.
pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// A new, time-ordered id.
pub fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

const CONVERSATION_COLUMNS: &str =
    "id, title, system_prompt, model, active_leaf, created_at, updated_at, pinned, archived";

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: parse_id(row, 0)?,
        title: row.get(1)?,
        system_prompt: row.get(2)?,
        model: row.get(3)?,
        active_leaf: row
            .get::<_, Option<String>>(4)?
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        created_at: Timestamp(row.get(5)?),
        updated_at: Timestamp(row.get(6)?),
        pinned: row.get(7)?,
        archived: row.get(8)?,
    })
}

fn parse_id<T: std::str::FromStr>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Creates an empty conversation.
pub fn create_conversation(
    conn: &Connection,
    model: &str,
    system_prompt: &str,
) -> Result<Conversation, StoreError> {
    let at = now();
    let conversation = Conversation {
        id: ConversationId::from_uuid(new_uuid()),
        title: String::new(),
        system_prompt: system_prompt.to_owned(),
        model: model.to_owned(),
        active_leaf: None,
        created_at: at,
        updated_at: at,
        pinned: false,
        archived: false,
    };
    conn.execute(
        "INSERT INTO conversations (id, title, system_prompt, model, active_leaf, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?5)",
        params![conversation.id.to_string(), conversation.title, conversation.system_prompt, conversation.model, at.0],
    )?;
    Ok(conversation)
}

/// Every conversation not deleted: pinned ones first, then most recently
/// active first.
pub fn list_conversations(conn: &Connection) -> Result<Vec<Conversation>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE deleted_at IS NULL
         ORDER BY pinned DESC, updated_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], conversation_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get_conversation(conn: &Connection, id: ConversationId) -> Result<Conversation, StoreError> {
    conn.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
        [id.to_string()],
        conversation_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "conversation",
        id: id.to_string(),
    })
}

/// Changes a conversation's title and/or system prompt.
pub fn update_conversation(
    conn: &Connection,
    id: ConversationId,
    title: Option<&str>,
    system_prompt: Option<&str>,
) -> Result<Conversation, StoreError> {
    let changed = conn.execute(
        "UPDATE conversations SET title = COALESCE(?2, title), system_prompt = COALESCE(?3, system_prompt),
         updated_at = ?4 WHERE id = ?1",
        params![id.to_string(), title, system_prompt, now().0],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "conversation",
            id: id.to_string(),
        });
    }
    get_conversation(conn, id)
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, parent_id, role, content, status, model, usage, created_at";

/// A message row before its JSON columns are decoded.
struct RawMessage {
    id: MessageId,
    conversation_id: ConversationId,
    parent_id: Option<MessageId>,
    role: String,
    content: String,
    status: String,
    model: Option<String>,
    usage: Option<String>,
    created_at: i64,
}

fn raw_message(row: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: parse_id(row, 0)?,
        conversation_id: parse_id(row, 1)?,
        parent_id: match row.get::<_, Option<String>>(2)? {
            Some(_) => Some(parse_id(row, 2)?),
            None => None,
        },
        role: row.get(3)?,
        content: row.get(4)?,
        status: row.get(5)?,
        model: row.get(6)?,
        usage: row.get(7)?,
        created_at: row.get(8)?,
    })
}

fn decode<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode { what, source })
}

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Decode { what, source })
}

/// Enum columns are stored as their serde names.
fn enum_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value).map_err(|source| StoreError::Decode {
        what: "enum",
        source,
    })? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

impl RawMessage {
    fn decode(self) -> Result<Message, StoreError> {
        Ok(Message {
            id: self.id,
            conversation_id: self.conversation_id,
            parent_id: self.parent_id,
            role: shape::role(&self.role)?,
            content: decode::<Vec<ContentBlock>>("message content", &self.content)?,
            status: shape::status(&self.status)?,
            model: self.model,
            usage: self
                .usage
                .as_deref()
                .map(|u| decode::<Usage>("usage", u))
                .transpose()?,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// Inserts a message and makes it the conversation's active leaf.
pub fn insert_message(conn: &mut Connection, message: &Message) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    insert_message_row(&tx, message)?;
    set_active_leaf_tx(&tx, message.conversation_id, Some(message.id))?;
    tx.commit()?;
    Ok(())
}

/// Inserts a message as it is, leaving the active leaf alone (imports).
pub fn insert_message_row(conn: &Connection, message: &Message) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            message.id.to_string(),
            message.conversation_id.to_string(),
            message.parent_id.map(|p| p.to_string()),
            enum_text(&message.role)?,
            encode("message content", &message.content)?,
            enum_text(&message.status)?,
            message.model,
            message
                .usage
                .as_ref()
                .map(|u| encode("usage", u))
                .transpose()?,
            message.created_at.0,
        ],
    )?;
    Ok(())
}

fn set_active_leaf_tx(
    conn: &Connection,
    conversation: ConversationId,
    leaf: Option<MessageId>,
) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE conversations SET active_leaf = ?2, updated_at = ?3 WHERE id = ?1",
        params![
            conversation.to_string(),
            leaf.map(|l| l.to_string()),
            now().0
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "conversation",
            id: conversation.to_string(),
        });
    }
    Ok(())
}

/// Sets a conversation's title only if it has none yet.
pub fn set_title_if_empty(
    conn: &Connection,
    conversation: ConversationId,
    title: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE conversations SET title = ?2 WHERE id = ?1 AND title = ''",
        params![conversation.to_string(), title],
    )?;
    Ok(())
}

/// Rewrites a streaming reply's content, status and usage (one batch).
pub fn update_message(
    conn: &Connection,
    id: MessageId,
    content: &[ContentBlock],
    status: MessageStatus,
    usage: Option<&Usage>,
) -> Result<(), StoreError> {
    // Cached: a streaming reply is saved several times a second, and
    // preparing this statement compiles the search index's triggers too.
    let mut statement = conn.prepare_cached(
        "UPDATE messages SET content = ?2, status = ?3, usage = COALESCE(?4, usage) \
         WHERE id = ?1",
    )?;
    statement.raw_bind_parameter(1, id.to_string())?;
    statement.raw_bind_parameter(3, enum_text(&status)?)?;
    statement.raw_bind_parameter(4, usage.map(|u| encode("usage", u)).transpose()?)?;
    // SQLite keeps its own copy of a bound text, so the encoded content
    // goes before the statement runs: a long reply's final save, with the
    // index's work on top, then holds one copy of it fewer.
    statement.raw_bind_parameter(2, encode("message content", &content)?)?;
    let changed = statement.raw_execute()?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "message",
            id: id.to_string(),
        });
    }
    Ok(())
}

pub fn get_message(conn: &Connection, id: MessageId) -> Result<Message, StoreError> {
    conn.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"),
        [id.to_string()],
        raw_message,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "message",
        id: id.to_string(),
    })?
    .decode()
}

/// The messages from the root to `leaf`, oldest first (empty if there is
/// no such message).
pub fn path_to(conn: &Connection, leaf: MessageId) -> Result<Vec<Message>, StoreError> {
    shape::snapshot(conn, || match Shape::of_message(conn, leaf)? {
        Some(shape) => shape.path(conn, leaf),
        None => Ok(Vec::new()),
    })
}

/// The active branch of a conversation, oldest first.
pub fn active_path(
    conn: &Connection,
    conversation: &Conversation,
) -> Result<Vec<Message>, StoreError> {
    match conversation.active_leaf {
        Some(leaf) => shape::snapshot(conn, || {
            Shape::load(conn, conversation.id)?.path(conn, leaf)
        }),
        None => Ok(Vec::new()),
    }
}

/// Marks replies left `streaming` by a process that died as interrupted.
pub fn mark_interrupted(conn: &mut Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE messages SET status = ?1 WHERE status = ?2",
        params![
            enum_text(&MessageStatus::Interrupted)?,
            enum_text(&MessageStatus::Streaming)?
        ],
    )?)
}

const THEME_KEY: &str = "theme";
const SKIP_AUTO_TITLE_KEY: &str = "skip_auto_title";

pub fn save_skip_auto_title(conn: &Connection, skip: bool) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![SKIP_AUTO_TITLE_KEY, if skip { "true" } else { "false" }],
    )?;
    Ok(())
}

pub fn load_settings(conn: &Connection) -> Result<Settings, StoreError> {
    let theme: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [THEME_KEY],
            |r| r.get(0),
        )
        .optional()?;
    let theme = match theme {
        Some(text) => decode::<Theme>("theme", &text).unwrap_or_default(),
        None => Theme::default(),
    };
    let skip_auto_title: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [SKIP_AUTO_TITLE_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Settings {
        theme,
        skip_auto_title: skip_auto_title.as_deref() == Some("true"),
    })
}

pub fn save_theme(conn: &Connection, theme: Theme) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![THEME_KEY, encode("theme", &theme)?],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;
    use kestrel_shared::Role;
    use pretty_assertions::assert_eq;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        (dir, conn)
    }

    fn message(
        conversation: ConversationId,
        parent: Option<MessageId>,
        role: Role,
        text: &str,
    ) -> Message {
        Message {
            id: MessageId::from_uuid(new_uuid()),
            conversation_id: conversation,
            parent_id: parent,
            role,
            content: vec![ContentBlock::text(text)],
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: now(),
        }
    }

    #[test]
    fn conversation_crud_and_ordering() {
        let (_dir, conn) = db();
        let a = create_conversation(&conn, "m1", "").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = create_conversation(&conn, "m2", "be terse").unwrap();
        let listed: Vec<_> = list_conversations(&conn)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(listed, vec![b.id, a.id]);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let renamed = update_conversation(&conn, a.id, Some("Renamed"), None).unwrap();
        assert_eq!(
            (renamed.title.as_str(), renamed.system_prompt.as_str()),
            ("Renamed", "")
        );
        let listed: Vec<_> = list_conversations(&conn)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(listed, vec![a.id, b.id]);
        let missing = ConversationId::from_uuid(new_uuid());
        assert!(matches!(
            get_conversation(&conn, missing),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            update_conversation(&conn, missing, Some("x"), None),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn messages_form_a_tree_and_the_active_path_follows_the_leaf() {
        let (_dir, mut conn) = db();
        let c = create_conversation(&conn, "m", "").unwrap();
        let u1 = message(c.id, None, Role::User, "one");
        insert_message(&mut conn, &u1).unwrap();
        let a1 = message(c.id, Some(u1.id), Role::Assistant, "reply");
        insert_message(&mut conn, &a1).unwrap();
        let u2 = message(c.id, Some(a1.id), Role::User, "two");
        insert_message(&mut conn, &u2).unwrap();
        // A sibling branch of u2 becomes the active one.
        let u2b = message(c.id, Some(a1.id), Role::User, "two, edited");
        insert_message(&mut conn, &u2b).unwrap();

        let c = get_conversation(&conn, c.id).unwrap();
        assert_eq!(c.active_leaf, Some(u2b.id));
        assert_eq!(
            active_path(&conn, &c).unwrap(),
            vec![u1.clone(), a1.clone(), u2b]
        );
        assert_eq!(path_to(&conn, u2.id).unwrap(), vec![u1, a1, u2]);
    }

    #[test]
    fn streaming_updates_and_interruption() {
        let (_dir, mut conn) = db();
        let c = create_conversation(&conn, "m", "").unwrap();
        let mut reply = message(c.id, None, Role::Assistant, "");
        reply.status = MessageStatus::Streaming;
        reply.content.clear();
        insert_message(&mut conn, &reply).unwrap();
        let usage = Usage {
            input_tokens: 4,
            output_tokens: 2,
            ..Usage::default()
        };
        update_message(
            &conn,
            reply.id,
            &[ContentBlock::text("partial")],
            MessageStatus::Streaming,
            Some(&usage),
        )
        .unwrap();
        assert_eq!(mark_interrupted(&mut conn).unwrap(), 1);
        let stored = get_message(&conn, reply.id).unwrap();
        assert_eq!(stored.status, MessageStatus::Interrupted);
        assert_eq!(stored.content, vec![ContentBlock::text("partial")]);
        assert_eq!(stored.usage, Some(usage));
        assert_eq!(mark_interrupted(&mut conn).unwrap(), 0);
    }

    #[test]
    fn foreign_keys_refuse_orphans() {
        let (_dir, mut conn) = db();
        let orphan = message(ConversationId::from_uuid(new_uuid()), None, Role::User, "x");
        assert!(insert_message(&mut conn, &orphan).is_err());
    }

    #[test]
    fn settings_round_trip() {
        let (_dir, conn) = db();
        assert_eq!(load_settings(&conn).unwrap().theme, Theme::System);
        save_theme(&conn, Theme::Dark).unwrap();
        save_theme(&conn, Theme::Light).unwrap();
        assert_eq!(load_settings(&conn).unwrap().theme, Theme::Light);
    }

    #[test]
    fn reopening_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kestrel.db");
        let (conversation, first) = {
            let mut conn = schema::open(&path).unwrap();
            let c = create_conversation(&conn, "m", "sys").unwrap();
            let m = message(c.id, None, Role::User, "persist me");
            insert_message(&mut conn, &m).unwrap();
            (c.id, m)
        };
        let conn = schema::open(&path).unwrap();
        let c = get_conversation(&conn, conversation).unwrap();
        assert_eq!(c.system_prompt, "sys");
        assert_eq!(active_path(&conn, &c).unwrap(), vec![first]);
    }
}
