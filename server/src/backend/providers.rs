//! The providers the backend can talk to and each conversation's request
//! options: the provider (Anthropic by default, an OpenAI-compatible
//! server when the conversation chose it — the endpoint saved in Settings,
//! else `OPENAI_BASE_URL`, else OpenAI's own; its key is the one kept for
//! that endpoint, `OPENAI_API_KEY` first, and optional for local servers)
//! and whether the model thinks first. Stored per conversation in
//! `conversation_options`.

use kestrel_shared::{
    ConversationId, ConversationOptions, KestrelError, ModelInfo, ProviderKind, ThinkingSupport,
};

use super::Backend;
use crate::anthropic::AnthropicClient;
use crate::llm::{LlmError, Thinking};
use crate::openai::OpenAiClient;
use crate::provider::Provider;
use crate::provider::models::known_limits;
use crate::secrets::{ApiKey, ProviderKeyId};

/// The provider clients, set up once.
#[derive(Debug, Clone)]
pub struct Providers {
    pub anthropic: AnthropicClient,
    pub openai: OpenAiClient,
}

impl Providers {
    /// `anthropic`, plus the OpenAI-compatible client the environment
    /// describes (its endpoint is the default; Settings can name another).
    /// Both send through `anthropic`'s HTTP client.
    pub fn from_env(anthropic: AnthropicClient) -> Self {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| crate::openai::DEFAULT_BASE_URL.to_owned());
        Self {
            openai: OpenAiClient::with_http(anthropic.http().clone(), &base_url),
            anthropic,
        }
    }
}

impl Backend {
    /// The client for `kind`, aimed at the endpoint configured now.
    pub(crate) fn provider(&self, kind: ProviderKind) -> Box<dyn Provider> {
        match kind {
            ProviderKind::OpenAi => Box::new(self.openai_client()),
            _ => Box::new(self.client.clone()),
        }
    }

    /// The key a request to `kind` carries. Anthropic requires one; an
    /// OpenAI-compatible server may not.
    pub(crate) async fn provider_key(
        &self,
        kind: ProviderKind,
    ) -> Result<Option<ApiKey>, LlmError> {
        match kind {
            ProviderKind::OpenAi => Ok(self.keys.get(&self.openai_key_id()).await),
            _ => self
                .keys
                .get(&ProviderKeyId::Anthropic)
                .await
                .map(Some)
                .ok_or(LlmError::MissingKey),
        }
    }

    /// A conversation's request options (the defaults for a new one).
    pub async fn conversation_options(
        &self,
        id: Option<ConversationId>,
    ) -> Result<ConversationOptions, KestrelError> {
        let Some(id) = id else {
            return Ok(ConversationOptions::default());
        };
        self.store
            .call(move |conn| {
                let row: Option<(String, bool)> = conn
                    .query_row(
                        "SELECT provider, thinking FROM conversation_options
                         WHERE conversation_id = ?1",
                        [id.to_string()],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })?;
                Ok(
                    row.map_or_else(ConversationOptions::default, |(provider, thinking)| {
                        ConversationOptions {
                            provider: ProviderKind::from_name(&provider).unwrap_or_default(),
                            thinking,
                        }
                    }),
                )
            })
            .await
            .map_err(|e: crate::store::StoreError| e.to_kestrel())
    }

    /// The provider a conversation uses (Anthropic unless it chose
    /// another; a new conversation has none yet).
    pub async fn conversation_provider(
        &self,
        id: Option<ConversationId>,
    ) -> Result<ProviderKind, KestrelError> {
        Ok(self.conversation_options(id).await?.provider)
    }

    /// Sets a conversation's request options; the next turn uses them.
    pub async fn set_conversation_options(
        &self,
        id: ConversationId,
        options: ConversationOptions,
    ) -> Result<ConversationOptions, KestrelError> {
        self.store
            .call(move |conn| {
                crate::store::queries::get_conversation(conn, id)?;
                conn.execute(
                    "INSERT INTO conversation_options (conversation_id, provider, thinking)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (conversation_id) DO UPDATE
                     SET provider = excluded.provider, thinking = excluded.thinking",
                    rusqlite::params![id.to_string(), options.provider.as_str(), options.thinking],
                )?;
                Ok(options)
            })
            .await
            .map_err(|e: crate::store::StoreError| e.to_kestrel())
    }

    /// Makes a conversation talk to `kind` from its next turn on.
    pub async fn set_conversation_provider(
        &self,
        id: ConversationId,
        kind: ProviderKind,
    ) -> Result<ProviderKind, KestrelError> {
        let options = self.conversation_options(Some(id)).await?;
        self.set_conversation_options(
            id,
            ConversationOptions {
                provider: kind,
                ..options
            },
        )
        .await
        .map(|options| options.provider)
    }

    /// The thinking a request to `model` asks for when the conversation
    /// wants thinking: adaptive where the model lists it, else a budget of
    /// half the output (at most 16 000 tokens, at least the API's 1 024),
    /// else none.
    pub(crate) fn thinking_for(&self, model: &str, max_tokens: u32) -> Option<Thinking> {
        let listed = self
            .models
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .and_then(|models| models.iter().find(|m| m.id == model).cloned());
        let support = listed.unwrap_or_else(|| known_limits(model)).thinking;
        match support {
            ThinkingSupport::Adaptive => Some(Thinking::Adaptive { effort: None }),
            ThinkingSupport::Budget if max_tokens / 2 >= 1024 => Some(Thinking::Enabled {
                budget_tokens: (max_tokens / 2).min(16_000),
            }),
            _ => None,
        }
    }

    /// The models of `kind`'s provider; without a list, the configured
    /// default model with assumed limits.
    pub async fn provider_models(&self, kind: ProviderKind) -> Vec<ModelInfo> {
        match kind {
            ProviderKind::OpenAi => {
                let key = self.keys.get(&self.openai_key_id()).await;
                match self.openai_client().list_models(key.as_ref()).await {
                    Ok(models) if !models.is_empty() => models,
                    Ok(_) => Vec::new(),
                    Err(error) => {
                        tracing::warn!(%error, "no model list from the OpenAI-compatible server");
                        Vec::new()
                    }
                }
            }
            _ => self.list_models(false).await,
        }
    }
}
