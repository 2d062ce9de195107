//! ChatGPT's data export (`conversations.json`): an array of
//! conversations, each a tree in `mapping` (node id → `{ message, parent,
//! children }`) with `current_node` as the branch last shown, `title`,
//! and `create_time`/`update_time` in seconds. User and assistant
//! messages with text become messages; system, tool and empty nodes are
//! left out and their children attach to the nearest kept ancestor, so
//! every branch (edits, regenerations) survives. The active leaf is
//! `current_node`, or its nearest kept ancestor.

use std::collections::{HashMap, HashSet};

use kestrel_shared::{
    ContentBlock, Conversation, Message, MessageId, MessageStatus, Role, Timestamp,
};
use serde::Deserialize;

use super::{Archive, ConversationExport, ImportedIds, TransferError, parse};
use crate::store::queries;

const FORMAT: &str = "ChatGPT export";

#[derive(Deserialize)]
struct GptConversation {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    mapping: HashMap<String, GptNode>,
    #[serde(default)]
    current_node: Option<String>,
    /// The conversation's id in ChatGPT (`conversation_id`, or `id` in
    /// some exports).
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct GptNode {
    #[serde(default)]
    message: Option<GptMessage>,
    #[serde(default)]
    parent: Option<String>,
}

#[derive(Deserialize)]
struct GptMessage {
    author: GptAuthor,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    content: Option<GptContent>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct GptAuthor {
    role: String,
}

#[derive(Deserialize)]
struct GptContent {
    #[serde(default)]
    parts: Vec<serde_json::Value>,
    #[serde(default)]
    text: Option<String>,
}

fn seconds(value: Option<f64>, fallback: i64) -> Timestamp {
    match value {
        Some(secs) if secs.is_finite() && secs > 0.0 && secs < 1e11 => {
            #[allow(clippy::cast_possible_truncation)]
            let millis = (secs * 1000.0).round() as i64;
            Timestamp(millis)
        }
        _ => Timestamp(fallback),
    }
}

/// The text of a message: its string parts (text, code, the text of
/// multimodal messages), joined.
fn text_of(message: &GptMessage) -> String {
    let Some(content) = &message.content else {
        return String::new();
    };
    let mut parts: Vec<&str> = content
        .parts
        .iter()
        .filter_map(|p| {
            p.as_str()
                .or_else(|| p.get("text").and_then(|t| t.as_str()))
        })
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty()
        && let Some(text) = content.text.as_deref()
    {
        parts.push(text);
    }
    parts.join("\n\n")
}

fn hidden(message: &GptMessage) -> bool {
    message
        .metadata
        .as_ref()
        .and_then(|m| m.get("is_visually_hidden_from_conversation"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

pub fn to_archive(bytes: &[u8], model: &str) -> Result<Archive, TransferError> {
    let list: Vec<GptConversation> = parse(FORMAT, bytes)?;
    let now = queries::now().0;
    let mut conversations = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (n, source) in list.into_iter().enumerate() {
        let ids = ImportedIds::new(
            "chatgpt",
            source.conversation_id.as_deref().or(source.id.as_deref()),
            &mut seen,
        );
        let id = ids.conversation();
        let created = seconds(source.create_time, now);
        // Which nodes become messages, and their new ids.
        let mut kept: HashMap<&str, (MessageId, Role, String, Timestamp)> = HashMap::new();
        for (node_id, node) in &source.mapping {
            let Some(message) = &node.message else {
                continue;
            };
            let role = match message.author.role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                _ => continue,
            };
            let text = text_of(message);
            if text.trim().is_empty() || hidden(message) {
                continue;
            }
            kept.insert(
                node_id.as_str(),
                (
                    ids.message(node_id),
                    role,
                    text,
                    seconds(message.create_time, created.0),
                ),
            );
        }
        // The nearest kept node at or above `node`; `None` at the root.
        let nearest_kept = |start: Option<&str>| -> Result<Option<MessageId>, TransferError> {
            let mut at = start;
            let mut steps = 0usize;
            while let Some(node_id) = at {
                if let Some((message_id, ..)) = kept.get(node_id) {
                    return Ok(Some(*message_id));
                }
                steps += 1;
                if steps > source.mapping.len() {
                    return Err(TransferError::malformed(
                        FORMAT,
                        format!("conversation {n} has parent links that form a loop"),
                    ));
                }
                at = source
                    .mapping
                    .get(node_id)
                    .and_then(|node| node.parent.as_deref());
            }
            Ok(None)
        };
        let mut messages = Vec::with_capacity(kept.len());
        for (node_id, (message_id, role, text, at)) in &kept {
            let parent_node = source
                .mapping
                .get(*node_id)
                .and_then(|node| node.parent.as_deref());
            messages.push(Message {
                id: *message_id,
                conversation_id: id,
                parent_id: nearest_kept(parent_node)?,
                role: *role,
                content: vec![ContentBlock::text(text.clone())],
                status: MessageStatus::Complete,
                model: (*role == Role::Assistant).then(|| "chatgpt".to_owned()),
                usage: None,
                created_at: *at,
            });
        }
        messages.sort_by_key(|m| (m.created_at, m.id.to_string()));
        let leaf = match source.current_node.as_deref() {
            Some(current) => nearest_kept(Some(current))?,
            None => None,
        }
        .or_else(|| messages.last().map(|m| m.id));
        conversations.push(ConversationExport {
            conversation: Conversation {
                id,
                title: source.title.unwrap_or_default(),
                system_prompt: String::new(),
                model: model.to_owned(),
                active_leaf: leaf,
                created_at: created,
                updated_at: seconds(source.update_time, created.0),
                pinned: false,
                archived: false,
            },
            messages,
        });
    }
    Ok(Archive::new(conversations))
}
