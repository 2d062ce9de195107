//! Components rendered to HTML (server-side rendering, no browser), with
//! the state they read set up front.

use dioxus::prelude::*;
use kestrel_shared::{
    AgentState, ContentBlock, Conversation, KeySource, KeyStatus, Message, MessageStatus,
    ProviderKind, Role, SecureStore, Timestamp,
};
use pretty_assertions::assert_eq;

use super::{Composer, MessageList, SettingsDialog, Sidebar, StreamingMessage};
use crate::state::{ChatState, LiveTurn, Retry};

#[derive(Clone, Copy, PartialEq)]
enum Show {
    Transcript,
    Composer,
    Sidebar,
    Settings,
    OpenAiKey,
}

#[derive(Props, Clone, PartialEq)]
struct HarnessProps {
    show: Show,
    #[props(default)]
    messages: Vec<Message>,
    #[props(default)]
    conversations: Vec<Conversation>,
    #[props(default)]
    draft: String,
    #[props(default)]
    live: Option<(AgentState, String)>,
    #[props(default)]
    retry: Option<Retry>,
    #[props(default)]
    key_status: Option<KeyStatus>,
}

#[allow(non_snake_case)]
fn Harness(props: HarnessProps) -> Element {
    let init = props.clone();
    use_context_provider(move || {
        let mut state = ChatState::new();
        state.messages.set(init.messages);
        state.conversations.set(init.conversations);
        state.draft.set(init.draft);
        state.key_status.set(init.key_status);
        if let Some((agent_state, text)) = init.live {
            state.turn.set(Some(LiveTurn {
                turn_id: None,
                conversation_id: None,
                state: agent_state,
                stop_requested: false,
                retry: init.retry,
            }));
            state.live_text.set(text);
        }
        state
    });
    match props.show {
        Show::Transcript => rsx! { MessageList {} StreamingMessage {} },
        Show::Composer => rsx! { Composer {} },
        Show::Sidebar => rsx! { Sidebar {} },
        Show::Settings => rsx! { SettingsDialog {} },
        Show::OpenAiKey => rsx! { super::settings::OpenAiKeySection {} },
    }
}

/// Props showing `show` with empty state; tests override what they need.
fn props(show: Show) -> HarnessProps {
    HarnessProps {
        show,
        messages: Vec::new(),
        conversations: Vec::new(),
        draft: String::new(),
        live: None,
        retry: None,
        key_status: None,
    }
}

fn render(props: HarnessProps) -> String {
    let mut dom = VirtualDom::new_with_props(Harness, props);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

fn message(n: u64, role: Role, content: Vec<ContentBlock>, status: MessageStatus) -> Message {
    Message {
        id: id(n),
        conversation_id: id(0),
        parent_id: None,
        role,
        content,
        status,
        model: None,
        usage: None,
        created_at: Timestamp(0),
    }
}

fn id<T: std::str::FromStr<Err = kestrel_shared::IdParseError>>(n: u64) -> T {
    format!("00000000-0000-0000-0000-{n:012}").parse().unwrap()
}

#[test]
fn empty_transcript_invites_a_first_message() {
    let html = render(props(Show::Transcript));
    assert_eq!(
        html,
        "<div class=\"empty-state\"><h1>What can I help with?</h1><p>Ask anything. Replies stream in as they are written.</p></div>"
    );
}

#[test]
fn transcript_renders_each_message_escaped_with_its_status() {
    let html = render(HarnessProps {
        messages: vec![
            message(
                1,
                Role::User,
                vec![ContentBlock::text("Is <b>this</b> bold?")],
                MessageStatus::Complete,
            ),
            message(
                2,
                Role::Assistant,
                vec![ContentBlock::text("No & **it** <i>")],
                MessageStatus::Cancelled,
            ),
        ],
        ..props(Show::Transcript)
    });
    assert_eq!(
        html,
        concat!(
            "<article class=\"message user\" data-message-id=\"00000000-0000-0000-0000-000000000001\" data-status=\"\">",
            "<div class=\"bubble\"><div class=\"text\">Is &#60;b&#62;this&#60;/b&#62; bold?</div></div>",
            "<div class=\"message-tools\"><button class=\"tool edit\">Edit</button></div></article>",
            "<article class=\"message assistant\" data-message-id=\"00000000-0000-0000-0000-000000000002\" data-status=\"Stopped\">",
            "<div class=\"bubble\"><div class=\"text markdown\"><p>No &amp; <strong>it</strong> &lt;i&gt;</p>
</div></div>",
            "<span class=\"badge\">Stopped</span>",
            "<div class=\"message-tools\"><button class=\"tool continue\">Continue</button>",
            "<button class=\"tool retry\">Retry</button></div></article>",
        )
    );
}

#[test]
fn the_streaming_reply_renders_after_the_finished_messages() {
    let html = render(HarnessProps {
        messages: vec![message(
            1,
            Role::User,
            vec![ContentBlock::text("hi")],
            MessageStatus::Complete,
        )],
        live: Some((AgentState::Streaming, "Hel".into())),
        ..props(Show::Transcript)
    });
    assert!(
        html.ends_with(concat!(
            "<article class=\"message assistant streaming\" aria-busy=\"true\">",
            "<div class=\"bubble\"><div class=\"text markdown cursor\"><p>Hel</p>\n</div></div></article>"
        )),
        "{html}"
    );
    let thinking = render(HarnessProps {
        live: Some((AgentState::Thinking, String::new())),
        ..props(Show::Transcript)
    });
    assert!(
        thinking.contains("<div class=\"pending cursor\">Thinking</div>"),
        "{thinking}"
    );
}

#[test]
fn a_reply_waiting_on_a_retry_says_why_and_for_how_long() {
    let retry = Retry {
        attempt: 2,
        delay_ms: 1500,
        kind: kestrel_shared::ErrorKind::Overloaded,
    };
    let html = render(HarnessProps {
        live: Some((AgentState::Thinking, String::new())),
        retry: Some(retry),
        ..props(Show::Transcript)
    });
    assert!(
        html.contains(concat!(
            "<div class=\"pending retrying\" role=\"status\">",
            "The model is overloaded. Trying again in 2 s (retry 2)</div>"
        )),
        "{html}"
    );
    assert!(!html.contains("Thinking"), "{html}");
}

#[test]
fn finished_blocks_of_a_streaming_reply_are_separate_from_the_growing_tail() {
    let html = render(HarnessProps {
        live: Some((
            AgentState::Streaming,
            "First.\n\n```rust\nlet a = 1;\n```\n\nThe *ta".into(),
        )),
        ..props(Show::Transcript)
    });
    assert!(
        html.starts_with(concat!(
            "<article class=\"message assistant streaming\" aria-busy=\"true\"><div class=\"bubble\">",
            "<div class=\"text markdown\"><p>First.</p>\n</div>",
            "<div class=\"text markdown\"><div class=\"code-block\"><div class=\"code-lang\">rust</div>",
            "<pre><code><span class=\"hl-source hl-rust\">",
        )),
        "{html}"
    );
    assert!(
        html.ends_with(concat!(
            "</code></pre></div>\n</div>",
            "<div class=\"text markdown cursor\"><p>The *ta</p>\n</div></div></article>"
        )),
        "{html}"
    );
}

#[test]
fn an_open_code_fence_stays_in_the_tail_unhighlighted() {
    let html = render(HarnessProps {
        live: Some((
            AgentState::Streaming,
            "Intro.\n\n```py\na = 1\n\nb = 2\n".into(),
        )),
        ..props(Show::Transcript)
    });
    assert!(
        html.ends_with(concat!(
            "<div class=\"text markdown\"><p>Intro.</p>\n</div>",
            "<div class=\"text markdown cursor\"><div class=\"code-block\"><div class=\"code-lang\">py</div>",
            "<pre><code>a = 1\n\nb = 2\n</code></pre></div>\n</div></div></article>"
        )),
        "{html}"
    );
}

#[test]
fn composer_with_an_empty_draft_cannot_send() {
    let html = render(HarnessProps {
        draft: "   ".into(),
        ..props(Show::Composer)
    });
    assert!(
        html.contains("<button class=\"primary send\" disabled=true>Send</button>"),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"token-count\" aria-live=\"off\">≈ 1 tokens</span>"),
        "{html}"
    );
}

#[test]
fn composer_counts_tokens_and_enables_send() {
    let html = render(HarnessProps {
        draft: "Hello, world!".into(),
        key_status: Some(KeyStatus {
            source: Some(KeySource::Session),
            last_four: Some("abcd".into()),
            base_url: "u".into(),
            ..Default::default()
        }),
        ..props(Show::Composer)
    });
    assert!(html.contains("≈ 6 tokens"), "{html}");
    assert!(
        html.contains("<button class=\"primary send\">Send</button>"),
        "{html}"
    );
    assert!(html.contains("placeholder=\"Message Kestrel…\""), "{html}");
}

#[test]
fn composer_shows_stop_while_a_reply_streams_and_asks_for_a_key_without_one() {
    let html = render(HarnessProps {
        live: Some((AgentState::Streaming, "x".into())),
        key_status: Some(KeyStatus::default()),
        ..props(Show::Composer)
    });
    assert!(
        html.contains("<button class=\"stop\" title=\"Stop (Esc)\">Stop</button>"),
        "{html}"
    );
    assert!(!html.contains("class=\"primary send\""), "{html}");
    assert!(
        html.contains("placeholder=\"Add an API key in Settings to start…\""),
        "{html}"
    );
}

#[test]
fn the_sidebar_lists_the_most_recent_page_and_offers_the_rest() {
    let conversations: Vec<Conversation> = (1..=60)
        .map(|n| Conversation {
            id: id(n),
            title: format!("Conversation {n}"),
            system_prompt: String::new(),
            model: "m".into(),
            active_leaf: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            pinned: false,
            archived: false,
        })
        .collect();
    let html = render(HarnessProps {
        conversations,
        ..props(Show::Sidebar)
    });
    assert_eq!(
        html.matches("class=\"conversation-item\"").count(),
        super::sidebar::PAGE
    );
    assert!(
        html.contains(">Conversation 50<") && !html.contains(">Conversation 51<"),
        "{html}"
    );
    assert!(html.contains(">Show 10 more</button>"), "{html}");
}

#[test]
fn settings_name_the_keychain_and_offer_check_replace_and_remove() {
    let html = render(HarnessProps {
        key_status: Some(KeyStatus {
            source: Some(KeySource::Keychain),
            last_four: Some("wxyz".into()),
            base_url: "https://api.anthropic.com".into(),
            secure_store: SecureStore::Available,
        }),
        ..props(Show::Settings)
    });
    assert!(
        html.contains("Using the key saved in the system keychain (…wxyz)."),
        "{html}"
    );
    assert!(html.contains(">Replace</button>"), "{html}");
    assert!(html.contains("class=\"check-key\""), "{html}");
    assert!(html.contains("class=\"link remove-key\""), "{html}");
    assert!(!html.contains("keychain-unavailable"), "{html}");
}

#[test]
fn settings_say_plainly_when_no_secure_store_is_available() {
    let html = render(HarnessProps {
        key_status: Some(KeyStatus {
            secure_store: SecureStore::Unavailable {
                reason: "no D-Bus session".into(),
            },
            ..Default::default()
        }),
        ..props(Show::Settings)
    });
    assert!(
        html.contains(
            "No secure key store is available (no D-Bus session). A key entered here is kept \
             in memory for this session only and is never written to disk."
        ),
        "{html}"
    );
    assert!(html.contains(">Use for this session</button>"), "{html}");
    assert!(
        !html.contains("check-key"),
        "no key, nothing to check: {html}"
    );
}

#[test]
fn settings_leave_an_environment_key_alone() {
    let html = render(HarnessProps {
        key_status: Some(KeyStatus {
            source: Some(KeySource::Environment),
            last_four: Some("abcd".into()),
            ..Default::default()
        }),
        ..props(Show::Settings)
    });
    assert!(
        html.contains("Using ANTHROPIC_API_KEY from the environment (…abcd)."),
        "{html}"
    );
    assert!(!html.contains("api-key-input"), "{html}");
    assert!(!html.contains("remove-key"), "{html}");
    assert!(html.contains("class=\"check-key\""), "{html}");
}

#[test]
fn settings_ask_which_provider_first_and_start_with_anthropic() {
    let html = render(HarnessProps {
        key_status: Some(KeyStatus::default()),
        ..props(Show::Settings)
    });
    assert!(
        html.contains("<section class=\"key-section\" data-provider=\"anthropic\">"),
        "{html}"
    );
    assert!(
        html.contains(
            "class=\"selected key-provider-anthropic\" role=\"radio\" aria-checked=\"true\">Anthropic</button>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "class=\"key-provider-openai\" role=\"radio\" aria-checked=\"false\">OpenAI-compatible</button>"
        ),
        "{html}"
    );
    assert!(html.contains("No API key is configured."), "{html}");
    assert!(html.contains("placeholder=\"sk-ant-…\""), "{html}");
    assert!(!html.contains("openai-base-url-input"), "{html}");
}

#[test]
fn the_openai_compatible_section_has_the_server_address_and_reads_its_status() {
    let html = render(props(Show::OpenAiKey));
    assert!(html.contains("id=\"openai-base-url-input\""), "{html}");
    assert!(html.contains(">Server address</label>"), "{html}");
    assert!(html.contains(">Use this server</button>"), "{html}");
    // Its status is read when it opens; until then it says so.
    assert!(html.contains("Reading the key status…"), "{html}");
    assert!(html.contains("placeholder=\"sk-…\""), "{html}");
    assert!(!html.contains("check-key"), "{html}");
}

#[test]
fn the_key_line_names_each_provider_s_variable_and_never_more_than_four_characters() {
    use super::settings::key_line;
    let env = |four: &str| KeyStatus {
        source: Some(KeySource::Environment),
        last_four: Some(four.into()),
        ..Default::default()
    };
    assert_eq!(
        key_line(ProviderKind::OpenAi, &env("9999")),
        "Using OPENAI_API_KEY from the environment (…9999)."
    );
    assert_eq!(
        key_line(ProviderKind::Anthropic, &env("abcd")),
        "Using ANTHROPIC_API_KEY from the environment (…abcd)."
    );
    assert_eq!(
        key_line(ProviderKind::OpenAi, &KeyStatus::default()),
        "No key is set for this server."
    );
}

/// The streaming cost model: a flush re-renders only the live tail.
/// Finished blocks are components whose props do not change, so their
/// HTML is never set again; a block that just finished is added once.
#[test]
fn a_flush_rewrites_only_the_tail_of_a_streaming_reply() {
    use dioxus::core::{AttributeValue, Mutation, Mutations};

    let start = "First.\n\n```rust\nfn a() {}\n```\n\nThe ta";
    let mut dom = VirtualDom::new_with_props(
        Harness,
        HarnessProps {
            live: Some((AgentState::Streaming, start.into())),
            ..props(Show::Transcript)
        },
    );
    dom.rebuild_in_place();
    let mut state = dom.in_scope(ScopeId::APP, consume_context::<ChatState>);
    let mut flush = |text: &str| {
        dom.in_runtime(|| state.live_text.set(text.to_owned()));
        let mut edits = Mutations::default();
        dom.render_immediate(&mut edits);
        // The HTML the edits set, sorted.
        let mut set: Vec<String> = edits
            .edits
            .into_iter()
            .filter_map(|edit| match edit {
                Mutation::SetAttribute {
                    name: "dangerous_inner_html",
                    value: AttributeValue::Text(html),
                    ..
                } => Some(html),
                _ => None,
            })
            .collect();
        set.sort();
        set
    };

    assert_eq!(
        flush(&format!("{start}il grows")),
        vec!["<p>The tail grows</p>\n"]
    );
    assert_eq!(
        flush(&format!("{start}il grows.\n\nNext")),
        vec!["<p>Next</p>\n", "<p>The tail grows.</p>\n"]
    );
}
