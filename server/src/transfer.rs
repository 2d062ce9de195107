//! Export and import: a conversation (its whole tree, or only the active
//! branch) or everything as Kestrel's JSON archive, a conversation's
//! active branch as Markdown, and imports of our archive (lossless: ids,
//! branches, content blocks, statuses, usage and times come back
//! identical), a Claude.ai data export and a ChatGPT data export (both
//! `conversations.json`).
//!
//! Imports are all-or-nothing: the file is size-checked before it is read
//! ([`MAX_IMPORT_BYTES`]), parsed with serde_json's nesting limit, checked
//! whole (every parent inside its conversation, no cycles, a valid active
//! leaf), and written in one transaction. A refused file changes nothing
//! and the error says why. Conversations already present (same id) are
//! skipped, so importing the same archive twice is harmless.
//!
//! The foreign formats live in [`claude`] and [`chatgpt`]; the Markdown
//! rendering in [`markdown`].

pub mod chatgpt;
pub mod claude;
pub mod markdown;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use kestrel_shared::{Conversation, ConversationId, Message, MessageId};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::store::{StoreError, queries, tree};

/// The largest file an import reads (256 MiB). Larger files are refused
/// before a byte is parsed.
pub const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;
/// The archive format's name and version, checked on import.
pub const FORMAT: &str = "kestrel.archive";
pub const FORMAT_VERSION: u32 = 1;

/// Why an export or import failed. Every variant leaves the data as it was.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the file is {size} bytes; imports are limited to {} MiB",
        MAX_IMPORT_BYTES / (1024 * 1024)
    )]
    TooLarge { size: u64 },
    /// Not JSON, nested too deeply, or not the shape of the format.
    #[error("this is not a valid {format} file: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TransferError {
    fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            format,
            reason: reason.into(),
        }
    }
}

/// One conversation and every message of its tree (or of one branch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationExport {
    pub conversation: Conversation,
    /// Parents before children.
    pub messages: Vec<Message>,
}

/// Kestrel's JSON archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    pub format: String,
    pub version: u32,
    pub exported_at: i64,
    pub conversations: Vec<ConversationExport>,
}

impl Archive {
    pub fn new(conversations: Vec<ConversationExport>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            exported_at: queries::now().0,
            conversations,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportReport {
    pub conversations: usize,
    pub messages: usize,
    /// Conversations left alone because one with the same id exists.
    pub skipped: usize,
}

impl ImportReport {
    /// What the import did, in a sentence for the user.
    pub fn summary(&self) -> String {
        format!(
            "Imported {} conversations ({} messages); {} already present were left as they were.",
            self.conversations, self.messages, self.skipped
        )
    }
}

/// Which messages an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every branch.
    Tree,
    /// The active branch only.
    Branch,
}

/// Every message of a conversation, oldest first (so parents come first).
fn all_messages(conn: &Connection, id: ConversationId) -> Result<Vec<Message>, StoreError> {
    let conversation = queries::get_conversation(conn, id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM messages WHERE conversation_id = ?1 ORDER BY created_at, id",
    )?;
    let ids = stmt
        .query_map([conversation.id.to_string()], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut messages = Vec::with_capacity(ids.len());
    for id in ids {
        let id: MessageId = id.parse().map_err(|_| StoreError::NotFound {
            what: "message",
            id: id.clone(),
        })?;
        messages.push(queries::get_message(conn, id)?);
    }
    Ok(order_parents_first(messages))
}

/// Orders messages so that every parent precedes its children (timestamps
/// may tie or run backwards after a clock change).
fn order_parents_first(messages: Vec<Message>) -> Vec<Message> {
    let ids: HashSet<MessageId> = messages.iter().map(|m| m.id).collect();
    let mut children: HashMap<Option<MessageId>, Vec<Message>> = HashMap::new();
    for message in messages {
        let parent = message.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(message);
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut stack: Vec<Message> = children.remove(&None).unwrap_or_default();
    stack.reverse();
    while let Some(message) = stack.pop() {
        if let Some(mut below) = children.remove(&Some(message.id)) {
            below.reverse();
            stack.extend(below);
        }
        out.push(message);
    }
    out
}

/// One conversation, for export.
pub fn export_conversation(
    conn: &Connection,
    id: ConversationId,
    scope: Scope,
) -> Result<ConversationExport, StoreError> {
    let conversation = queries::get_conversation(conn, id)?;
    let messages = match scope {
        Scope::Tree => all_messages(conn, id)?,
        Scope::Branch => queries::active_path(conn, &conversation)?,
    };
    Ok(ConversationExport {
        conversation,
        messages,
    })
}

/// Every conversation (not deleted), whole trees.
pub fn export_all(conn: &Connection) -> Result<Archive, StoreError> {
    let mut conversations = Vec::new();
    for conversation in queries::list_conversations(conn)? {
        conversations.push(export_conversation(conn, conversation.id, Scope::Tree)?);
    }
    Ok(Archive::new(conversations))
}

/// Reads a file for import: refused above [`MAX_IMPORT_BYTES`] before
/// anything is read.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, TransferError> {
    let read_error = |source| TransferError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_IMPORT_BYTES {
        return Err(TransferError::TooLarge { size });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` also bounds a file that grows while it is read.
    file.take(MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(TransferError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Parses JSON of any of our formats' shapes. serde_json refuses nesting
/// deeper than 128 levels, so a hostile file cannot exhaust the stack.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    format: &'static str,
    bytes: &[u8],
) -> Result<T, TransferError> {
    serde_json::from_slice(bytes).map_err(|e| TransferError::malformed(format, e.to_string()))
}

/// Parses Kestrel's archive (or one exported conversation).
pub fn parse_archive(bytes: &[u8]) -> Result<Archive, TransferError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Archive(Archive),
        One(ConversationExport),
    }
    let archive = match parse::<Either>("Kestrel archive", bytes)? {
        Either::Archive(archive) => archive,
        Either::One(one) => Archive::new(vec![one]),
    };
    if archive.format != FORMAT {
        return Err(TransferError::malformed(
            "Kestrel archive",
            format!("its format is {:?}, not {FORMAT:?}", archive.format),
        ));
    }
    if archive.version > FORMAT_VERSION {
        return Err(TransferError::malformed(
            "Kestrel archive",
            format!(
                "it is version {} of the format; this Kestrel reads up to {FORMAT_VERSION}",
                archive.version
            ),
        ));
    }
    Ok(archive)
}

/// Checks one conversation: messages belong to it, ids are unique, each
/// parent is one of its messages, there are no cycles, and the active
/// leaf (if any) is one of its messages. Returns the messages parents
/// first.
fn validate(export: ConversationExport) -> Result<ConversationExport, TransferError> {
    let bad = |reason: String| TransferError::malformed("Kestrel archive", reason);
    let id = export.conversation.id;
    let mut ids = HashSet::with_capacity(export.messages.len());
    for message in &export.messages {
        if message.conversation_id != id {
            return Err(bad(format!(
                "message {} says it belongs to conversation {}, but is listed under {id}",
                message.id, message.conversation_id
            )));
        }
        if !ids.insert(message.id) {
            return Err(bad(format!("message {} appears twice", message.id)));
        }
    }
    for message in &export.messages {
        if let Some(parent) = message.parent_id
            && !ids.contains(&parent)
        {
            return Err(bad(format!(
                "message {} answers {parent}, which is not in its conversation",
                message.id
            )));
        }
    }
    if let Some(leaf) = export.conversation.active_leaf
        && !ids.contains(&leaf)
    {
        return Err(bad(format!(
            "conversation {id} ends at message {leaf}, which it does not contain"
        )));
    }
    let count = export.messages.len();
    let messages = order_parents_first(export.messages);
    // Messages in a cycle have no path from a root and are left out above.
    if messages.len() != count {
        return Err(bad(format!(
            "conversation {id} has messages whose parents form a loop"
        )));
    }
    Ok(ConversationExport {
        conversation: export.conversation,
        messages,
    })
}

/// Imports an archive: all of it in one transaction, or nothing.
pub fn import_archive(
    conn: &mut Connection,
    archive: Archive,
) -> Result<ImportReport, TransferError> {
    let checked = archive
        .conversations
        .into_iter()
        .map(validate)
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    for export in &checked {
        if !seen.insert(export.conversation.id) {
            return Err(TransferError::malformed(
                "Kestrel archive",
                format!("conversation {} appears twice", export.conversation.id),
            ));
        }
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    let mut report = ImportReport::default();
    for export in checked {
        let c = &export.conversation;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO conversations
                 (id, title, system_prompt, model, active_leaf, created_at, updated_at, pinned, archived)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)",
                params![
                    c.id.to_string(),
                    c.title,
                    c.system_prompt,
                    c.model,
                    c.created_at.0,
                    c.updated_at.0,
                    c.pinned,
                    c.archived
                ],
            )
            .map_err(StoreError::from)?;
        if inserted == 0 {
            report.skipped += 1;
            continue;
        }
        for message in &export.messages {
            queries::insert_message_row(&tx, message)?;
        }
        tree::set_active_leaf(&tx, c.id, c.active_leaf)?;
        report.conversations += 1;
        report.messages += export.messages.len();
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(report)
}

/// Ids for what another program exported. A conversation with the
/// source's own id gets ids derived from it (SHA-256 of the source's name
/// and ids, as UUID version 8), so importing the same export again, or a
/// later export holding the same conversations, finds them present and
/// leaves them as they are. Without one, or when a file names the same
/// conversation twice, the ids are new.
pub(crate) struct ImportedIds {
    /// The source's name and conversation id, when ids are derived.
    key: Option<(&'static str, String)>,
    conversation: ConversationId,
}

impl ImportedIds {
    /// Ids for one conversation of `source`; `seen` holds the conversation
    /// ids met so far in the same file.
    pub(crate) fn new(
        source: &'static str,
        conversation: Option<&str>,
        seen: &mut HashSet<String>,
    ) -> Self {
        let key = conversation
            .filter(|id| !id.is_empty() && seen.insert((*id).to_owned()))
            .map(|id| (source, id.to_owned()));
        let conversation = match &key {
            Some((source, id)) => ConversationId::from_uuid(derived(&[source, id])),
            None => ConversationId::from_uuid(queries::new_uuid()),
        };
        Self { key, conversation }
    }

    pub(crate) fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// The id of the message the source calls `message` (unique within its
    /// conversation).
    pub(crate) fn message(&self, message: &str) -> MessageId {
        match &self.key {
            Some((source, id)) => MessageId::from_uuid(derived(&[source, id, message])),
            None => MessageId::from_uuid(queries::new_uuid()),
        }
    }
}

/// A UUID (version 8) from the SHA-256 of `parts`, each length-prefixed.
fn derived(parts: &[&str]) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"kestrel import ids\0");
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Which format a file to import is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kestrel,
    Claude,
    ChatGpt,
}

/// Guesses the format from the file's first JSON tokens: an object with
/// `"format"` is ours, an array whose conversations have `mapping` is
/// ChatGPT's, one with `chat_messages` is Claude's.
pub fn detect(bytes: &[u8]) -> Source {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    if text.trim_start().starts_with('{') {
        Source::Kestrel
    } else if text.contains("\"mapping\"") {
        Source::ChatGpt
    } else if text.contains("\"chat_messages\"") {
        Source::Claude
    } else {
        Source::Kestrel
    }
}

/// Parses `bytes` as `source` into an archive ready to import.
pub fn to_archive(source: Source, bytes: &[u8], model: &str) -> Result<Archive, TransferError> {
    match source {
        Source::Kestrel => parse_archive(bytes),
        Source::Claude => claude::to_archive(bytes, model),
        Source::ChatGpt => chatgpt::to_archive(bytes, model),
    }
}

#[cfg(test)]
mod tests;
