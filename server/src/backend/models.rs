//! The backend's model and price services: the model list (from the
//! provider, cached, with fallbacks when it cannot be fetched), each
//! conversation's model, the `max_tokens` a request may ask of a model, and
//! the price table the UI prices usage with.

use kestrel_shared::{Conversation, ConversationId, ErrorKind, KestrelError, ModelInfo, PriceList};

use super::Backend;
use crate::provider::Provider;
use crate::provider::models::known_limits;
use crate::store::queries;

/// The longest model id accepted.
const MAX_MODEL_ID: usize = 200;

impl Backend {
    /// The models the provider offers, newest first. Fetched once and then
    /// cached; `refresh` fetches again. When the list cannot be fetched (no
    /// key, no network, an endpoint without a model list) the answer is the
    /// configured default model with assumed limits, so the picker always
    /// has something and a request always has limits.
    pub async fn list_models(&self, refresh: bool) -> Vec<ModelInfo> {
        if !refresh
            && let Some(models) = self
                .models
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone()
        {
            return models;
        }
        let key = self
            .keys
            .get(&crate::secrets::ProviderKeyId::Anthropic)
            .await;
        match self.client.models(key.as_ref()).await {
            Ok(models) if !models.is_empty() => {
                tracing::info!(count = models.len(), "model list fetched");
                *self
                    .models
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(models.clone());
                models
            }
            Ok(_) => vec![known_limits(&self.config.default_model)],
            Err(error) => {
                tracing::warn!(%error, "model list unavailable; using the default model");
                vec![known_limits(&self.config.default_model)]
            }
        }
    }

    /// The `max_tokens` to ask of `model`: its limit from the model list
    /// when the list is known, else the configured default.
    pub(crate) fn max_tokens_for(&self, model: &str) -> u32 {
        self.models
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .and_then(|models| models.iter().find(|m| m.id == model))
            .map_or(self.config.max_tokens, |m| m.max_output_tokens)
    }

    /// Switches a conversation to another model; the next turn uses it.
    pub async fn set_conversation_model(
        &self,
        id: ConversationId,
        model: String,
    ) -> Result<Conversation, KestrelError> {
        let model = model.trim().to_owned();
        if model.is_empty() || model.len() > MAX_MODEL_ID || model.chars().any(char::is_control) {
            return Err(KestrelError::new(
                ErrorKind::BadInput,
                "That is not a model id.",
            ));
        }
        self.store
            .call(move |conn| {
                let changed = conn.execute(
                    "UPDATE conversations SET model = ?2, updated_at = ?3 WHERE id = ?1",
                    rusqlite::params![id.to_string(), model, queries::now().0],
                )?;
                if changed == 0 {
                    return Err(crate::store::StoreError::NotFound {
                        what: "conversation",
                        id: id.to_string(),
                    });
                }
                queries::get_conversation(conn, id)
            })
            .await
            .map_err(|e| e.to_kestrel())
    }

    /// The price table as it stands (the built-in prices with the data
    /// directory's `prices.json` over them).
    pub async fn prices(&self) -> PriceList {
        let pricing = std::sync::Arc::clone(&self.pricing);
        tokio::task::spawn_blocking(move || pricing.table().list())
            .await
            .unwrap_or_default()
    }
}

impl Backend {
    /// The request for the next turn of `conversation`, whose active
    /// branch is `history`: the model's `max_tokens`, and thinking when the
    /// conversation asks for it and the provider and model can.
    pub(crate) fn completion_request(
        &self,
        conversation: &kestrel_shared::Conversation,
        history: &[kestrel_shared::Message],
        options: kestrel_shared::ConversationOptions,
    ) -> crate::llm::CompletionRequest {
        let max_tokens = self.max_tokens_for(&conversation.model);
        let mut request = crate::llm::CompletionRequest::new(
            conversation.model.clone(),
            conversation.system_prompt.clone(),
            crate::chat::request_messages(history),
            max_tokens,
        );
        if options.thinking && options.provider == kestrel_shared::ProviderKind::Anthropic {
            request.thinking = self.thinking_for(&conversation.model, max_tokens);
        }
        request
    }
}
