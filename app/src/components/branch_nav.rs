//! Under each finished message: the branch navigator ("‹ 2 / 3 ›", on
//! messages with siblings) and the message's actions — Edit on a question
//! (opens an editor in place; saving adds a new version beside the old),
//! Regenerate on a reply, and Continue / Retry on a reply that was
//! interrupted, stopped or failed. The actions themselves are in
//! [`crate::branching`].

use dioxus::prelude::*;
use kestrel_shared::{Message, MessageStatus, Role};

use crate::branching;
use crate::state::ChatState;

/// The row under a message: its branch position and its actions.
#[component]
pub fn MessageTools(message: Message) -> Element {
    let state = use_context::<ChatState>();
    let mut editing = use_signal(|| None::<String>);
    // A memo, so the agent-state changes during a turn re-render the
    // message tools only when a turn starts or ends.
    let busy = use_memo(move || state.turn.read().is_some())();
    let branch = branching::branch_of(&state, message.id);
    let unfinished = matches!(
        message.status,
        MessageStatus::Interrupted | MessageStatus::Cancelled | MessageStatus::Failed
    );
    let id = message.id;
    let original = message.text();

    if let Some(draft) = editing() {
        let empty = draft.trim().is_empty();
        return rsx! {
            div { class: "message-editor",
                textarea {
                    class: "edit-input",
                    "aria-label": "Edit message",
                    value: "{draft}",
                    oninput: move |evt| editing.set(Some(evt.value())),
                }
                div { class: "row",
                    button { class: "cancel-edit", onclick: move |_| editing.set(None), "Cancel" }
                    button {
                        class: "primary save-edit",
                        disabled: empty || busy,
                        onclick: move |_| {
                            if let Some(text) = editing() {
                                editing.set(None);
                                branching::edit(state, id, text);
                            }
                        },
                        "Save & send"
                    }
                }
            }
        };
    }

    let can_continue = branching::can_continue(&message);
    rsx! {
        div { class: "message-tools",
            if let Some(branch) = branch {
                nav { class: "branch-nav", "aria-label": "Versions",
                    button {
                        class: "branch-prev",
                        title: "Previous version",
                        disabled: busy || branch.previous.is_none(),
                        onclick: move |_| {
                            if let Some(previous) = branch.previous {
                                spawn(branching::switch_branch(state, previous));
                            }
                        },
                        "‹"
                    }
                    span { class: "branch-label", "{branch.label()}" }
                    button {
                        class: "branch-next",
                        title: "Next version",
                        disabled: busy || branch.next.is_none(),
                        onclick: move |_| {
                            if let Some(next) = branch.next {
                                spawn(branching::switch_branch(state, next));
                            }
                        },
                        "›"
                    }
                }
            }
            match message.role {
                Role::User => rsx! {
                    button {
                        class: "tool edit",
                        disabled: busy,
                        onclick: move |_| editing.set(Some(original.clone())),
                        "Edit"
                    }
                },
                Role::Assistant if unfinished => rsx! {
                    if can_continue {
                        button {
                            class: "tool continue",
                            disabled: busy,
                            onclick: move |_| branching::continue_reply(state, &message),
                            "Continue"
                        }
                    }
                    button {
                        class: "tool retry",
                        disabled: busy,
                        onclick: move |_| branching::regenerate(state, id),
                        "Retry"
                    }
                },
                Role::Assistant => rsx! {
                    button {
                        class: "tool regenerate",
                        title: "Write a new version of this reply",
                        disabled: busy,
                        onclick: move |_| branching::regenerate(state, id),
                        "Regenerate"
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::{BranchPoint, ContentBlock, MessageId, Timestamp};
    use pretty_assertions::assert_eq;

    fn id(n: u64) -> MessageId {
        format!("00000000-0000-0000-0000-{n:012}").parse().unwrap()
    }

    #[derive(Props, Clone, PartialEq)]
    struct HarnessProps {
        message: Message,
        branches: Vec<BranchPoint>,
        busy: bool,
    }

    #[allow(non_snake_case)]
    fn Harness(props: HarnessProps) -> Element {
        let init = props.clone();
        use_context_provider(move || {
            let mut state = ChatState::new();
            state.branches.set(init.branches);
            if init.busy {
                state.turn.set(Some(crate::state::LiveTurn {
                    turn_id: None,
                    conversation_id: None,
                    state: kestrel_shared::AgentState::Thinking,
                    stop_requested: false,
                    retry: None,
                }));
            }
            state
        });
        rsx! { MessageTools { message: props.message } }
    }

    fn render(props: HarnessProps) -> String {
        let mut dom = VirtualDom::new_with_props(Harness, props);
        dom.rebuild_in_place();
        dioxus_ssr::render(&dom)
    }

    fn reply(status: MessageStatus) -> Message {
        Message {
            id: id(2),
            conversation_id: "00000000-0000-0000-0000-000000000000".parse().unwrap(),
            parent_id: Some(id(1)),
            role: Role::Assistant,
            content: vec![ContentBlock::text("answer")],
            status,
            model: None,
            usage: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn a_reply_with_siblings_shows_its_position_and_regenerate() {
        let html = render(HarnessProps {
            message: reply(MessageStatus::Complete),
            branches: vec![BranchPoint {
                message_id: id(2),
                index: 1,
                count: 3,
                previous: Some(id(3)),
                next: Some(id(4)),
            }],
            busy: false,
        });
        assert_eq!(
            html,
            concat!(
                "<div class=\"message-tools\"><nav class=\"branch-nav\" aria-label=\"Versions\">",
                "<button class=\"branch-prev\" title=\"Previous version\">‹</button>",
                "<span class=\"branch-label\">2 / 3</span>",
                "<button class=\"branch-next\" title=\"Next version\">›</button></nav>",
                "<button class=\"tool regenerate\" title=\"Write a new version of this reply\">Regenerate</button></div>"
            )
        );
    }

    #[test]
    fn the_last_version_cannot_go_further_and_a_running_turn_disables_actions() {
        let html = render(HarnessProps {
            message: reply(MessageStatus::Interrupted),
            branches: vec![BranchPoint {
                message_id: id(2),
                index: 1,
                count: 2,
                previous: Some(id(3)),
                next: None,
            }],
            busy: true,
        });
        assert!(
            html.contains("class=\"branch-next\" title=\"Next version\" disabled"),
            "{html}"
        );
        assert!(html.contains("class=\"tool continue\" disabled"), "{html}");
        assert!(html.contains("class=\"tool retry\" disabled"), "{html}");
    }

    #[test]
    fn an_empty_interrupted_reply_offers_retry_only() {
        let mut message = reply(MessageStatus::Interrupted);
        message.content = vec![ContentBlock::text("  ")];
        let html = render(HarnessProps {
            message,
            branches: Vec::new(),
            busy: false,
        });
        assert_eq!(
            html,
            "<div class=\"message-tools\"><button class=\"tool retry\">Retry</button></div>"
        );
    }
}
