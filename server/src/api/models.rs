//! Server functions for models and prices: the model picker's list, the
//! switch of a conversation's model, and the price table the UI turns
//! usage into cost with.

use dioxus::prelude::*;
use kestrel_shared::{Conversation, ConversationId, ModelInfo, PriceList};

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
