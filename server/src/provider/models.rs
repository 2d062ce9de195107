//! Model limits and capabilities: read from the provider's model list
//! (Anthropic's `GET /v1/models`, paginated), with fallbacks for fields the
//! list leaves out and for when the list cannot be fetched at all, so a
//! request always has a `max_tokens` the model accepts.

use kestrel_shared::{ModelInfo, ThinkingSupport};
use serde::Deserialize;

/// The context window assumed when nothing says otherwise.
pub const FALLBACK_CONTEXT_WINDOW: u64 = 200_000;
/// The output limit assumed when nothing says otherwise: small enough for
/// every current Claude model.
pub const FALLBACK_MAX_OUTPUT: u32 = 8_192;

/// One page of `GET /v1/models`.
#[derive(Debug, Deserialize)]
pub struct ModelsPage {
    pub data: Vec<WireModel>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
}

/// One model as `GET /v1/models` lists it; everything but the id optional,
/// because compatible servers list less.
#[derive(Debug, Deserialize)]
pub struct WireModel {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub max_input_tokens: Option<u64>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub image_input: Option<Support>,
    #[serde(default)]
    pub thinking: Option<ThinkingCapability>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct Support {
    #[serde(default)]
    pub supported: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ThinkingCapability {
    #[serde(default)]
    pub supported: bool,
    #[serde(default)]
    pub types: Option<ThinkingTypes>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ThinkingTypes {
    #[serde(default)]
    pub adaptive: Option<Support>,
    #[serde(default)]
    pub enabled: Option<Support>,
}

impl WireModel {
    /// The model as Kestrel uses it, gaps filled from [`known_limits`].
    pub fn into_info(self) -> ModelInfo {
        let known = known_limits(&self.id);
        let thinking = match &self.capabilities {
            Some(Capabilities {
                thinking: Some(thinking),
                ..
            }) => {
                let types = thinking.types.as_ref();
                let adaptive = types.and_then(|t| t.adaptive).is_some_and(|s| s.supported);
                let enabled = types.and_then(|t| t.enabled).is_some_and(|s| s.supported);
                if adaptive {
                    ThinkingSupport::Adaptive
                } else if enabled || (thinking.supported && types.is_none()) {
                    ThinkingSupport::Budget
                } else {
                    ThinkingSupport::None
                }
            }
            _ => known.thinking,
        };
        let supports_images = match &self.capabilities {
            Some(Capabilities {
                image_input: Some(support),
                ..
            }) => support.supported,
            _ => known.supports_images,
        };
        ModelInfo {
            display_name: self
                .display_name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| self.id.clone()),
            context_window: self.max_input_tokens.unwrap_or(known.context_window),
            max_output_tokens: self
                .max_tokens
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(known.max_output_tokens),
            supports_tools: true,
            supports_images,
            thinking,
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// What Kestrel assumes about a model the list does not describe, by the
/// family its id names.
pub fn known_limits(id: &str) -> ModelInfo {
    let claude = id.starts_with("claude-");
    let claude_4_or_later = claude
        && ["-4", "-5", "-6", "-7", "-8", "-9"]
            .iter()
            .any(|generation| id.contains(generation))
        && !id.starts_with("claude-3");
    let (max_output_tokens, thinking) = if claude_4_or_later {
        (32_000, ThinkingSupport::Budget)
    } else if id.starts_with("claude-3-7") {
        (64_000, ThinkingSupport::Budget)
    } else {
        (FALLBACK_MAX_OUTPUT, ThinkingSupport::None)
    };
    ModelInfo {
        id: id.to_owned(),
        display_name: id.to_owned(),
        context_window: FALLBACK_CONTEXT_WINDOW,
        max_output_tokens,
        supports_tools: true,
        supports_images: claude,
        thinking,
        created_at: None,
    }
}

/// The model from `models` with this id, else what [`known_limits`]
/// assumes.
pub fn find_or_assume(models: &[ModelInfo], id: &str) -> ModelInfo {
    models
        .iter()
        .find(|model| model.id == id)
        .cloned()
        .unwrap_or_else(|| known_limits(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn info(value: serde_json::Value) -> ModelInfo {
        serde_json::from_value::<WireModel>(value)
            .unwrap()
            .into_info()
    }

    #[test]
    fn the_list_wins_where_it_speaks() {
        let model = info(json!({
            "type": "model", "id": "claude-opus-9", "display_name": "Claude Opus 9",
            "created_at": "2026-05-01T00:00:00Z",
            "max_input_tokens": 1_000_000, "max_tokens": 128_000,
            "capabilities": {
                "image_input": {"supported": false},
                "thinking": {"supported": true, "types": {
                    "adaptive": {"supported": true}, "enabled": {"supported": false},
                    "disabled": {"supported": true}
                }},
                "batch": {"supported": true}
            }
        }));
        assert_eq!(
            model,
            ModelInfo {
                id: "claude-opus-9".into(),
                display_name: "Claude Opus 9".into(),
                context_window: 1_000_000,
                max_output_tokens: 128_000,
                supports_tools: true,
                supports_images: false,
                thinking: ThinkingSupport::Adaptive,
                created_at: Some("2026-05-01T00:00:00Z".into()),
            }
        );
        let budget = info(json!({"id": "claude-x", "capabilities": {"thinking": {
            "supported": true, "types": {"adaptive": {"supported": false}, "enabled": {"supported": true}}
        }}}));
        assert_eq!(budget.thinking, ThinkingSupport::Budget);
    }

    #[test]
    fn gaps_are_filled_by_family() {
        let bare = info(json!({"id": "claude-sonnet-4-5"}));
        assert_eq!(
            (
                bare.display_name.as_str(),
                bare.context_window,
                bare.max_output_tokens,
                bare.thinking
            ),
            (
                "claude-sonnet-4-5",
                FALLBACK_CONTEXT_WINDOW,
                32_000,
                ThinkingSupport::Budget
            )
        );
        let local = info(json!({"id": "llama3.2:3b"}));
        assert_eq!(
            (
                local.max_output_tokens,
                local.thinking,
                local.supports_images
            ),
            (FALLBACK_MAX_OUTPUT, ThinkingSupport::None, false)
        );
        assert_eq!(
            find_or_assume(&[], "claude-3-5-haiku-20241022").max_output_tokens,
            FALLBACK_MAX_OUTPUT
        );
    }
}
