//! The UI's state and the actions that change it.
//!
//! [`ChatState`] is a bundle of signals provided once by the root component
//! and read by the components that need each piece. The streaming reply's
//! text lives in its own signal ([`ChatState::live_text`]) that only the
//! `StreamingMessage` component reads, so a token never re-renders the
//! transcript. Tokens are buffered here and flushed to that signal at most
//! every [`FLUSH_EVERY`], so a fast stream costs one update per frame, not
//! one per token.
//!
//! Actions ([`send`], [`stop`], [`open_conversation`], …) call the server
//! functions in [`kestrel_server::api`]; the same code runs in-process on
//! desktop and over HTTP on the web.

use std::time::Duration;

use dioxus::prelude::*;
use futures::future::Either;
use kestrel_server::api;
use kestrel_shared::{
    AgentState, BranchPoint, ChatEvent, Conversation, ConversationId, ErrorKind, KestrelError,
    KeyStatus, Message, ProviderKind, SendMessage, Settings, Theme, TurnId,
};

/// How often buffered reply text is flushed to the screen.
pub const FLUSH_EVERY: Duration = Duration::from_millis(33);

/// The turn in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveTurn {
    /// Known once the backend has saved the user message.
    pub turn_id: Option<TurnId>,
    pub conversation_id: Option<ConversationId>,
    pub state: AgentState,
    /// Stop was pressed before the turn had an id; it is cancelled as
    /// soon as it has one.
    pub stop_requested: bool,
    /// The provider failed before answering and the request is being sent
    /// again; cleared when the reply starts.
    pub retry: Option<Retry>,
}

/// A retry the reply is waiting on ([`ChatEvent::Retrying`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Which retry this is (1 for the first).
    pub attempt: u32,
    pub delay_ms: u64,
    /// Why the last attempt failed.
    pub kind: ErrorKind,
}

impl Retry {
    /// What the waiting reply says ([`ErrorKind::retry_notice`]).
    pub fn notice(self) -> String {
        self.kind.retry_notice(self.attempt, self.delay_ms)
    }
}

/// Everything the UI shows, as signals.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub conversations: Signal<Vec<Conversation>>,
    /// The open conversation; `None` for a new one not yet saved.
    pub current: Signal<Option<Conversation>>,
    /// The open conversation's active branch, finished messages only.
    pub messages: Signal<Vec<Message>>,
    /// Which of `messages` have siblings ("‹ 2 / 3 ›"); see `branching`.
    pub branches: Signal<Vec<BranchPoint>>,
    pub turn: Signal<Option<LiveTurn>>,
    /// The reply text arriving now (read only by `StreamingMessage`).
    pub live_text: Signal<String>,
    /// The thinking arriving now (read only by `LiveThinking`).
    pub live_thinking: Signal<String>,
    pub draft: Signal<String>,
    pub error: Signal<Option<KestrelError>>,
    pub settings: Signal<Settings>,
    pub key_status: Signal<Option<KeyStatus>>,
    pub show_settings: Signal<bool>,
    pub show_system_prompt: Signal<bool>,
    /// Set once the UI is live and the first screen's data has loaded
    /// (never during server rendering); tests and benchmarks wait on it.
    pub ready: Signal<bool>,
}

/// What the first screen shows, when the launcher could fetch it before the
/// first render (the desktop app, whose backend is in this process). The
/// first frame then already shows the conversations, with no second pass.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialData {
    pub conversations: Vec<Conversation>,
    pub settings: Settings,
    pub key_status: KeyStatus,
}

impl ChatState {
    /// Signals holding `initial`, owned by the calling component's scope;
    /// ready at once.
    pub fn with_initial(initial: InitialData) -> Self {
        let mut state = Self::new();
        state.conversations.set(initial.conversations);
        state.settings.set(initial.settings);
        state.key_status.set(Some(initial.key_status));
        state.ready.set(true);
        state
    }

    /// New, empty signals, owned by the calling component's scope.
    pub fn new() -> Self {
        Self {
            conversations: Signal::new(Vec::new()),
            current: Signal::new(None),
            messages: Signal::new(Vec::new()),
            branches: Signal::new(Vec::new()),
            turn: Signal::new(None),
            live_text: Signal::new(String::new()),
            live_thinking: Signal::new(String::new()),
            draft: Signal::new(String::new()),
            error: Signal::new(None),
            settings: Signal::new(Settings::default()),
            key_status: Signal::new(None),
            show_settings: Signal::new(false),
            show_system_prompt: Signal::new(false),
            ready: Signal::new(false),
        }
    }

    /// The open conversation's id.
    pub fn current_id(&self) -> Option<ConversationId> {
        self.current.read().as_ref().map(|c| c.id)
    }

    /// Whether a turn is running in the open conversation.
    pub fn streaming_here(&self) -> bool {
        match *self.turn.read() {
            Some(turn) => {
                turn.conversation_id.is_none() || turn.conversation_id == self.current_id()
            }
            None => false,
        }
    }

    fn show_error(mut self, error: KestrelError) {
        tracing::warn!(kind = ?error.kind, "{error}");
        self.error.set(Some(error));
    }
}

impl Default for ChatState {
    fn default() -> Self {
        Self::new()
    }
}

/// Loads what the first screen needs. Runs once, on the client.
pub async fn load_initial(mut state: ChatState) {
    let (conversations, settings, key_status) = futures::join!(
        api::list_conversations(),
        api::get_settings(),
        api::key_status(ProviderKind::Anthropic)
    );
    match conversations {
        Ok(list) => state.conversations.set(list),
        Err(e) => state.show_error(api::to_kestrel_error(e)),
    }
    if let Ok(settings) = settings {
        state.settings.set(settings);
    }
    match key_status {
        Ok(status) => state.key_status.set(Some(status)),
        Err(e) => state.show_error(api::to_kestrel_error(e)),
    }
    if let Some(id) = opened_in_address().await {
        open_conversation(state, id).await;
    }
    state.ready.set(true);
}

/// The conversation named in the page address (`#<id>`), so a reload
/// reopens it. Only the browser has an address worth reading.
async fn opened_in_address() -> Option<ConversationId> {
    crate::address::fragment()?.parse().ok()
}

/// Names the open conversation in the page address (browser only).
fn remember_open(id: Option<ConversationId>) {
    crate::address::set_fragment(id.map(|id| id.to_string()).as_deref());
}

/// Opens a conversation from the sidebar.
pub async fn open_conversation(mut state: ChatState, id: ConversationId) {
    match api::load_conversation(id).await {
        Ok(view) => {
            remember_open(Some(id));
            state.error.set(None);
            state.show_system_prompt.set(false);
            state.current.set(Some(view.conversation));
            state.messages.set(view.messages);
            state.branches.set(view.branches);
        }
        Err(e) => state.show_error(api::to_kestrel_error(e)),
    }
}

/// Clears the view for a new conversation; it is saved with its first
/// message.
pub fn new_conversation(mut state: ChatState) {
    remember_open(None);
    state.current.set(None);
    state.messages.set(Vec::new());
    state.branches.set(Vec::new());
    state.error.set(None);
    state.show_system_prompt.set(false);
}

/// Saves the open conversation's system prompt, creating the conversation
/// first if it is new.
pub async fn save_system_prompt(mut state: ChatState, prompt: String) {
    let id = match state.current_id() {
        Some(id) => id,
        None => match api::create_conversation().await {
            Ok(conversation) => conversation.id,
            Err(e) => return state.show_error(api::to_kestrel_error(e)),
        },
    };
    match api::set_system_prompt(id, prompt).await {
        Ok(conversation) => {
            upsert_conversation(state, conversation.clone());
            state.current.set(Some(conversation));
            state.show_system_prompt.set(false);
        }
        Err(e) => state.show_error(api::to_kestrel_error(e)),
    }
}

pub async fn choose_theme(mut state: ChatState, theme: Theme) {
    // Show the choice at once; the backend stores it for next time.
    state.settings.write().theme = theme;
    if let Err(e) = api::set_theme(theme).await {
        state.show_error(api::to_kestrel_error(e));
    }
}

/// Puts `conversation` at the top of the sidebar (replacing its old row).
fn upsert_conversation(mut state: ChatState, conversation: Conversation) {
    let mut list = state.conversations.write();
    list.retain(|c| c.id != conversation.id);
    list.insert(0, conversation);
}

/// Sends the composer's text and streams the reply.
pub fn send(mut state: ChatState) {
    let text = state.draft.peek().clone();
    if text.trim().is_empty()
        || text.len() > kestrel_shared::MAX_USER_MESSAGE_BYTES
        || state.turn.peek().is_some()
    {
        return;
    }
    let conversation_id = state.current_id();
    state.draft.set(String::new());
    begin_turn(state, String::new());
    // Not tied to the composer's scope: the turn must outlive any
    // component that re-renders or goes away while the reply streams.
    dioxus::core::spawn_forever(async move {
        let outcome = match api::send_message(SendMessage {
            conversation_id,
            text: text.clone(),
        })
        .await
        {
            Ok(stream) => follow_turn(state, api::EventReader::new(stream)).await,
            Err(e) => TurnEnd::Failed {
                error: api::to_kestrel_error(e),
                reply_saved: false,
            },
        };
        state.turn.set(None);
        state.live_text.set(String::new());
        state.live_thinking.set(String::new());
        if let TurnEnd::Failed { error, reply_saved } = outcome {
            // Nothing was answered: give the text back so it can be sent again.
            if !reply_saved && state.draft.peek().is_empty() {
                state.draft.set(text);
            }
            state.show_error(error);
        }
        crate::branching::refresh_branches(state).await;
        crate::conversations::title_after_first_exchange(state).await;
    });
}

/// Shows a turn starting in the open conversation, before the backend has
/// named it, with `live` already on screen as the reply's start. Returns
/// `false` (and changes nothing) while another turn runs.
pub(crate) fn begin_turn(mut state: ChatState, live: String) -> bool {
    if state.turn.peek().is_some() {
        return false;
    }
    state.error.set(None);
    state.live_text.set(live);
    state.live_thinking.set(String::new());
    state.turn.set(Some(LiveTurn {
        turn_id: None,
        conversation_id: state.current_id(),
        state: AgentState::Thinking,
        stop_requested: false,
        retry: None,
    }));
    true
}

/// Stops the running turn; the partial reply is kept.
pub fn stop(mut state: ChatState) {
    let turn_id = {
        let mut turn = state.turn.write();
        let Some(turn) = turn.as_mut() else {
            return;
        };
        match turn.turn_id {
            Some(id) => id,
            None => {
                turn.stop_requested = true;
                return;
            }
        }
    };
    spawn(async move {
        if let Err(e) = api::cancel_turn(turn_id).await {
            state.show_error(api::to_kestrel_error(e));
        }
    });
}

pub(crate) enum TurnEnd {
    Finished,
    Failed {
        error: KestrelError,
        reply_saved: bool,
    },
}

/// Applies a turn's events until its terminal event.
pub(crate) async fn follow_turn(mut state: ChatState, mut stream: api::EventReader) -> TurnEnd {
    let mut pending = String::new();
    let mut pending_thinking = String::new();
    let mut flush_timer: Option<std::pin::Pin<Box<dyn Future<Output = ()>>>> = None;
    let mut turn_conversation = None;
    loop {
        let next = match flush_timer.as_mut() {
            None => stream.next().await,
            Some(timer) => {
                match futures::future::select(std::pin::pin!(stream.next()), timer.as_mut()).await {
                    Either::Left((next, _)) => next,
                    Either::Right(((), _)) => {
                        flush_timer = None;
                        if !pending_thinking.is_empty() {
                            state
                                .live_thinking
                                .write()
                                .push_str(&std::mem::take(&mut pending_thinking));
                        }
                        if !pending.is_empty() {
                            state
                                .live_text
                                .write()
                                .push_str(&std::mem::take(&mut pending));
                        }
                        continue;
                    }
                }
            }
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(error)) => {
                return TurnEnd::Failed {
                    error,
                    reply_saved: false,
                };
            }
            None => {
                return TurnEnd::Failed {
                    error: KestrelError::new(
                        ErrorKind::Disconnected,
                        "The reply stream ended unexpectedly.",
                    ),
                    reply_saved: false,
                };
            }
        };
        let here = |state: &ChatState, conversation: Option<ConversationId>| {
            conversation.is_some() && state.current_id() == conversation
        };
        match event {
            ChatEvent::TurnStarted {
                turn_id,
                conversation,
                user_message,
                ..
            } => {
                turn_conversation = Some(conversation.id);
                let opened_here =
                    state.current_id().is_none() || state.current_id() == Some(conversation.id);
                upsert_conversation(state, conversation.clone());
                if opened_here {
                    remember_open(Some(conversation.id));
                    state.current.set(Some(conversation.clone()));
                    // The branch now runs root → parent → this message: a
                    // retried or edited message replaces what followed its
                    // parent on screen, as it does in the store.
                    let mut messages = state.messages.write();
                    let keep = match user_message.parent_id {
                        Some(parent) => messages
                            .iter()
                            .position(|m| m.id == parent)
                            .map_or(messages.len(), |i| i + 1),
                        None => 0,
                    };
                    messages.truncate(keep);
                    messages.push(user_message);
                }
                let stop_requested = state.turn.peek().is_some_and(|t| t.stop_requested);
                state.turn.set(Some(LiveTurn {
                    turn_id: Some(turn_id),
                    conversation_id: Some(conversation.id),
                    state: AgentState::Thinking,
                    stop_requested,
                    retry: None,
                }));
                if stop_requested {
                    stop(state);
                }
            }
            ChatEvent::Retrying {
                attempt,
                delay_ms,
                error,
            } => {
                if let Some(turn) = state.turn.write().as_mut() {
                    turn.retry = Some(Retry {
                        attempt,
                        delay_ms,
                        kind: error.kind,
                    });
                }
            }
            ChatEvent::ProviderMessage { .. } => {
                if let Some(turn) = state.turn.write().as_mut() {
                    turn.retry = None;
                }
            }
            ChatEvent::TextDelta { text, .. } => {
                pending.push_str(&text);
                if flush_timer.is_none() {
                    flush_timer = Some(Box::pin(crate::time::sleep(FLUSH_EVERY)));
                }
            }
            ChatEvent::ThinkingDelta { thinking, .. } => {
                pending_thinking.push_str(&thinking);
                if flush_timer.is_none() {
                    flush_timer = Some(Box::pin(crate::time::sleep(FLUSH_EVERY)));
                }
            }
            ChatEvent::AgentState { state: agent_state } => {
                if let Some(turn) = state.turn.write().as_mut() {
                    turn.state = agent_state;
                }
            }
            ChatEvent::Done { message, .. } => {
                if here(&state, turn_conversation) {
                    state.messages.write().push(message);
                }
                return TurnEnd::Finished;
            }
            ChatEvent::Cancelled { message } => {
                if let Some(message) = message
                    && here(&state, turn_conversation)
                {
                    state.messages.write().push(message);
                }
                return TurnEnd::Finished;
            }
            ChatEvent::Error { error, message } => {
                let reply_saved = message.is_some();
                if let Some(message) = message
                    && here(&state, turn_conversation)
                {
                    state.messages.write().push(message);
                }
                return TurnEnd::Failed { error, reply_saved };
            }
            // Tool calls and live usage are shown in later versions.
            _ => {}
        }
    }
}
