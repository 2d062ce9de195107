//! Server functions for providers, models and prices: the model picker's
//! list, a conversation's model and provider, and the price table the UI
//! turns usage into cost with.

use dioxus::prelude::*;
use kestrel_shared::{
    Conversation, ConversationId, ConversationOptions, ModelInfo, PriceList, ProviderKind,
};

/// The provider's models, newest first (cached; `refresh` fetches again).
/// Never fails: without a list the configured default model is listed.
#[post("/api/v1/models")]
pub async fn list_models(refresh: bool) -> Result<Vec<ModelInfo>, ServerFnError> {
    Ok(super::server::backend()?.list_models(refresh).await)
}

/// Switches a conversation's model; the next turn uses it.
#[post("/api/v1/conversations/model")]
pub async fn set_conversation_model(
    id: ConversationId,
    model: String,
) -> Result<Conversation, ServerFnError> {
    super::server::backend()?
        .set_conversation_model(id, model)
        .await
        .map_err(super::server::to_server_error)
}

/// Prices per model id prefix, in US dollars per million tokens.
#[get("/api/v1/prices")]
pub async fn prices() -> Result<PriceList, ServerFnError> {
    Ok(super::server::backend()?.prices().await)
}

/// The provider a conversation talks to (`None`: a new conversation, which
/// uses the default).
#[post("/api/v1/conversations/provider/get")]
pub async fn conversation_provider(
    id: Option<ConversationId>,
) -> Result<ProviderKind, ServerFnError> {
    super::server::backend()?
        .conversation_provider(id)
        .await
        .map_err(super::server::to_server_error)
}

/// Makes a conversation talk to another provider from its next turn on.
#[post("/api/v1/conversations/provider")]
pub async fn set_conversation_provider(
    id: ConversationId,
    provider: ProviderKind,
) -> Result<ProviderKind, ServerFnError> {
    super::server::backend()?
        .set_conversation_provider(id, provider)
        .await
        .map_err(super::server::to_server_error)
}

/// The models of one provider (empty when it lists none).
#[post("/api/v1/providers/models")]
pub async fn provider_models(provider: ProviderKind) -> Result<Vec<ModelInfo>, ServerFnError> {
    Ok(super::server::backend()?.provider_models(provider).await)
}

/// A conversation's request options (`None`: the defaults of a new one).
#[post("/api/v1/conversations/options/get")]
pub async fn conversation_options(
    id: Option<ConversationId>,
) -> Result<ConversationOptions, ServerFnError> {
    super::server::backend()?
        .conversation_options(id)
        .await
        .map_err(super::server::to_server_error)
}

/// Sets a conversation's request options; the next turn uses them.
#[post("/api/v1/conversations/options")]
pub async fn set_conversation_options(
    id: ConversationId,
    options: ConversationOptions,
) -> Result<ConversationOptions, ServerFnError> {
    super::server::backend()?
        .set_conversation_options(id, options)
        .await
        .map_err(super::server::to_server_error)
}
