//! The providers the backend can talk to and which one each conversation
//! uses: Anthropic by default, an OpenAI-compatible server
//! (`OPENAI_BASE_URL`, default OpenAI's own; key from `OPENAI_API_KEY`,
//! optional for local servers) when the conversation chose it. The choice
//! is stored per conversation (`conversation_providers`).

use kestrel_shared::{ConversationId, KestrelError, ModelInfo, ProviderKind};

use super::Backend;
use crate::anthropic::AnthropicClient;
use crate::llm::LlmError;
use crate::openai::OpenAiClient;
use crate::provider::Provider;
use crate::secrets::{ApiKey, ProviderKeyId};

/// The provider clients, set up once.
#[derive(Debug, Clone)]
pub struct Providers {
    pub anthropic: AnthropicClient,
    pub openai: OpenAiClient,
}

impl Providers {
    /// `anthropic`, plus the OpenAI-compatible client the environment
    /// describes.
    pub fn from_env(anthropic: AnthropicClient) -> Result<Self, reqwest::Error> {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| crate::openai::DEFAULT_BASE_URL.to_owned());
        Ok(Self {
            anthropic,
            openai: OpenAiClient::new(&base_url)?,
        })
    }
}

impl Backend {
    /// The client for `kind`.
    pub(crate) fn provider(&self, kind: ProviderKind) -> &dyn Provider {
        match kind {
            ProviderKind::OpenAi => &self.providers.openai,
            _ => &self.client,
        }
    }

    /// The key a request to `kind` carries. Anthropic requires one; an
    /// OpenAI-compatible server may not.
    pub(crate) async fn provider_key(
        &self,
        kind: ProviderKind,
    ) -> Result<Option<ApiKey>, LlmError> {
        match kind {
            ProviderKind::OpenAi => Ok(self.keys.get(&openai_key_id()).await),
            _ => self
                .keys
                .get(&ProviderKeyId::Anthropic)
                .await
                .map(Some)
                .ok_or(LlmError::MissingKey),
        }
    }

    /// The provider a conversation uses (Anthropic unless it chose
    /// another; a new conversation has none yet).
    pub async fn conversation_provider(
        &self,
        id: Option<ConversationId>,
    ) -> Result<ProviderKind, KestrelError> {
        let Some(id) = id else {
            return Ok(ProviderKind::Anthropic);
        };
        self.store
            .call(move |conn| {
                let name: Option<String> = conn
                    .query_row(
                        "SELECT provider FROM conversation_providers WHERE conversation_id = ?1",
                        [id.to_string()],
                        |row| row.get(0),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })?;
                Ok(name
                    .as_deref()
                    .and_then(ProviderKind::from_name)
                    .unwrap_or_default())
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
        self.store
            .call(move |conn| {
                crate::store::queries::get_conversation(conn, id)?;
                conn.execute(
                    "INSERT INTO conversation_providers (conversation_id, provider) VALUES (?1, ?2)
                     ON CONFLICT (conversation_id) DO UPDATE SET provider = excluded.provider",
                    [id.to_string(), kind.as_str().to_owned()],
                )?;
                Ok(kind)
            })
            .await
            .map_err(|e: crate::store::StoreError| e.to_kestrel())
    }

    /// The models of `kind`'s provider; without a list, the configured
    /// default model with assumed limits.
    pub async fn provider_models(&self, kind: ProviderKind) -> Vec<ModelInfo> {
        match kind {
            ProviderKind::OpenAi => {
                let key = self.keys.get(&openai_key_id()).await;
                match self.providers.openai.models(key.as_ref()).await {
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

/// The key id of the one OpenAI-compatible endpoint configured through
/// the environment (`OPENAI_API_KEY` overrides what the keychain holds).
fn openai_key_id() -> ProviderKeyId {
    ProviderKeyId::OpenAi {
        endpoint: "default".to_owned(),
    }
}
