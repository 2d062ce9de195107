//! Claude.ai's data export (`conversations.json`): an array of
//! conversations, each with `uuid`, `name`, `created_at`, `updated_at` and
//! `chat_messages` (`uuid`, `sender` "human"/"assistant", `text` and/or
//! `content` blocks, `created_at`, and in newer exports
//! `parent_message_uuid`). Messages link to their parent when the export
//! says so, and otherwise follow one another in order; the last one is
//! the active leaf. Attachments' extracted text is kept as text; files
//! themselves are not in the export.

use std::collections::{HashMap, HashSet};

use kestrel_shared::{
    ContentBlock, Conversation, Message, MessageId, MessageStatus, Role, Timestamp,
};
use serde::Deserialize;

use super::{Archive, ConversationExport, ImportedIds, TransferError, parse};
use crate::store::queries;

const FORMAT: &str = "Claude.ai export";

#[derive(Deserialize)]
struct ClaudeConversation {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    chat_messages: Vec<ClaudeMessage>,
}

#[derive(Deserialize)]
struct ClaudeMessage {
    uuid: String,
    sender: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    content: Vec<serde_json::Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    parent_message_uuid: Option<String>,
    #[serde(default)]
    attachments: Vec<ClaudeAttachment>,
}

#[derive(Deserialize)]
struct ClaudeAttachment {
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    extracted_content: Option<String>,
}

/// Milliseconds since the epoch from an RFC 3339 time such as
/// `2024-05-01T12:30:00.123456Z` or `…+02:00`.
pub fn rfc3339_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', ' '])?;
    let mut date = date.splitn(3, '-');
    let year: i64 = date.next()?.parse().ok()?;
    let month: i64 = date.next()?.parse().ok()?;
    let day: i64 = date.next()?.parse().ok()?;
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
        (
            clock,
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
        )
    };
    let mut parts = clock.splitn(3, ':');
    let hour: i64 = parts.next()?.parse().ok()?;
    let minute: i64 = parts.next()?.parse().ok()?;
    let seconds = parts.next().unwrap_or("0");
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let second: i64 = whole.parse().ok()?;
    let millis: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days since 1970-01-01 (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs) * 1000) + millis)
}

fn time(text: Option<&str>, fallback: i64) -> Timestamp {
    Timestamp(text.and_then(rfc3339_millis).unwrap_or(fallback))
}

/// The message's text: its text blocks (or the plain `text` field), then
/// any attachment's extracted text.
fn content(message: &ClaudeMessage) -> Vec<ContentBlock> {
    let mut blocks: Vec<ContentBlock> = message
        .content
        .iter()
        .filter(|b| b.get("type").and_then(|t| t.as_str()) == Some("text"))
        .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
        .filter(|t| !t.is_empty())
        .map(ContentBlock::text)
        .collect();
    if blocks.is_empty()
        && let Some(text) = message.text.as_deref().filter(|t| !t.is_empty())
    {
        blocks.push(ContentBlock::text(text));
    }
    for attachment in &message.attachments {
        if let Some(extracted) = attachment.extracted_content.as_deref() {
            let name = attachment.file_name.as_deref().unwrap_or("attachment");
            blocks.push(ContentBlock::text(format!("[{name}]\n{extracted}")));
        }
    }
    blocks
}

pub fn to_archive(bytes: &[u8], model: &str) -> Result<Archive, TransferError> {
    let list: Vec<ClaudeConversation> = parse(FORMAT, bytes)?;
    let now = queries::now().0;
    let mut conversations = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for source in list {
        let message_ids = ImportedIds::new("claude.ai", source.uuid.as_deref(), &mut seen);
        let id = message_ids.conversation();
        let created = time(source.created_at.as_deref(), now);
        let mut ids: HashMap<String, MessageId> = HashMap::new();
        let mut messages = Vec::with_capacity(source.chat_messages.len());
        let mut previous: Option<MessageId> = None;
        for message in &source.chat_messages {
            let role = match message.sender.as_str() {
                "human" | "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(TransferError::malformed(
                        FORMAT,
                        format!("message {} has an unknown sender {other:?}", message.uuid),
                    ));
                }
            };
            let new_id = message_ids.message(&message.uuid);
            if ids.insert(message.uuid.clone(), new_id).is_some() {
                return Err(TransferError::malformed(
                    FORMAT,
                    format!("message {} appears twice", message.uuid),
                ));
            }
            // The export's parent link when it names an earlier message;
            // the previous message otherwise (older exports are linear).
            let parent = message
                .parent_message_uuid
                .as_ref()
                .and_then(|p| ids.get(p).copied())
                .filter(|p| *p != new_id)
                .or(previous);
            messages.push(Message {
                id: new_id,
                conversation_id: id,
                parent_id: parent,
                role,
                content: content(message),
                status: MessageStatus::Complete,
                model: (role == Role::Assistant).then(|| "claude.ai".to_owned()),
                usage: None,
                created_at: time(message.created_at.as_deref(), created.0),
            });
            previous = Some(new_id);
        }
        conversations.push(ConversationExport {
            conversation: Conversation {
                id,
                title: source.name.unwrap_or_default(),
                system_prompt: String::new(),
                model: model.to_owned(),
                active_leaf: previous,
                created_at: created,
                updated_at: time(source.updated_at.as_deref(), created.0),
                pinned: false,
                archived: false,
            },
            messages,
        });
    }
    Ok(Archive::new(conversations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_millis("2024-05-01T12:30:00.123456Z"),
            Some(1_714_566_600_123)
        );
        assert_eq!(
            rfc3339_millis("2024-05-01T14:30:00+02:00"),
            Some(1_714_566_600_000)
        );
        assert_eq!(rfc3339_millis("yesterday"), None);
        assert_eq!(rfc3339_millis("2024-13-01T00:00:00Z"), None);
    }
}
