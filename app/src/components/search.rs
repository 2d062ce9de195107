//! The sidebar's search: a box (focused from anywhere with Ctrl+K or
//! Cmd+K), two filters (messages or titles; how far back), and the hits
//! with their matches marked. Choosing a hit opens its conversation with
//! the hit's branch active, scrolls the transcript to the message and
//! marks it for a moment.
//!
//! Searching runs as the person types, a short pause after the last key,
//! and only the latest search's answer is shown.

use std::time::Duration;

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{
    ConversationView, KestrelError, Ranking, SearchHit, SearchQuery, SearchResults, SearchScope,
    SnippetPart, Timestamp,
};

use crate::state::ChatState;

/// The pause after a key before searching.
const DEBOUNCE: Duration = Duration::from_millis(120);

/// How many hits the sidebar lists.
const HITS: u32 = 30;

/// How far back a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Any,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    const ALL: [Period; 5] = [Self::Any, Self::Day, Self::Week, Self::Month, Self::Year];

    fn days(self) -> Option<i64> {
        match self {
            Self::Any => None,
            Self::Day => Some(1),
            Self::Week => Some(7),
            Self::Month => Some(30),
            Self::Year => Some(365),
        }
    }

    fn value(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Any => "Any time",
            Self::Day => "Past day",
            Self::Week => "Past week",
            Self::Month => "Past month",
            Self::Year => "Past year",
        }
    }

    fn from_value(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.value() == value)
            .unwrap_or(Self::Any)
    }
}

#[component]
pub fn SearchBox() -> Element {
    let mut text = use_signal(String::new);
    let mut scope = use_signal(|| SearchScope::Messages);
    let mut period = use_signal(|| Period::Any);
    use_effect(|| crate::page::install_search_shortcut("search-input"));
    let results = use_resource(move || async move {
        let (text, scope, period) = (text(), scope(), period());
        if text.trim().is_empty() {
            return None;
        }
        crate::time::sleep(DEBOUNCE).await;
        let since = period
            .days()
            .map(|days| Timestamp(crate::page::now_ms() - days * 86_400_000));
        let query = SearchQuery {
            text,
            scope,
            since,
            until: None,
            limit: HITS,
        };
        Some(api::search(query).await.map_err(api::to_kestrel_error))
    });
    let searching = !text.read().trim().is_empty();
    let answer = match &*results.read() {
        Some(Some(Ok(found))) => rsx! { SearchHits { results: found.clone() } },
        Some(Some(Err(error))) => rsx! { p { class: "search-note error", "{error}" } },
        _ => rsx! { p { class: "search-note", "Searching…" } },
    };
    rsx! {
        div { class: "search", role: "search",
            input {
                id: "search-input",
                r#type: "search",
                placeholder: "Search (Ctrl+K)",
                "aria-label": "Search conversations",
                autocomplete: "off",
                value: "{text}",
                oninput: move |evt| text.set(evt.value()),
                onkeydown: move |evt: KeyboardEvent| {
                    if evt.key() == Key::Escape && !text.peek().is_empty() {
                        evt.prevent_default();
                        evt.stop_propagation();
                        text.set(String::new());
                    }
                },
            }
            if searching {
                div { class: "search-filters",
                    select {
                        class: "search-scope",
                        "aria-label": "Search in",
                        value: if scope() == SearchScope::Titles { "titles" } else { "messages" },
                        onchange: move |evt| {
                            scope.set(if evt.value() == "titles" { SearchScope::Titles } else { SearchScope::Messages });
                        },
                        option { value: "messages", "All messages" }
                        option { value: "titles", "Titles only" }
                    }
                    select {
                        class: "search-period",
                        "aria-label": "Written",
                        value: period().value(),
                        onchange: move |evt| period.set(Period::from_value(&evt.value())),
                        for p in Period::ALL {
                            option { key: "{p.value()}", value: p.value(), "{p.label()}" }
                        }
                    }
                }
            }
        }
        if searching {
            div { class: "search-results", "aria-label": "Search results",
                {answer}
            }
        }
    }
}

#[component]
fn SearchHits(results: SearchResults) -> Element {
    let note = match (results.hits.len(), results.ranking) {
        (0, _) => Some("No matches.".to_owned()),
        (_, Ranking::NewestWindow { window }) => Some(format!(
            "Many matches: the best of the newest {window} are shown."
        )),
        _ => None,
    };
    rsx! {
        if let Some(notice) = results.notice {
            p { class: "search-note", "{notice}" }
        }
        if let Some(note) = note {
            p { class: "search-note", "{note}" }
        }
        ul { class: "search-hits",
            for (i, hit) in results.hits.into_iter().enumerate() {
                SearchHitRow {
                    key: "{hit.message_id.map(|m| m.to_string()).unwrap_or_else(|| hit.conversation_id.to_string())}-{i}",
                    hit,
                }
            }
        }
    }
}

#[component]
fn SearchHitRow(hit: SearchHit) -> Element {
    let state = use_context::<ChatState>();
    let title = if hit.conversation_title.is_empty() {
        "New conversation".to_owned()
    } else {
        hit.conversation_title.clone()
    };
    let target = hit.message_id.map(|m| m.to_string()).unwrap_or_default();
    let parts = hit.snippet.clone();
    rsx! {
        li {
            button {
                class: "search-hit",
                "data-conversation-id": "{hit.conversation_id}",
                "data-message-id": "{target}",
                onclick: move |_| {
                    spawn(jump_to(state, hit.clone()));
                },
                if hit.message_id.is_some() {
                    span { class: "search-hit-title", "{title}" }
                    span { class: "search-hit-snippet", Marked { parts } }
                } else {
                    // A title hit: the title is the snippet.
                    span { class: "search-hit-title", Marked { parts } }
                }
            }
        }
    }
}

/// Snippet text with the matched words in `<mark>`.
#[component]
fn Marked(parts: Vec<SnippetPart>) -> Element {
    rsx! {
        for (i, part) in parts.into_iter().enumerate() {
            if part.hit {
                mark { key: "{i}", "{part.text}" }
            } else {
                span { key: "{i}", "{part.text}" }
            }
        }
    }
}

/// Opens a hit: its conversation with the hit's branch active, scrolled to
/// the message, which is marked for a moment.
async fn jump_to(mut state: ChatState, hit: SearchHit) {
    let view: Result<ConversationView, KestrelError> = match hit.message_id {
        Some(message) => api::reveal_message(message).await,
        None => api::load_conversation(hit.conversation_id).await,
    }
    .map_err(api::to_kestrel_error);
    match view {
        Ok(view) => {
            let id = view.conversation.id;
            state.error.set(None);
            state.show_system_prompt.set(false);
            state.current.set(Some(view.conversation));
            state.messages.set(view.messages);
            crate::address::set_fragment(Some(&id.to_string()));
            if let Some(message) = hit.message_id {
                crate::page::reveal_message(message.to_string()).await;
            }
        }
        Err(error) => state.error.set(Some(error)),
    }
}

#[cfg(test)]
mod tests {
    use kestrel_shared::{ConversationId, MessageId, Role};

    use super::*;

    #[derive(Props, Clone, PartialEq)]
    struct HitsProps {
        results: SearchResults,
    }

    #[allow(non_snake_case)]
    fn Harness(props: HitsProps) -> Element {
        use_context_provider(ChatState::new);
        rsx! { SearchHits { results: props.results } }
    }

    fn render(results: SearchResults) -> String {
        let mut dom = VirtualDom::new_with_props(Harness, HitsProps { results });
        dom.rebuild_in_place();
        dioxus_ssr::render(&dom)
    }

    fn part(text: &str, hit: bool) -> SnippetPart {
        SnippetPart {
            text: text.into(),
            hit,
        }
    }

    #[test]
    fn hits_show_title_and_marked_snippet_and_say_how_they_were_ranked() {
        let message = id::<MessageId>(7);
        let html = render(SearchResults {
            hits: vec![
                SearchHit {
                    conversation_id: id::<ConversationId>(1),
                    conversation_title: "Tea <notes>".into(),
                    message_id: Some(message),
                    role: Some(Role::User),
                    created_at: Timestamp(0),
                    snippet: vec![
                        part("…brew ", false),
                        part("green", true),
                        part(" tea", false),
                    ],
                    score: 2.0,
                },
                SearchHit {
                    conversation_id: id::<ConversationId>(2),
                    conversation_title: "Green things".into(),
                    message_id: None,
                    role: None,
                    created_at: Timestamp(0),
                    snippet: vec![part("Green", true), part(" things", false)],
                    score: 1.0,
                },
            ],
            ranking: Ranking::NewestWindow { window: 1000 },
            notice: None,
        });
        assert!(html.contains("Tea &#60;notes&#62;"), "{html}");
        assert!(
            html.contains("<span>…brew </span><mark>green</mark><span> tea</span>"),
            "{html}"
        );
        assert!(
            html.contains(&format!("data-message-id=\"{message}\"")),
            "{html}"
        );
        assert!(
            html.contains(
                "<span class=\"search-hit-title\"><mark>Green</mark><span> things</span></span>"
            ),
            "{html}"
        );
        assert!(
            html.contains("the best of the newest 1000 are shown"),
            "{html}"
        );

        let empty = render(SearchResults {
            hits: Vec::new(),
            ranking: Ranking::AllMatches { matches: 0 },
            notice: Some("Type a word to search for.".into()),
        });
        assert!(empty.contains("Type a word to search for."), "{empty}");
        assert!(empty.contains("No matches."), "{empty}");
    }

    fn id<T: std::str::FromStr>(n: u128) -> T
    where
        T::Err: std::fmt::Debug,
    {
        format!("00000000-0000-7000-8000-{n:012}").parse().unwrap()
    }
}
