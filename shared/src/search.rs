//! Full-text search as the UI and the CLI see it: the question
//! ([`SearchQuery`]), the answer ([`SearchResults`] of [`SearchHit`]s with
//! highlighted [`SnippetPart`]s) and how the answer was ranked
//! ([`Ranking`]). The search itself lives in the backend's store.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, MessageId, Role, Timestamp};

/// The most hits one search returns.
pub const MAX_SEARCH_LIMIT: u32 = 200;

/// What a search looks through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SearchScope {
    /// The text of every finished message of every conversation, on every
    /// branch.
    #[default]
    Messages,
    /// Conversation titles only.
    Titles,
}

/// A search as typed. The text is plain words: every word must occur,
/// `"quoted words"` must occur together, and a word ending in `*` matches
/// any word it begins. Nothing else is syntax: operators, brackets,
/// colons and other punctuation are searched as the text they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub text: String,
    #[serde(default)]
    pub scope: SearchScope,
    /// Only what was written at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Only what was written before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// How many hits to return (at most [`MAX_SEARCH_LIMIT`]).
    pub limit: u32,
}

impl SearchQuery {
    /// A search of every message for `text`, returning up to 20 hits.
    pub fn messages(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            scope: SearchScope::Messages,
            since: None,
            until: None,
            limit: 20,
        }
    }
}

/// A piece of a snippet; `hit` pieces are what the search matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// One message (or, for a title search, one conversation) that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub conversation_id: ConversationId,
    pub conversation_title: String,
    /// The matching message; `None` for a title hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When the message was written (for a title hit: the conversation's
    /// last activity).
    pub created_at: Timestamp,
    /// The best-matching stretch of the text, hits marked.
    pub snippet: Vec<SnippetPart>,
    /// BM25 relevance; higher is better.
    pub score: f64,
}

impl SearchHit {
    /// The snippet as one string with hits between `open` and `close`.
    pub fn marked_snippet(&self, open: &str, close: &str) -> String {
        let mut out = String::new();
        for part in &self.snippet {
            if part.hit {
                out.push_str(open);
                out.push_str(&part.text);
                out.push_str(close);
            } else {
                out.push_str(&part.text);
            }
        }
        out
    }
}

/// How the hits were ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ranking {
    /// Every match was scored; the hits are the best of all of them.
    AllMatches { matches: u64 },
    /// More than `window` messages matched: the hits are the best-scored
    /// of the `window` newest matches (older matches are reached by
    /// narrowing the search or the dates).
    NewestWindow { window: u64 },
}

/// The answer to a [`SearchQuery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub ranking: Ranking,
    /// Said to the user when the query was changed or cannot match (for
    /// example, it had no words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_results_round_trip() {
        let query = SearchQuery {
            since: Some(Timestamp(5)),
            ..SearchQuery::messages("tea")
        };
        let json = serde_json::to_string(&query).unwrap();
        assert_eq!(
            json,
            r#"{"text":"tea","scope":"messages","since":5,"limit":20}"#
        );
        assert_eq!(serde_json::from_str::<SearchQuery>(&json).unwrap(), query);
        let ranking = Ranking::NewestWindow { window: 10 };
        let json = serde_json::to_string(&ranking).unwrap();
        assert_eq!(json, r#"{"type":"newest_window","window":10}"#);
    }

    #[test]
    fn marked_snippet_joins_parts() {
        let hit = SearchHit {
            conversation_id: ConversationId::from_uuid(uuid::Uuid::nil()),
            conversation_title: String::new(),
            message_id: None,
            role: None,
            created_at: Timestamp(0),
            snippet: vec![
                SnippetPart {
                    text: "a ".into(),
                    hit: false,
                },
                SnippetPart {
                    text: "tea".into(),
                    hit: true,
                },
                SnippetPart {
                    text: " pot".into(),
                    hit: false,
                },
            ],
            score: 1.0,
        };
        assert_eq!(hit.marked_snippet("[", "]"), "a [tea] pot");
    }
}
