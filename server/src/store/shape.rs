//! Reading a branch of a conversation fast: the conversation's shape (every
//! message's place in the tree, without content) is read in one pass, the
//! branch and its forks are worked out from it in memory, and a second pass
//! decodes the content of the branch's messages only, straight from
//! SQLite's buffers. Opening a 10,000-message conversation costs two index
//! scans instead of a recursive walk of 20,000 lookups and a sort of every
//! row (BENCHMARKS.md, "Conversation store at a million messages").

use std::collections::HashMap;

use kestrel_shared::{
    BranchPoint, ContentBlock, ConversationId, Message, MessageId, MessageStatus, Role, Timestamp,
    Usage,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};

use super::StoreError;

/// One message's place in the tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    rowid: i64,
    id: MessageId,
    parent: Option<MessageId>,
    created_at: i64,
    /// The parent's index in [`Shape::nodes`]; `None` for a first message
    /// (and for a parent outside this conversation, which only hand-edited
    /// data could hold).
    up: Option<usize>,
}

/// Every message of one conversation, without content, in the order of
/// their creation.
#[derive(Debug)]
pub struct Shape {
    conversation: ConversationId,
    nodes: Vec<Node>,
    by_id: HashMap<MessageId, usize>,
}

fn text_ref<'a>(row: &'a Row<'_>, index: usize) -> rusqlite::Result<&'a str> {
    row.get_ref(index)?.as_str().map_err(Into::into)
}

fn id_at(row: &Row<'_>, index: usize) -> rusqlite::Result<MessageId> {
    text_ref(row, index)?.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Runs `read` in one read transaction, so the passes it makes see one
/// state of the database even with another process (the CLI) writing; a
/// caller already inside a transaction has its own.
pub fn snapshot<T>(
    conn: &Connection,
    read: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !conn.is_autocommit() {
        return read();
    }
    let tx = conn.unchecked_transaction()?;
    let out = read()?;
    tx.commit()?;
    Ok(out)
}

impl Shape {
    /// Reads the shape of `conversation` (one pass over its messages'
    /// index, reading ids, parents and times only).
    pub fn load(conn: &Connection, conversation: ConversationId) -> Result<Self, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, id, parent_id, created_at FROM messages WHERE conversation_id = ?1",
        )?;
        let mut rows = stmt.query([conversation.to_string()])?;
        let mut nodes = Vec::new();
        while let Some(row) = rows.next()? {
            nodes.push(Node {
                rowid: row.get(0)?,
                id: id_at(row, 1)?,
                parent: match row.get_ref(2)? {
                    ValueRef::Null => None,
                    _ => Some(id_at(row, 2)?),
                },
                created_at: row.get(3)?,
                up: None,
            });
        }
        // Creation order, as the UI counts siblings; ids break ties.
        nodes.sort_unstable_by_key(|n| (n.created_at, n.id));
        let by_id: HashMap<MessageId, usize> =
            nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        for node in &mut nodes {
            node.up = node.parent.and_then(|p| by_id.get(&p).copied());
        }
        Ok(Self {
            conversation,
            nodes,
            by_id,
        })
    }

    /// The shape of the conversation `message` belongs to, or `None` if
    /// there is no such message.
    pub fn of_message(conn: &Connection, message: MessageId) -> Result<Option<Self>, StoreError> {
        let conversation: Option<String> = conn
            .query_row(
                "SELECT conversation_id FROM messages WHERE id = ?1",
                [message.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        let Some(conversation) = conversation else {
            return Ok(None);
        };
        let conversation = conversation.parse().map_err(|_| StoreError::NotFound {
            what: "conversation",
            id: conversation.clone(),
        })?;
        Self::load(conn, conversation).map(Some)
    }

    /// The nodes from the root down to `leaf`; empty if `leaf` is not in
    /// this conversation. A parent outside it ends the walk, and so does a
    /// cycle (which only hand-edited data could hold).
    fn path_nodes(&self, leaf: MessageId) -> Vec<usize> {
        let mut path = Vec::new();
        let mut next = self.by_id.get(&leaf).copied();
        while let Some(index) = next {
            if path.len() == self.nodes.len() {
                break;
            }
            path.push(index);
            next = self.nodes[index].up;
        }
        path.reverse();
        path
    }

    /// The messages from the root down to `leaf`, decoded, oldest first.
    pub fn path(&self, conn: &Connection, leaf: MessageId) -> Result<Vec<Message>, StoreError> {
        let path = self.path_nodes(leaf);
        self.read(conn, &path)
    }

    /// The messages from the root down to `leaf`, and where that branch
    /// forks: what the UI shows of a conversation.
    pub fn branch(
        &self,
        conn: &Connection,
        leaf: MessageId,
    ) -> Result<(Vec<Message>, Vec<BranchPoint>), StoreError> {
        let mut path = self.path_nodes(leaf);
        let messages = self.read(conn, &path)?;
        path.truncate(messages.len());
        Ok((messages, self.forks(&path)))
    }

    /// Reads and decodes the messages at `path` (node indices), in that
    /// order: one pass over the conversation's rows that decodes only the
    /// ones asked for, straight from SQLite's buffers.
    fn read(&self, conn: &Connection, path: &[usize]) -> Result<Vec<Message>, StoreError> {
        if path.is_empty() {
            return Ok(Vec::new());
        }
        let mut slot: Vec<(i64, usize)> = path
            .iter()
            .enumerate()
            .map(|(position, &node)| (self.nodes[node].rowid, position))
            .collect();
        slot.sort_unstable();
        let mut messages: Vec<Option<Message>> = vec![None; path.len()];
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, role, content, status, model, usage FROM messages
             WHERE conversation_id = ?1",
        )?;
        let mut rows = stmt.query([self.conversation.to_string()])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            let Ok(found) = slot.binary_search_by_key(&rowid, |&(r, _)| r) else {
                continue;
            };
            let position = slot[found].1;
            let node = self.nodes[path[position]];
            messages[position] = Some(Message {
                id: node.id,
                conversation_id: self.conversation,
                parent_id: node.parent,
                role: role(text_ref(row, 1)?)?,
                content: content(row.get_ref(2)?)?,
                status: status(text_ref(row, 3)?)?,
                model: row.get(4)?,
                usage: match row.get_ref(5)? {
                    ValueRef::Null => None,
                    usage => Some(decode::<Usage>("usage", usage)?),
                },
                created_at: Timestamp(node.created_at),
            });
        }
        // Every slot is filled unless another process deleted a message
        // between the two passes; the path then ends above the gap.
        Ok(messages.into_iter().map_while(|m| m).collect())
    }

    /// The messages of `path` that have siblings, with their position among
    /// them.
    pub fn branch_points(&self, path: &[Message]) -> Vec<BranchPoint> {
        let nodes: Vec<usize> = path
            .iter()
            .map_while(|m| self.by_id.get(&m.id).copied())
            .collect();
        self.forks(&nodes)
    }

    /// The nodes of `path` that have siblings, as branch points. Siblings
    /// share a parent (first messages share having none) and are counted
    /// in creation order, in one pass over the nodes.
    fn forks(&self, path: &[usize]) -> Vec<BranchPoint> {
        // Group 0 holds the first messages; group p + 1 the children of
        // node p.
        let group = |node: &Node| node.up.map_or(0, |p| p + 1);
        let mut count = vec![0u32; self.nodes.len() + 1];
        let mut last: Vec<Option<usize>> = vec![None; self.nodes.len() + 1];
        let mut position = vec![0u32; self.nodes.len()];
        let mut previous: Vec<Option<usize>> = vec![None; self.nodes.len()];
        let mut next: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for (index, node) in self.nodes.iter().enumerate() {
            let g = group(node);
            position[index] = count[g];
            count[g] += 1;
            if let Some(before) = last[g] {
                previous[index] = Some(before);
                next[before] = Some(index);
            }
            last[g] = Some(index);
        }
        path.iter()
            .filter_map(|&index| {
                let siblings = count[group(&self.nodes[index])];
                (siblings >= 2).then(|| BranchPoint {
                    message_id: self.nodes[index].id,
                    index: position[index],
                    count: siblings,
                    previous: previous[index].map(|p| self.nodes[p].id),
                    next: next[index].map(|n| self.nodes[n].id),
                })
            })
            .collect()
    }
}

/// A text block exactly as stored (`{"type":"text","text":…}`), nothing
/// else: read straight into its string, where the general decoder of
/// [`ContentBlock`] first buffers every block to find its `type`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainText<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    text: Option<String>,
}

/// A message's stored content blocks. Content made only of text blocks
/// (most messages) takes the direct path; anything else (or anything the
/// direct path does not recognise) goes through [`ContentBlock`]'s own
/// decoder, so both give the same blocks.
pub(super) fn content(value: ValueRef<'_>) -> Result<Vec<ContentBlock>, StoreError> {
    let bytes = value.as_bytes().map_err(rusqlite::Error::from)?;
    if let Ok(blocks) = serde_json::from_slice::<Vec<PlainText<'_>>>(bytes) {
        let blocks: Option<Vec<ContentBlock>> = blocks
            .into_iter()
            .map(|b| match (b.kind, b.text) {
                ("text", Some(text)) => Some(ContentBlock::Text { text }),
                _ => None,
            })
            .collect();
        if let Some(blocks) = blocks {
            return Ok(blocks);
        }
    }
    decode("message content", value)
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    value: ValueRef<'_>,
) -> Result<T, StoreError> {
    let bytes = value.as_bytes().map_err(rusqlite::Error::from)?;
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { what, source })
}

/// A stored enum column (its serde name), read without building JSON.
fn enum_from<'de, T: serde::Deserialize<'de>>(
    what: &'static str,
    text: &'de str,
) -> Result<T, StoreError> {
    T::deserialize(serde::de::value::BorrowedStrDeserializer::<
        serde::de::value::Error,
    >::new(text))
    .map_err(|e| StoreError::Decode {
        what,
        source: serde::de::Error::custom(e),
    })
}

/// A stored role.
pub(super) fn role(text: &str) -> Result<Role, StoreError> {
    enum_from("role", text)
}

/// A stored message status.
pub(super) fn status(text: &str) -> Result<MessageStatus, StoreError> {
    enum_from("message status", text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{queries, schema, tree};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open(&dir.path().join("kestrel.db")).unwrap();
        (dir, conn)
    }

    fn decoded(json: &serde_json::Value) -> Result<Vec<ContentBlock>, StoreError> {
        let text = json.to_string();
        content(ValueRef::Text(text.as_bytes()))
    }

    #[test]
    fn content_decodes_as_the_block_type_does_on_every_shape() {
        let cases = [
            json!([]),
            json!([{"type": "text", "text": "plain"}]),
            json!([{"text": "key order\nand \"escapes\" é", "type": "text"}]),
            json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
            // Mixed content leaves the direct path.
            json!([
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "answer"},
                {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": 1}}
            ]),
            // A text block with fields the type does not keep.
            json!([{"type": "text", "text": "cited", "citations": [{"x": 1}]}]),
            // Not a text block however it looks.
            json!([{"type": "text"}]),
            json!([{"type": "text", "text": null}]),
            json!([{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]),
            json!([{"type": "text", "text": "a", "text": "b"}]),
        ];
        for case in cases {
            let expected: Vec<ContentBlock> = serde_json::from_value(case.clone()).unwrap();
            assert_eq!(decoded(&case).unwrap(), expected, "{case}");
        }
        // Duplicate keys never reach serde_json::Value above; as stored text
        // they still decode the way the block type decodes them.
        let text = r#"[{"type":"text","text":"a","text":"b"}]"#;
        let expected: Result<Vec<ContentBlock>, _> = serde_json::from_str(text);
        assert_eq!(content(ValueRef::Text(text.as_bytes())).ok(), expected.ok());
    }

    #[test]
    fn damaged_content_is_a_decode_error() {
        for text in [
            "",
            "[",
            "{\"type\":\"text\"}",
            "[{\"type\":\"text\",\"text\":1",
        ] {
            assert!(
                matches!(
                    content(ValueRef::Text(text.as_bytes())),
                    Err(StoreError::Decode { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn stored_enums_decode_by_their_names() {
        assert_eq!(role("assistant").unwrap(), Role::Assistant);
        assert_eq!(status("interrupted").unwrap(), MessageStatus::Interrupted);
        assert!(matches!(role("system"), Err(StoreError::Decode { .. })));
        assert!(matches!(status(""), Err(StoreError::Decode { .. })));
    }

    fn add(
        conn: &mut Connection,
        conversation: ConversationId,
        parent: Option<MessageId>,
        text: &str,
        at: i64,
    ) -> Message {
        let message = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: conversation,
            parent_id: parent,
            role: Role::User,
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
    fn the_path_skips_other_branches_and_other_conversations() {
        let (_dir, mut conn) = db();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        let other = queries::create_conversation(&conn, "m", "").unwrap().id;
        let root = add(&mut conn, c, None, "root", 1);
        let elsewhere = add(&mut conn, other, None, "elsewhere", 2);
        let left = add(&mut conn, c, Some(root.id), "left", 3);
        let right = add(&mut conn, c, Some(root.id), "right", 4);
        let below_left = add(&mut conn, c, Some(left.id), "below left", 5);
        // Inserted out of time order: the rows come back in another order
        // than the path's.
        let early = add(&mut conn, c, Some(right.id), "early", 0);

        let shape = Shape::load(&conn, c).unwrap();
        assert_eq!(
            shape.path(&conn, below_left.id).unwrap(),
            vec![root.clone(), left.clone(), below_left.clone()]
        );
        assert_eq!(
            shape.path(&conn, early.id).unwrap(),
            vec![root.clone(), right.clone(), early.clone()]
        );
        assert_eq!(shape.path(&conn, elsewhere.id).unwrap(), vec![]);
        assert_eq!(
            queries::path_to(&conn, early.id).unwrap(),
            vec![root, right.clone(), early]
        );
        assert_eq!(
            queries::path_to(&conn, MessageId::from_uuid(queries::new_uuid())).unwrap(),
            vec![]
        );
        let (messages, forks) = shape.branch(&conn, below_left.id).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            forks,
            vec![BranchPoint {
                message_id: left.id,
                index: 0,
                count: 2,
                previous: None,
                next: Some(right.id),
            }]
        );
        assert_eq!(shape.branch_points(&messages), forks);
    }

    #[test]
    fn a_cycle_in_damaged_data_ends_the_walk() {
        let (_dir, mut conn) = db();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        let a = add(&mut conn, c, None, "a", 1);
        let b = add(&mut conn, c, Some(a.id), "b", 2);
        conn.execute(
            "UPDATE messages SET parent_id = ?1 WHERE id = ?2",
            [b.id.to_string(), a.id.to_string()],
        )
        .unwrap();
        let path = queries::path_to(&conn, b.id).unwrap();
        assert_eq!(path.len(), 2);
        let conversation = queries::get_conversation(&conn, c).unwrap();
        assert_eq!(tree::view(&conn, conversation).unwrap().messages.len(), 2);
    }

    #[test]
    fn a_caller_inside_a_transaction_reads_its_own_writes() {
        let (_dir, mut conn) = db();
        let c = queries::create_conversation(&conn, "m", "").unwrap().id;
        let a = add(&mut conn, c, None, "a", 1);
        let tx = conn.transaction().unwrap();
        let b = Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            parent_id: Some(a.id),
            ..a.clone()
        };
        queries::insert_message_row(&tx, &b).unwrap();
        assert_eq!(queries::path_to(&tx, b.id).unwrap(), vec![a, b]);
        tx.rollback().unwrap();
    }
}
