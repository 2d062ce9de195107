//! The model picker in the chat header: the provider's models (from the
//! backend's cached model list), the open conversation's model selected.
//! Choosing another switches the conversation; the next turn uses it. A new
//! conversation is saved first so the choice sticks.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{ModelInfo, ThinkingSupport};

use crate::state::ChatState;

/// The model list, fetched once per run.
static MODELS: GlobalSignal<Vec<ModelInfo>> = Signal::global(Vec::new);

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
    use_effect(move || {
        if MODELS.peek().is_empty() {
            spawn(async move {
                match api::list_models(false).await {
                    Ok(models) => *MODELS.write() = models,
                    Err(error) => tracing::warn!(%error, "no model list"),
                }
            });
        }
    });
    let current = state.current.read().as_ref().map(|c| c.model.clone());
    let models = MODELS.read();
    let unlisted = current
        .clone()
        .filter(|id| !models.iter().any(|m| &m.id == id));
    let busy = state.turn.read().is_some();
    rsx! {
        select {
            class: "model-picker",
            "aria-label": "Model",
            disabled: busy,
            onchange: move |evt| {
                spawn(choose(state, evt.value()));
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
    }
}

/// Switches the open conversation (saving a new one first) to `model`.
async fn choose(mut state: ChatState, model: String) {
    if model.is_empty() {
        return;
    }
    let id = match state.current_id() {
        Some(id) => id,
        None => match api::create_conversation().await {
            Ok(conversation) => conversation.id,
            Err(e) => return state.error.set(Some(api::to_kestrel_error(e))),
        },
    };
    match api::set_conversation_model(id, model).await {
        Ok(conversation) => {
            {
                let mut list = state.conversations.write();
                list.retain(|c| c.id != conversation.id);
                list.insert(0, conversation.clone());
            }
            state.current.set(Some(conversation));
        }
        Err(e) => state.error.set(Some(api::to_kestrel_error(e))),
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
