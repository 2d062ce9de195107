//! A conversation as Markdown, for reading and sharing: the title, then
//! each message of the active branch under a "You" or "Assistant"
//! heading. Thinking is folded into a `<details>` block, tool calls and
//! results are fenced code, images and documents are named.

use std::fmt::Write;

use kestrel_shared::{ContentBlock, MessageStatus, Role};

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

/// The export's messages, in order, as Markdown.
pub fn render(export: &ConversationExport) -> String {
    let mut out = String::new();
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
    for message in &export.messages {
        let who = match message.role {
            Role::User => "You",
            Role::Assistant => "Assistant",
        };
        let _ = writeln!(out, "## {who}\n");
        for b in &message.content {
            block(&mut out, b);
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
    out
}
