//! What the UI knows about a model: its limits and capabilities (for the
//! model picker and for the requests the backend builds), and what it costs
//! per token (for the usage and cost shown per message and conversation).

use serde::{Deserialize, Serialize};

use crate::Usage;

/// Which kind of provider a conversation talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderKind {
    /// The Anthropic Messages API (or a server compatible with it).
    #[default]
    Anthropic,
    /// An OpenAI-compatible Chat Completions server: OpenAI, Ollama,
    /// llama.cpp, vLLM.
    #[serde(rename = "openai")]
    OpenAi,
}

impl ProviderKind {
    /// Every kind, in the order a picker lists them.
    pub const ALL: [Self; 2] = [Self::Anthropic, Self::OpenAi];

    /// The name stored and sent (`anthropic`, `openai`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }

    /// The kind stored as `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Anthropic => "Anthropic",
            Self::OpenAi => "OpenAI-compatible",
        }
    }
}

/// A conversation's request options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ConversationOptions {
    pub provider: ProviderKind,
    /// Whether the model thinks before answering (where it can).
    #[serde(default)]
    pub thinking: bool,
}

/// How a model thinks, when asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ThinkingSupport {
    /// The model does not think, or nothing says it does.
    #[default]
    None,
    /// Thinking with a fixed token budget (`type: enabled`).
    Budget,
    /// The model decides how much to think (`type: adaptive`).
    Adaptive,
}

/// One model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub display_name: String,
    /// The largest prompt, in tokens.
    pub context_window: u64,
    /// The largest `max_tokens` a request may ask for.
    pub max_output_tokens: u32,
    pub supports_tools: bool,
    pub supports_images: bool,
    pub thinking: ThinkingSupport,
    /// The release date as the provider states it (RFC 3339), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Prices of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Writing the prompt cache (five-minute TTL).
    pub cache_write: f64,
    pub cache_read: f64,
}

/// What a [`Usage`] cost, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}

/// Prices by model id prefix, as the backend's price table lists them.
pub type PriceList = std::collections::BTreeMap<String, Price>;

/// The price of `model` in `prices`: the entry whose key is the longest
/// prefix of the model id, so `claude-sonnet-4` prices
/// `claude-sonnet-4-5-20250929`.
pub fn price_for(prices: &PriceList, model: &str) -> Option<Price> {
    prices
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, price)| *price)
}

impl Price {
    /// The cost of `usage` at these prices.
    pub fn cost(&self, usage: &Usage) -> Cost {
        let per = |tokens: u64, dollars_per_million: f64| {
            // Token counts stay far below 2^53, where f64 is exact.
            tokens as f64 * dollars_per_million / 1_000_000.0
        };
        Cost {
            input: per(usage.input_tokens, self.input),
            output: per(usage.output_tokens, self.output),
            cache_write: per(usage.cache_creation_input_tokens, self.cache_write),
            cache_read: per(usage.cache_read_input_tokens, self.cache_read),
        }
    }
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.input + self.output + self.cache_write + self.cache_read
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Self) {
        self.input += other.input;
        self.output += other.output;
        self.cache_write += other.cache_write;
        self.cache_read += other.cache_read;
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn provider_kinds_round_trip_by_name() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().into())
            );
        }
        assert_eq!(ProviderKind::from_name("gemini"), None);
    }

    #[test]
    fn cost_is_tokens_times_price_per_million() {
        let price = Price {
            input: 3.0,
            output: 15.0,
            cache_write: 3.75,
            cache_read: 0.3,
        };
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 2_000,
            cache_creation_input_tokens: 10_000,
            cache_read_input_tokens: 100_000,
        };
        let cost = price.cost(&usage);
        assert_eq!(
            (cost.input, cost.output, cost.cache_write, cost.cache_read),
            (3.0, 0.03, 0.0375, 0.03)
        );
        assert!((cost.total() - 3.0975).abs() < 1e-12);
        let mut sum = cost;
        sum += cost;
        assert!((sum.total() - 6.195).abs() < 1e-12);
    }
}
