//! The seam between the chat loop and model providers.
//!
//! [`Provider`] has one required method, [`Provider::stream`], which
//! returns a [`CompletionStream`] of provider-neutral
//! [`CompletionEvent`]s; [`complete`] folds such a stream into one
//! [`Completion`]. Capabilities come from [`Provider::models`]
//! ([`models`] fills the gaps), retries follow [`retry::RetryPolicy`], and
//! [`pricing`] turns usage into money.
//!
//! Implementations: [`crate::anthropic::AnthropicClient`] (the Messages
//! API) and [`crate::openai::OpenAiClient`] (Chat Completions, for OpenAI,
//! Ollama, llama.cpp and vLLM).

pub mod http;
pub mod models;
pub mod pricing;
pub mod retry;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use kestrel_shared::{ContentBlock, ModelInfo, StopReason, Usage};
use tokio::sync::mpsc;

use crate::llm::{CompletionEvent, CompletionRequest, LlmError};
use crate::secrets::ApiKey;

/// A model provider.
pub trait Provider: Send + Sync + Debug {
    /// Starts a streamed reply. Never fails up front: every error, HTTP
    /// statuses included, arrives as a stream item, after the provider's
    /// own retries. Dropping the stream cancels the request at once.
    fn stream(&self, key: Option<&ApiKey>, request: &CompletionRequest) -> CompletionStream;

    /// The models this provider offers, with their limits. Providers
    /// without a model list return an empty one and requests fall back to
    /// [`models::known_limits`].
    fn models(&self, key: Option<&ApiKey>) -> BoxFuture<'static, Result<Vec<ModelInfo>, LlmError>> {
        let _ = key;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// The events of one streamed reply. The work that reads the response
/// (requests, retries, parsing) runs inside the stream, polled by whoever
/// polls the stream, and hands events over through a bounded channel: no
/// task of its own, so an event costs no scheduling, the reader pauses
/// when the consumer falls behind, and dropping the stream stops the
/// request at once.
pub struct CompletionStream {
    rx: mpsc::Receiver<Result<CompletionEvent, LlmError>>,
    /// Feeds `rx`; `None` once it has finished (or for a stream fed from
    /// outside, [`CompletionStream::channel`]).
    reader: Option<BoxFuture<'static, ()>>,
}

impl Debug for CompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionStream")
            .field("reading", &self.reader.is_some())
            .finish_non_exhaustive()
    }
}

impl CompletionStream {
    /// A stream fed by `read`, which gets the sender to push events into.
    pub fn reading<F>(
        read: impl FnOnce(mpsc::Sender<Result<CompletionEvent, LlmError>>) -> F,
    ) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (tx, mut stream) = Self::channel();
        stream.reader = Some(Box::pin(read(tx)));
        stream
    }

    /// A stream and the sender that feeds it from outside. The channel is
    /// bounded, so a slow reader slows the sender, not memory.
    pub fn channel() -> (mpsc::Sender<Result<CompletionEvent, LlmError>>, Self) {
        let (tx, rx) = mpsc::channel(16);
        (tx, Self { rx, reader: None })
    }

    /// A stream that fails at once with `error`.
    pub fn failed(error: LlmError) -> Self {
        let (tx, stream) = Self::channel();
        // The channel is empty, so this cannot be full.
        let _ = tx.try_send(Err(error));
        stream
    }
}

impl Stream for CompletionStream {
    type Item = Result<CompletionEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // The reader first: it moves as far as the network and the
        // channel's room allow, and its wakers are this poll's.
        if let Some(reader) = self.reader.as_mut()
            && reader.as_mut().poll(cx).is_ready()
        {
            self.reader = None;
        }
        self.rx.poll_recv(cx)
    }
}

impl CompletionEvent {
    /// Whether this event is part of the reply a person sees (after which
    /// the request is never retried).
    pub fn is_content(&self) -> bool {
        matches!(
            self,
            Self::Text { .. }
                | Self::Thinking { .. }
                | Self::ThinkingSignature { .. }
                | Self::ToolUseStarted { .. }
                | Self::Citation { .. }
                | Self::BlockStopped { .. }
                | Self::ToolInputInvalid { .. }
        )
    }

    /// Pushes reply text for block `index`, joined onto the previous event
    /// when that is text for the same block: the deltas one network read
    /// brings become one event, so a fast stream costs one channel send,
    /// one UI update and one write per read rather than per token.
    pub fn push_text(out: &mut Vec<Self>, index: u32, text: &str) {
        match out.last_mut() {
            Some(Self::Text {
                index: last,
                text: all,
            }) if *last == index => all.push_str(text),
            _ => out.push(Self::Text {
                index,
                text: text.to_owned(),
            }),
        }
    }

    /// [`Self::push_text`] for thinking text.
    pub fn push_thinking(out: &mut Vec<Self>, index: u32, thinking: &str) {
        match out.last_mut() {
            Some(Self::Thinking {
                index: last,
                thinking: all,
            }) if *last == index => all.push_str(thinking),
            _ => out.push(Self::Thinking {
                index,
                thinking: thinking.to_owned(),
            }),
        }
    }
}

/// A whole reply, folded from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub message_id: String,
    pub model: String,
    /// The content blocks in index order.
    pub content: Vec<ContentBlock>,
    pub usage: Usage,
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    /// How many times the request was repeated before it went through.
    pub retries: u32,
}

/// A reply that failed, with whatever had arrived before the error.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PartialCompletion {
    #[source]
    pub error: LlmError,
    pub partial: Completion,
}

/// Folds `stream` into one [`Completion`]. A stream that ends without a
/// stop reason is treated as [`LlmError::EndedEarly`].
pub async fn complete(mut stream: CompletionStream) -> Result<Completion, PartialCompletion> {
    let mut folder = Folder::default();
    let mut stopped = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => stopped |= folder.apply(event),
            Err(error) => {
                return Err(PartialCompletion {
                    error,
                    partial: folder.finish(),
                });
            }
        }
    }
    if !stopped {
        return Err(PartialCompletion {
            error: LlmError::EndedEarly,
            partial: folder.finish(),
        });
    }
    Ok(folder.finish())
}

#[derive(Default)]
struct Folder {
    done: Completion,
    blocks: BTreeMap<u32, ContentBlock>,
}

impl Folder {
    /// Applies one event; returns whether it ended the reply.
    fn apply(&mut self, event: CompletionEvent) -> bool {
        match event {
            CompletionEvent::Started { message_id, model } => {
                self.done.message_id = message_id;
                self.done.model = model;
            }
            CompletionEvent::Retrying { attempt, .. } => self.done.retries = attempt,
            CompletionEvent::Text { index, text } => {
                if let ContentBlock::Text { text: all } = self
                    .blocks
                    .entry(index)
                    .or_insert_with(|| ContentBlock::text(""))
                {
                    all.push_str(&text);
                }
            }
            CompletionEvent::Thinking { index, thinking } => {
                if let ContentBlock::Thinking { thinking: all, .. } = self
                    .blocks
                    .entry(index)
                    .or_insert_with(|| ContentBlock::Thinking {
                        thinking: String::new(),
                        signature: String::new(),
                    })
                {
                    all.push_str(&thinking);
                }
            }
            CompletionEvent::BlockStopped {
                index,
                block: Some(block),
            } => {
                self.blocks.insert(index, block);
            }
            CompletionEvent::Usage(usage) => self.done.usage = usage,
            CompletionEvent::Stopped {
                stop_reason,
                stop_sequence,
            } => {
                self.done.stop_reason = stop_reason;
                self.done.stop_sequence = stop_sequence;
                return true;
            }
            CompletionEvent::ThinkingSignature { .. }
            | CompletionEvent::ToolUseStarted { .. }
            | CompletionEvent::Citation { .. }
            | CompletionEvent::BlockStopped { block: None, .. }
            | CompletionEvent::ToolInputInvalid { .. }
            | CompletionEvent::Unknown { .. } => {}
        }
        false
    }

    fn finish(mut self) -> Completion {
        self.done.content = self.blocks.into_values().collect();
        self.done
    }
}
