//! One turn: the user's message in, the model's reply out as [`ChatEvent`]s.
//!
//! Order of work, each step a promise:
//! 1. The input is checked and a key must exist, before anything is saved,
//!    so a refused message stays in the composer and nowhere else.
//! 2. The user message is committed to SQLite before the provider request.
//!    If the branch already ends with this exact message unanswered (the
//!    last attempt failed), it is reused rather than duplicated; a
//!    different text becomes a sibling branch, so nothing is overwritten.
//! 3. The reply is written while it streams, at most every
//!    [`FLUSH_INTERVAL`] while new text is waiting, so a crash loses under
//!    a second of text, and a fast reply costs a handful of writes.
//! 4. The turn ends with exactly one of `Done`, `Error` or `Cancelled`, and
//!    the saved reply carries the matching status.
//!
//! Cancel comes from [`Backend::cancel_turn`] or from dropping the
//! [`EventStream`] (the page went away); both stop the provider request at
//! once and keep the partial reply.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use kestrel_shared::{
    AgentState, ChatEvent, ContentBlock, Conversation, ConversationId, ConversationOptions,
    ErrorKind, KestrelError, MAX_USER_MESSAGE_BYTES, Message, MessageId, MessageStatus,
    ProviderKind, Role, SendMessage, StopReason, ToolCallEvent, TurnId, Usage,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::llm::{CompletionEvent, CompletionRequest, RequestMessage};
use crate::secrets::ApiKey;
use crate::store::{StoreError, queries};

pub(crate) mod branches;
mod title;

/// Longest time between two saves of a streaming reply. Saves are timed,
/// never triggered by size: how much text a crash can lose is a matter of
/// time, and a fast reply then costs one save per interval however many
/// bytes arrive in it (a 100,000-token reply streamed as fast as the
/// network allows is written about once before its final save).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Events a turn may run ahead of its reader by. Text events carry one
/// network read each, so this bounds how much of a fast reply waits in
/// memory for a slow reader; past it the turn waits, and so does the
/// network.
const TURN_EVENTS_BUFFERED: usize = 32;
/// Longest conversation title taken from the first message.
const TITLE_CHARS: usize = 60;

/// The events of one turn. Dropping it cancels the turn.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<ChatEvent>,
}

impl Stream for EventStream {
    type Item = ChatEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ChatEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// What a running turn needs to know.
struct Turn {
    id: TurnId,
    conversation: Conversation,
    user_message: Message,
    assistant_id: MessageId,
    request: CompletionRequest,
    /// The unfinished reply this turn carries on, if any.
    continuing: Option<Message>,
    provider: ProviderKind,
    /// The provider's key (an OpenAI-compatible server may need none).
    key: Option<ApiKey>,
}

impl Backend {
    /// Starts a turn. Errors returned here happened before anything was
    /// saved; the UI keeps the text in the composer.
    pub async fn send_message(
        self: &Arc<Self>,
        request: SendMessage,
    ) -> Result<EventStream, KestrelError> {
        let text = request.text;
        check_user_text(&text)?;
        let (options, key) = self.turn_options(request.conversation_id).await?;

        let model = self.config.default_model.clone();
        let (conversation, user_message, history) = self
            .store
            .call(move |conn| commit_user_message(conn, request.conversation_id, &model, text))
            .await
            .map_err(|e| e.to_kestrel())?;
        Ok(self.start_turn(
            TurnStart {
                conversation,
                user_message,
                history,
                continuing: None,
            },
            options,
            key,
        ))
    }

    /// A conversation's request options (provider, thinking) and the key
    /// its requests carry; a missing key is refused before anything is
    /// saved.
    pub(crate) async fn turn_options(
        &self,
        conversation: Option<ConversationId>,
    ) -> Result<(ConversationOptions, Option<ApiKey>), KestrelError> {
        let options = self.conversation_options(conversation).await?;
        let key = self
            .provider_key(options.provider)
            .await
            .map_err(|e| e.to_kestrel())?;
        Ok((options, key))
    }

    /// [`Self::turn_options`] for the conversation holding `message`.
    pub(crate) async fn message_options(
        &self,
        message: MessageId,
    ) -> Result<(ConversationOptions, Option<ApiKey>), KestrelError> {
        let conversation = self
            .store
            .call(move |conn| Ok(queries::get_message(conn, message)?.conversation_id))
            .await
            .map_err(|e| e.to_kestrel())?;
        self.turn_options(Some(conversation)).await
    }

    /// Runs a turn whose user message is already committed.
    pub(crate) fn start_turn(
        self: &Arc<Self>,
        start: TurnStart,
        options: ConversationOptions,
        key: Option<ApiKey>,
    ) -> EventStream {
        let turn = Turn {
            id: TurnId::from_uuid(queries::new_uuid()),
            assistant_id: start
                .continuing
                .as_ref()
                .map_or_else(|| MessageId::from_uuid(queries::new_uuid()), |m| m.id),
            request: self.completion_request(&start.conversation, &start.history, options),
            conversation: start.conversation,
            user_message: start.user_message,
            continuing: start.continuing,
            provider: options.provider,
            key,
        };
        let cancel = CancellationToken::new();
        self.turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(turn.id, cancel.clone());

        let (tx, rx) = mpsc::channel(TURN_EVENTS_BUFFERED);
        let backend = Arc::clone(self);
        tokio::spawn(async move {
            let turn_id = turn.id;
            run_turn(&backend, turn, &cancel, &tx).await;
            backend
                .turns
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&turn_id);
        });
        EventStream { rx }
    }
}

/// Refuses empty or oversized text, before anything is saved.
pub(crate) fn check_user_text(text: &str) -> Result<(), KestrelError> {
    if text.trim().is_empty() {
        return Err(KestrelError::new(
            ErrorKind::BadInput,
            "The message is empty.",
        ));
    }
    if text.len() > MAX_USER_MESSAGE_BYTES {
        return Err(KestrelError::new(
            ErrorKind::BadInput,
            format!(
                "Messages are limited to {} MiB.",
                MAX_USER_MESSAGE_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(())
}

/// What is committed before a turn's request: the conversation, the user
/// message being answered, the branch sent to the model, and, when an
/// unfinished reply is continued, that reply.
pub(crate) struct TurnStart {
    pub conversation: Conversation,
    pub user_message: Message,
    /// The branch the request carries, oldest first. When continuing, it
    /// ends with the partial reply, which the model then carries on.
    pub history: Vec<Message>,
    pub continuing: Option<Message>,
}

/// Saves the user message (step 2) and returns the conversation, the
/// message and the branch it ends.
fn commit_user_message(
    conn: &mut rusqlite::Connection,
    conversation: Option<kestrel_shared::ConversationId>,
    default_model: &str,
    text: String,
) -> Result<(Conversation, Message, Vec<Message>), StoreError> {
    let conversation = match conversation {
        Some(id) => queries::get_conversation(conn, id)?,
        None => queries::create_conversation(conn, default_model, "")?,
    };
    let mut history = queries::active_path(conn, &conversation)?;
    let parent = match history.last() {
        // The last attempt failed before any reply: retry it or branch.
        Some(last) if last.role == Role::User => {
            if last.text() == text {
                let reused = last.clone();
                return Ok((conversation, reused, history));
            }
            let parent = last.parent_id;
            history.pop();
            parent
        }
        Some(last) => Some(last.id),
        None => None,
    };
    let message = Message {
        id: MessageId::from_uuid(queries::new_uuid()),
        conversation_id: conversation.id,
        parent_id: parent,
        role: Role::User,
        content: vec![ContentBlock::text(text.clone())],
        status: MessageStatus::Complete,
        model: None,
        usage: None,
        created_at: queries::now(),
    };
    queries::insert_message(conn, &message)?;
    queries::set_title_if_empty(conn, conversation.id, &title_from(&text))?;
    history.push(message.clone());
    let conversation = queries::get_conversation(conn, conversation.id)?;
    Ok((conversation, message, history))
}

/// The first line of the first message, cut at a word near [`TITLE_CHARS`].
pub(crate) fn title_from(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default().trim();
    if line.chars().count() <= TITLE_CHARS {
        return line.to_owned();
    }
    let cut: String = line.chars().take(TITLE_CHARS).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > TITLE_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// The history as the provider must receive it: replies that produced
/// nothing are left out, blocks the API would refuse back (thinking without
/// its signature, empty text) are dropped, and same-role neighbours are
/// merged so roles alternate.
pub fn request_messages(history: &[Message]) -> Vec<RequestMessage> {
    let mut out: Vec<RequestMessage> = Vec::with_capacity(history.len());
    for message in history {
        let content: Vec<ContentBlock> = message
            .content
            .iter()
            .filter(|block| match block {
                ContentBlock::Text { text } => !text.is_empty(),
                ContentBlock::Thinking { signature, .. } => !signature.is_empty(),
                _ => true,
            })
            .cloned()
            .collect();
        if content.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(content),
            _ => out.push(RequestMessage {
                role: message.role,
                content,
            }),
        }
    }
    out
}

/// The reply as it builds up.
struct Reply {
    id: MessageId,
    parent: MessageId,
    conversation: kestrel_shared::ConversationId,
    model: String,
    blocks: BTreeMap<u32, ContentBlock>,
    usage: Usage,
    stop_reason: Option<StopReason>,
    /// Where this turn's content blocks start: a continued reply's stream
    /// numbers its blocks from 0, and its first text block carries on the
    /// reply's last one.
    index_base: u32,
    /// Whether the row exists in the database yet.
    saved_once: bool,
    /// Whether there is anything the row does not have yet.
    dirty: bool,
}

impl Reply {
    fn content(&self) -> Vec<ContentBlock> {
        self.blocks.values().cloned().collect()
    }

    /// The reply as it stands, for a save (which needs its own copy: the
    /// reply keeps growing while the writer works).
    fn message(&self, status: MessageStatus) -> Message {
        Message {
            id: self.id,
            conversation_id: self.conversation,
            parent_id: Some(self.parent),
            role: Role::Assistant,
            content: self.content(),
            status,
            model: Some(self.model.clone()),
            usage: Some(self.usage),
            created_at: queries::now(),
        }
    }

    /// The finished reply, without copying its text.
    fn into_message(self, status: MessageStatus) -> Message {
        Message {
            id: self.id,
            conversation_id: self.conversation,
            parent_id: Some(self.parent),
            role: Role::Assistant,
            content: self.blocks.into_values().collect(),
            status,
            model: Some(self.model),
            usage: Some(self.usage),
            created_at: queries::now(),
        }
    }

    fn has_content(&self) -> bool {
        self.blocks.values().any(|b| match b {
            ContentBlock::Text { text } => !text.is_empty(),
            _ => true,
        })
    }

    fn append_text(&mut self, index: u32, text: &str) {
        match self
            .blocks
            .entry(index)
            .or_insert_with(|| ContentBlock::text(""))
        {
            ContentBlock::Text { text: all } => all.push_str(text),
            _ => return,
        }
        self.dirty = true;
    }

    fn append_thinking(&mut self, index: u32, thinking: &str) {
        let block = self
            .blocks
            .entry(index)
            .or_insert_with(|| ContentBlock::Thinking {
                thinking: String::new(),
                signature: String::new(),
            });
        if let ContentBlock::Thinking { thinking: all, .. } = block {
            all.push_str(thinking);
            self.dirty = true;
        }
    }
}

/// How the reply loop ended.
enum Outcome {
    Done,
    Cancelled,
    Failed(KestrelError),
}

async fn emit(tx: &mpsc::Sender<ChatEvent>, event: ChatEvent) -> bool {
    tx.send(event).await.is_ok()
}

async fn run_turn(
    backend: &Backend,
    turn: Turn,
    cancel: &CancellationToken,
    tx: &mpsc::Sender<ChatEvent>,
) {
    let mut reply = Reply {
        id: turn.assistant_id,
        parent: turn.user_message.id,
        conversation: turn.conversation.id,
        model: turn.request.model.clone(),
        blocks: BTreeMap::new(),
        usage: Usage::default(),
        stop_reason: None,
        index_base: 0,
        saved_once: false,
        dirty: false,
    };
    if let Some(partial) = &turn.continuing {
        reply.blocks = (0u32..).zip(partial.content.iter().cloned()).collect();
        let last_is_text = matches!(partial.content.last(), Some(ContentBlock::Text { .. }));
        let blocks = u32::try_from(partial.content.len()).unwrap_or(u32::MAX);
        reply.index_base = if last_is_text { blocks - 1 } else { blocks };
        reply.usage = partial.usage.unwrap_or_default();
        reply.saved_once = true;
    }
    let started = ChatEvent::TurnStarted {
        turn_id: turn.id,
        conversation: turn.conversation.clone(),
        user_message: turn.user_message.clone(),
        assistant_message_id: turn.assistant_id,
    };
    let outcome = if emit(tx, started).await
        && emit(
            tx,
            ChatEvent::AgentState {
                state: AgentState::Thinking,
            },
        )
        .await
    {
        stream_reply(backend, &turn, &mut reply, cancel, tx).await
    } else {
        Outcome::Cancelled
    };
    finish(backend, reply, outcome, tx).await;
}

async fn stream_reply(
    backend: &Backend,
    turn: &Turn,
    reply: &mut Reply,
    cancel: &CancellationToken,
    tx: &mpsc::Sender<ChatEvent>,
) -> Outcome {
    let mut stream = backend
        .provider(turn.provider)
        .stream(turn.key.as_ref(), &turn.request);
    let mut state = AgentState::Thinking;
    let mut save_timer = tokio::time::interval(FLUSH_INTERVAL);
    save_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Made once, not per event: each registers a waiter.
    let cancelled = cancel.cancelled();
    let closed = tx.closed();
    tokio::pin!(cancelled, closed);
    loop {
        let event = tokio::select! {
            biased;
            () = &mut cancelled => return Outcome::Cancelled,
            () = &mut closed => return Outcome::Cancelled,
            _ = save_timer.tick(), if reply.dirty => {
                if let Err(error) = save(backend, reply, MessageStatus::Streaming).await {
                    return Outcome::Failed(error.to_kestrel());
                }
                continue;
            }
            event = stream.next() => event,
        };
        let event = match event {
            None => return Outcome::Done,
            Some(Err(error)) => return Outcome::Failed(error.to_kestrel()),
            Some(Ok(event)) => event,
        };
        let ui_event = match event {
            CompletionEvent::Started { message_id, model } => {
                reply.model.clone_from(&model);
                Some(ChatEvent::ProviderMessage {
                    id: message_id,
                    model,
                })
            }
            CompletionEvent::Text { index, text } => {
                let index = index + reply.index_base;
                reply.append_text(index, &text);
                if state != AgentState::Streaming {
                    state = AgentState::Streaming;
                    if !emit(tx, ChatEvent::AgentState { state }).await {
                        return Outcome::Cancelled;
                    }
                }
                Some(ChatEvent::TextDelta { index, text })
            }
            CompletionEvent::Thinking { index, thinking } => {
                let index = index + reply.index_base;
                reply.append_thinking(index, &thinking);
                Some(ChatEvent::ThinkingDelta { index, thinking })
            }
            CompletionEvent::ThinkingSignature { .. } => None,
            CompletionEvent::BlockStopped {
                index,
                block: Some(block),
            } => {
                let event = match &block {
                    ContentBlock::ToolUse { id, input, .. } => {
                        Some(ChatEvent::ToolCall(ToolCallEvent::Ready {
                            id: id.clone(),
                            input: input.clone(),
                        }))
                    }
                    _ => None,
                };
                reply.blocks.insert(index + reply.index_base, block);
                reply.dirty = true;
                event
            }
            CompletionEvent::BlockStopped { block: None, .. } => None,
            CompletionEvent::Usage(usage) => {
                reply.usage = usage;
                Some(ChatEvent::Usage { usage })
            }
            CompletionEvent::Stopped { stop_reason, .. } => {
                reply.stop_reason = stop_reason;
                None
            }
            CompletionEvent::ToolUseStarted { id, name, .. } => {
                Some(ChatEvent::ToolCall(ToolCallEvent::Started { id, name }))
            }
            CompletionEvent::Retrying {
                attempt,
                delay,
                error,
            } => {
                tracing::info!(attempt, ?delay, kind = ?error.kind, "provider busy; retrying");
                Some(ChatEvent::Retrying {
                    attempt,
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error,
                })
            }
            CompletionEvent::ToolInputInvalid { name, error, .. } => {
                tracing::warn!(%name, %error, "the model sent tool input that is not JSON");
                None
            }
            CompletionEvent::Citation { .. } | CompletionEvent::Unknown { .. } => None,
        };
        if let Some(ui_event) = ui_event
            && !emit(tx, ui_event).await
        {
            return Outcome::Cancelled;
        }
    }
}

/// Writes the reply as it stands (step 3).
async fn save(
    backend: &Backend,
    reply: &mut Reply,
    status: MessageStatus,
) -> Result<(), StoreError> {
    write_reply(backend, Arc::new(reply.message(status)), !reply.saved_once).await?;
    reply.saved_once = true;
    reply.dirty = false;
    tracing::trace!(message = %reply.id, ?status, "reply saved");
    Ok(())
}

/// Inserts or updates the reply's row. The writer thread shares `message`
/// rather than taking a copy of a possibly long reply.
async fn write_reply(
    backend: &Backend,
    message: Arc<Message>,
    insert: bool,
) -> Result<(), StoreError> {
    backend
        .store
        .call(move |conn| {
            if insert {
                queries::insert_message(conn, &message)
            } else {
                queries::update_message(
                    conn,
                    message.id,
                    &message.content,
                    message.status,
                    message.usage.as_ref(),
                )
            }
        })
        .await
}

/// Saves the final state and sends the terminal event (step 4).
async fn finish(backend: &Backend, reply: Reply, outcome: Outcome, tx: &mpsc::Sender<ChatEvent>) {
    let (status, state) = match &outcome {
        Outcome::Done => (MessageStatus::Complete, AgentState::Idle),
        Outcome::Cancelled => (MessageStatus::Cancelled, AgentState::Cancelled),
        Outcome::Failed(_) => (MessageStatus::Failed, AgentState::Error),
    };
    // A finished reply is always kept; a cancelled or failed one only if it
    // produced something, so that a retry continues from the user message.
    let keep = matches!(outcome, Outcome::Done) || reply.has_content() || reply.saved_once;
    let (id, usage, stop_reason, insert) =
        (reply.id, reply.usage, reply.stop_reason, !reply.saved_once);
    let message = Arc::new(reply.into_message(status));
    let mut outcome = outcome;
    if keep && let Err(error) = write_reply(backend, Arc::clone(&message), insert).await {
        tracing::error!(error = %error, "could not save the reply");
        outcome = Outcome::Failed(error.to_kestrel());
    }
    let message = Arc::unwrap_or_clone(message);
    let _ = tx.send(ChatEvent::AgentState { state }).await;
    let terminal = match outcome {
        Outcome::Done => {
            tracing::info!(message = %id, usage = ?usage, "reply complete");
            ChatEvent::Done {
                message,
                stop_reason,
            }
        }
        Outcome::Cancelled => {
            tracing::info!(message = %id, kept = keep, "reply cancelled");
            ChatEvent::Cancelled {
                message: keep.then_some(message),
            }
        }
        Outcome::Failed(error) => {
            tracing::warn!(kind = ?error.kind, request_id = ?error.request_id, "reply failed");
            ChatEvent::Error {
                error,
                message: keep.then_some(message),
            }
        }
    };
    let _ = tx.send(terminal).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::{ConversationId, Timestamp};
    use pretty_assertions::assert_eq;

    fn msg(role: Role, content: Vec<ContentBlock>) -> Message {
        Message {
            id: MessageId::from_uuid(queries::new_uuid()),
            conversation_id: ConversationId::from_uuid(queries::new_uuid()),
            parent_id: None,
            role,
            content,
            status: MessageStatus::Complete,
            model: None,
            usage: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn request_history_skips_empty_replies_and_merges_roles() {
        let history = vec![
            msg(Role::User, vec![ContentBlock::text("first")]),
            msg(Role::Assistant, vec![ContentBlock::text("")]),
            msg(Role::User, vec![ContentBlock::text("second")]),
            msg(
                Role::Assistant,
                vec![
                    ContentBlock::Thinking {
                        thinking: "unsigned".into(),
                        signature: String::new(),
                    },
                    ContentBlock::text("answer"),
                ],
            ),
            msg(Role::User, vec![ContentBlock::text("third")]),
        ];
        assert_eq!(
            request_messages(&history),
            vec![
                RequestMessage {
                    role: Role::User,
                    content: vec![ContentBlock::text("first"), ContentBlock::text("second")],
                },
                RequestMessage {
                    role: Role::Assistant,
                    content: vec![ContentBlock::text("answer")]
                },
                RequestMessage {
                    role: Role::User,
                    content: vec![ContentBlock::text("third")]
                },
            ]
        );
    }

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(title_from("  Hello there\nsecond line"), "Hello there");
        let long = "word ".repeat(30);
        let title = title_from(&long);
        assert!(
            title.ends_with('…') && title.chars().count() <= TITLE_CHARS + 1,
            "{title}"
        );
        assert_eq!(
            title_from(&"é".repeat(100)).chars().count(),
            TITLE_CHARS + 1
        );
    }
}
