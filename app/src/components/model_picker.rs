//! The provider and model pickers in the chat header: the open
//! conversation's provider (Anthropic or an OpenAI-compatible server) and
//! that provider's models (from its model list), the conversation's model
//! selected, and a thinking switch where the model can think. Choosing another switches the conversation; the next turn
//! uses it. A new conversation is saved first so the choice sticks.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{
    Conversation, ConversationId, ConversationOptions, ModelInfo, ProviderKind, ThinkingSupport,
};

use crate::state::ChatState;

/// A model's limits, for the option's tooltip.
pub fn describe(model: &ModelInfo) -> String {
    let thinking = match model.thinking {
        ThinkingSupport::Adaptive => ", adaptive thinking",
        ThinkingSupport::Budget => ", extended thinking",
        _ => "",
    };
    format!(
        "{}: {}k context, {}k output{thinking}",
        model.id,
        model.context_window / 1000,
        model.max_output_tokens / 1000
    )
}

#[component]
pub fn ModelPicker() -> Element {
    let state = use_context::<ChatState>();
    // The open conversation's provider, then that provider's models.
    let mut options = use_resource(move || {
        let id = state.current_id();
        async move { api::conversation_options(id).await.unwrap_or_default() }
    });
    let models = use_resource(move || {
        let kind = options().unwrap_or_default().provider;
        async move {
            match api::provider_models(kind).await {
                Ok(models) => models,
                Err(error) => {
                    tracing::warn!(%error, "no model list");
                    Vec::new()
                }
            }
        }
    });
    let chosen = options().unwrap_or_default();
    let kind = chosen.provider;
    let current = state.current.read().as_ref().map(|c| c.model.clone());
    let models = models.read();
    let models: &[ModelInfo] = models.as_deref().unwrap_or_default();
    // Thinking is offered where the provider and the model can do it.
    let can_think = kind == ProviderKind::Anthropic
        && models
            .iter()
            .find(|m| Some(m.id.as_str()) == current.as_deref())
            .or_else(|| models.first().filter(|_| current.is_none()))
            .is_some_and(|m| m.thinking != ThinkingSupport::None);
    let unlisted = current
        .clone()
        .filter(|id| !models.iter().any(|m| &m.id == id));
    let busy = state.turn.read().is_some();
    rsx! {
        select {
            class: "provider-picker",
            "aria-label": "Provider",
            disabled: busy,
            onchange: move |evt| {
                if let Some(kind) = ProviderKind::from_name(&evt.value()) {
                    spawn(async move {
                        if set_options(state, ConversationOptions { provider: kind, ..chosen }).await {
                            options.restart();
                        }
                    });
                }
            },
            for option_kind in ProviderKind::ALL {
                option {
                    key: "{option_kind.as_str()}",
                    value: "{option_kind.as_str()}",
                    selected: option_kind == kind,
                    "{option_kind.label()}"
                }
            }
        }
        select {
            class: "model-picker",
            "aria-label": "Model",
            disabled: busy,
            onchange: move |evt| {
                spawn(choose_model(state, evt.value()));
            },
            if current.is_none() {
                option { value: "", selected: true, "Default model" }
            }
            if let Some(id) = unlisted {
                option { value: "{id}", selected: true, "{id}" }
            }
            for model in models.iter() {
                option {
                    key: "{model.id}",
                    value: "{model.id}",
                    title: describe(model),
                    selected: current.as_deref() == Some(model.id.as_str()),
                    "{model.display_name}"
                }
            }
        }
        if can_think {
            button {
                class: "thinking-toggle",
                "aria-pressed": "{chosen.thinking}",
                title: "Let the model think before it answers",
                disabled: busy,
                onclick: move |_| {
                    spawn(async move {
                        let next = ConversationOptions { thinking: !chosen.thinking, ..chosen };
                        if set_options(state, next).await {
                            options.restart();
                        }
                    });
                },
                if chosen.thinking { "Thinking on" } else { "Thinking off" }
            }
        }
    }
}

/// The open conversation's id, saving a new conversation first so that a
/// choice made before the first message sticks.
async fn saved_conversation(mut state: ChatState) -> Option<ConversationId> {
    if let Some(id) = state.current_id() {
        return Some(id);
    }
    match api::create_conversation().await {
        Ok(conversation) => {
            let id = conversation.id;
            show_conversation(state, conversation);
            Some(id)
        }
        Err(e) => {
            state.error.set(Some(api::to_kestrel_error(e)));
            None
        }
    }
}

fn show_conversation(mut state: ChatState, conversation: Conversation) {
    {
        let mut list = state.conversations.write();
        list.retain(|c| c.id != conversation.id);
        list.insert(0, conversation.clone());
    }
    state.current.set(Some(conversation));
}

/// Switches the open conversation to `model`.
async fn choose_model(mut state: ChatState, model: String) {
    if model.is_empty() {
        return;
    }
    let Some(id) = saved_conversation(state).await else {
        return;
    };
    match api::set_conversation_model(id, model).await {
        Ok(conversation) => show_conversation(state, conversation),
        Err(e) => state.error.set(Some(api::to_kestrel_error(e))),
    }
}

/// Sets the open conversation's request options (provider, thinking);
/// returns whether it did.
async fn set_options(mut state: ChatState, options: ConversationOptions) -> bool {
    let Some(id) = saved_conversation(state).await else {
        return false;
    };
    match api::set_conversation_options(id, options).await {
        Ok(_) => true,
        Err(e) => {
            state.error.set(Some(api::to_kestrel_error(e)));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_tooltip_names_the_limits() {
        let model = ModelInfo {
            id: "claude-opus-4-6".into(),
            display_name: "Claude Opus 4.6".into(),
            context_window: 1_000_000,
            max_output_tokens: 128_000,
            supports_tools: true,
            supports_images: true,
            thinking: ThinkingSupport::Adaptive,
            created_at: None,
        };
        assert_eq!(
            describe(&model),
            "claude-opus-4-6: 1000k context, 128k output, adaptive thinking"
        );
    }
}
