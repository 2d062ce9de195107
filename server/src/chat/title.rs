//! The short title asked of the model after a conversation's first
//! exchange. Until it arrives (or if it is skipped in settings, or fails),
//! the title is the first line of the first message. A title the person
//! set themselves is never replaced.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kestrel_shared::{ContentBlock, Conversation, ConversationId, KestrelError, Role};

use super::title_from;
use crate::backend::Backend;
use crate::llm::{CompletionEvent, CompletionRequest, RequestMessage};
use crate::store::{conversations, queries};

/// How much of each message the title request quotes.
const QUOTE_CHARS: usize = 2000;
/// Longest wait for the title.
const TITLE_TIMEOUT: Duration = Duration::from_secs(20);
/// The title's length limit, in characters.
const TITLE_CHARS: usize = 60;

const INSTRUCTIONS: &str = "You name conversations. Reply with a title of at most six words for \
     the conversation below: no quotes, no final punctuation, nothing else.";

fn quote(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().count() > QUOTE_CHARS {
        out.push('…');
    }
    out
}

/// The model's answer made into a title: first line, no quotes, no
/// trailing full stop, at most [`TITLE_CHARS`].
pub fn clean_title(raw: &str) -> String {
    let line = raw.trim().lines().next().unwrap_or_default();
    let line = line
        .trim()
        .trim_start_matches("Title:")
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '“' | '”' | '*' | '#'))
        .trim_end_matches('.')
        .trim();
    line.chars().take(TITLE_CHARS).collect()
}

impl Backend {
    /// Asks the model for a short title after the first exchange, unless
    /// skipped in settings or the person already renamed the
    /// conversation. Returns the conversation as it now is.
    pub async fn auto_title(
        self: &Arc<Self>,
        id: ConversationId,
    ) -> Result<Conversation, KestrelError> {
        let (conversation, settings, path) = self
            .store
            .call(move |conn| {
                let conversation = queries::get_conversation(conn, id)?;
                let path = queries::active_path(conn, &conversation)?;
                Ok((conversation, queries::load_settings(conn)?, path))
            })
            .await
            .map_err(|e| e.to_kestrel())?;
        let (Some(question), Some(answer)) = (path.first(), path.get(1)) else {
            return Ok(conversation);
        };
        let provisional = title_from(&question.text());
        if settings.skip_auto_title
            || conversation.title != provisional
            || question.role != Role::User
            || answer.text().trim().is_empty()
        {
            return Ok(conversation);
        }
        let Ok((options, key)) = self.turn_options(Some(conversation.id)).await else {
            return Ok(conversation);
        };
        let request = CompletionRequest::new(
            conversation.model.clone(),
            INSTRUCTIONS,
            vec![RequestMessage {
                role: Role::User,
                content: vec![ContentBlock::text(format!(
                    "User: {}\n\nAssistant: {}",
                    quote(&question.text()),
                    quote(&answer.text())
                ))],
            }],
            24,
        );
        let asked = async {
            let mut stream = self
                .provider(options.provider)
                .stream(key.as_ref(), &request);
            let mut text = String::new();
            while let Some(event) = stream.next().await {
                if let CompletionEvent::Text { text: more, .. } = event? {
                    text.push_str(&more);
                }
            }
            Ok::<_, crate::llm::LlmError>(text)
        };
        let title = match tokio::time::timeout(TITLE_TIMEOUT, asked).await {
            Ok(Ok(raw)) => clean_title(&raw),
            Ok(Err(error)) => {
                tracing::info!(%error, "no title from the model; keeping the first line");
                return Ok(conversation);
            }
            Err(_) => {
                tracing::info!("the title took too long; keeping the first line");
                return Ok(conversation);
            }
        };
        if title.is_empty() {
            return Ok(conversation);
        }
        self.store
            .call(move |conn| {
                conversations::replace_provisional_title(conn, id, &provisional, &title)?;
                queries::get_conversation(conn, id)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn titles_are_one_clean_line() {
        assert_eq!(
            clean_title("\"Paris travel tips.\"\nmore"),
            "Paris travel tips"
        );
        assert_eq!(clean_title("Title: **Rust lifetimes**"), "Rust lifetimes");
        assert_eq!(clean_title("   "), "");
        assert_eq!(clean_title(&"é".repeat(100)).chars().count(), TITLE_CHARS);
    }
}
