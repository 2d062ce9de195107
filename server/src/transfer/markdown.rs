//! A conversation as Markdown, for reading and sharing: the title, then
//! each message under a "You" or "Assistant" heading. [`render`] writes
//! the messages it is given in order (the active branch);
//! [`render_tree`] writes every branch, each alternative version after the
//! branch it differs from, marked "version 2 of 3". Thinking is folded
//! into a `<details>` block, tool calls and results are fenced code,
//! images and documents are named.

use std::collections::HashMap;
use std::fmt::Write;

use kestrel_shared::{ContentBlock, Message, MessageId, MessageStatus, Role};

use super::ConversationExport;

/// A fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn block(out: &mut String, block: &ContentBlock) {
    match block {
        ContentBlock::Text { text } => {
            let _ = writeln!(out, "{text}\n");
        }
        ContentBlock::Thinking { thinking, .. } => {
            let _ = writeln!(
                out,
                "<details><summary>Thinking</summary>\n\n{thinking}\n\n</details>\n"
            );
        }
        ContentBlock::RedactedThinking { .. } => out.push_str("*(thinking redacted)*\n\n"),
        ContentBlock::ToolUse { name, input, .. } => {
            let json = serde_json::to_string_pretty(input).unwrap_or_default();
            let f = fence(&json);
            let _ = writeln!(out, "**Tool call: {name}**\n\n{f}json\n{json}\n{f}\n");
        }
        ContentBlock::ToolResult {
            content, is_error, ..
        } => {
            let text: Vec<&str> = content.iter().filter_map(ContentBlock::as_text).collect();
            let text = text.join("\n");
            let f = fence(&text);
            let label = if *is_error {
                "Tool error"
            } else {
                "Tool result"
            };
            let _ = writeln!(out, "**{label}**\n\n{f}\n{text}\n{f}\n");
        }
        ContentBlock::Image { .. } => out.push_str("*(image)*\n\n"),
        ContentBlock::Document { title, .. } => {
            let _ = writeln!(
                out,
                "*(document: {})*\n",
                title.as_deref().unwrap_or("untitled")
            );
        }
        _ => {}
    }
}

fn header(out: &mut String, export: &ConversationExport) {
    let title = if export.conversation.title.is_empty() {
        "Conversation"
    } else {
        export.conversation.title.as_str()
    };
    let _ = writeln!(out, "# {title}\n");
    if !export.conversation.system_prompt.is_empty() {
        let _ = writeln!(
            out,
            "> System prompt: {}\n",
            export.conversation.system_prompt
        );
    }
}

fn message(out: &mut String, message: &Message, version: Option<(usize, usize)>) {
    let who = match message.role {
        Role::User => "You",
        Role::Assistant => "Assistant",
    };
    match version {
        Some((n, of)) => {
            let _ = writeln!(out, "## {who} (version {n} of {of})\n");
        }
        None => {
            let _ = writeln!(out, "## {who}\n");
        }
    }
    for b in &message.content {
        block(out, b);
    }
    let note = match message.status {
        MessageStatus::Cancelled => Some("stopped"),
        MessageStatus::Failed => Some("failed"),
        MessageStatus::Interrupted => Some("interrupted"),
        _ => None,
    };
    if let Some(note) = note {
        let _ = writeln!(out, "*(reply {note})*\n");
    }
}

/// The export's messages, in order, as Markdown.
pub fn render(export: &ConversationExport) -> String {
    let mut out = String::new();
    header(&mut out, export);
    for m in &export.messages {
        message(&mut out, m, None);
    }
    out
}

/// A group of siblings pushed so that the first comes off the stack first.
fn push_group<'a>(stack: &mut Vec<(&'a Message, Option<(usize, usize)>)>, group: &[&'a Message]) {
    let of = group.len();
    for (i, m) in group.iter().enumerate().rev() {
        stack.push((*m, (of > 1).then_some((i + 1, of))));
    }
}

/// Every branch of the export's tree as Markdown: the first version of
/// each message is followed down to its end, then each later version
/// starts after a rule, marked "version n of m".
pub fn render_tree(export: &ConversationExport) -> String {
    let mut children: HashMap<Option<MessageId>, Vec<&Message>> = HashMap::new();
    for m in &export.messages {
        children.entry(m.parent_id).or_default().push(m);
    }
    let mut out = String::new();
    header(&mut out, export);
    // (message, version) in the order to write; a stack, last first.
    let mut stack: Vec<(&Message, Option<(usize, usize)>)> = Vec::new();
    push_group(
        &mut stack,
        children.get(&None).map_or(&[][..], Vec::as_slice),
    );
    let mut first = true;
    while let Some((m, version)) = stack.pop() {
        if matches!(version, Some((n, _)) if n > 1) && !first {
            out.push_str("---\n\n");
        }
        first = false;
        message(&mut out, m, version);
        push_group(
            &mut stack,
            children.get(&Some(m.id)).map_or(&[][..], Vec::as_slice),
        );
    }
    out
}
