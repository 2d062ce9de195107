//! Token usage and what it cost: per reply ([`MessageUsage`], under each
//! assistant message) and for the open conversation's branch
//! ([`ConversationUsage`], in the chat header). Prices come from the
//! backend's price table (built in, overridable by `prices.json` in the
//! data directory); a model without a price shows its tokens and no cost,
//! never a guessed one.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{Cost, Message, PriceList, Role, Usage, price_for};

use crate::state::ChatState;

/// The price table, fetched once per run.
static PRICES: GlobalSignal<Option<PriceList>> = Signal::global(|| None);

/// Fetches the price table unless it is already here.
fn load_prices() {
    if PRICES.peek().is_some() {
        return;
    }
    spawn(async move {
        match api::prices().await {
            Ok(prices) => *PRICES.write() = Some(prices),
            Err(error) => tracing::warn!(%error, "no price table; costs are not shown"),
        }
    });
}

/// `1234567` → `1,234,567`.
pub fn format_tokens(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars with the precision small amounts need: `$0.0042`, `$1.27`.
pub fn format_cost(dollars: f64) -> String {
    if dollars == 0.0 {
        "$0".to_owned()
    } else if dollars < 0.01 {
        format!("${dollars:.4}")
    } else {
        format!("${dollars:.2}")
    }
}

/// One line describing `usage` (and its cost, when known).
pub fn describe(usage: &Usage, cost: Option<Cost>) -> String {
    let mut parts = vec![
        format!("{} in", format_tokens(usage.input_tokens)),
        format!("{} out", format_tokens(usage.output_tokens)),
    ];
    if usage.cache_creation_input_tokens > 0 {
        parts.push(format!(
            "{} cache write",
            format_tokens(usage.cache_creation_input_tokens)
        ));
    }
    if usage.cache_read_input_tokens > 0 {
        parts.push(format!(
            "{} cache read",
            format_tokens(usage.cache_read_input_tokens)
        ));
    }
    if let Some(cost) = cost {
        parts.push(format_cost(cost.total()));
    }
    parts.join(" · ")
}

/// The summed usage of `messages`' replies, and their summed cost when
/// every reply's model has a price.
pub fn conversation_total(
    messages: &[Message],
    prices: Option<&PriceList>,
) -> (Usage, Option<Cost>) {
    let mut usage = Usage::default();
    let mut cost = Some(Cost::default());
    for message in messages.iter().filter(|m| m.role == Role::Assistant) {
        let Some(reply) = message.usage else {
            continue;
        };
        usage += reply;
        let price = prices
            .zip(message.model.as_deref())
            .and_then(|(p, m)| price_for(p, m));
        cost = match (cost, price) {
            (Some(mut total), Some(price)) => {
                total += price.cost(&reply);
                Some(total)
            }
            _ => None,
        };
    }
    (usage, cost)
}

/// Usage and cost of one reply.
#[component]
pub fn MessageUsage(usage: Usage, model: Option<String>) -> Element {
    use_effect(load_prices);
    let prices = PRICES.read();
    let price = prices
        .as_ref()
        .zip(model.as_deref())
        .and_then(|(prices, model)| price_for(prices, model));
    let line = describe(&usage, price.map(|p| p.cost(&usage)));
    let title = model.unwrap_or_default();
    rsx! {
        div { class: "usage", title: "{title}", "{line}" }
    }
}

/// Usage and cost of the open conversation's branch.
#[component]
pub fn ConversationUsage() -> Element {
    use_effect(load_prices);
    let state = use_context::<ChatState>();
    let messages = state.messages.read();
    let prices = PRICES.read();
    let (usage, cost) = conversation_total(&messages, prices.as_ref());
    if usage == Usage::default() {
        return rsx! {};
    }
    let line = describe(&usage, cost);
    rsx! {
        div { class: "conversation-usage", title: "Tokens and cost of this conversation", "{line}" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_shared::{MessageStatus, Price, Timestamp};
    use pretty_assertions::assert_eq;

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_tokens(0), "0");
        assert_eq!(format_tokens(999), "999");
        assert_eq!(format_tokens(1000), "1,000");
        assert_eq!(format_tokens(1_234_567), "1,234,567");
        assert_eq!(format_cost(0.0), "$0");
        assert_eq!(format_cost(0.00421), "$0.0042");
        assert_eq!(format_cost(1.2749), "$1.27");
    }

    #[test]
    fn a_reply_shows_its_tokens_before_prices_arrive() {
        #[allow(non_snake_case)]
        fn One() -> Element {
            let usage = Usage {
                input_tokens: 1200,
                output_tokens: 35,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 5000,
            };
            rsx! { MessageUsage { usage, model: Some("claude-sonnet-4-5".to_owned()) } }
        }
        let mut dom = VirtualDom::new(One);
        dom.rebuild_in_place();
        let html = dioxus_ssr::render(&dom);
        assert!(
            html.contains("1,200 in · 35 out · 5,000 cache read</div>"),
            "{html}"
        );
    }

    fn reply(model: &str, input: u64, output: u64, cache_read: u64) -> Message {
        Message {
            id: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
            conversation_id: "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap(),
            parent_id: None,
            role: Role::Assistant,
            content: Vec::new(),
            status: MessageStatus::Complete,
            model: Some(model.into()),
            usage: Some(Usage {
                input_tokens: input,
                output_tokens: output,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: cache_read,
            }),
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn a_conversation_sums_its_replies_across_models() {
        let prices = PriceList::from([
            (
                "claude-sonnet-4".to_owned(),
                Price {
                    input: 3.0,
                    output: 15.0,
                    cache_write: 3.75,
                    cache_read: 0.3,
                },
            ),
            (
                "claude-haiku-4-5".to_owned(),
                Price {
                    input: 1.0,
                    output: 5.0,
                    cache_write: 1.25,
                    cache_read: 0.1,
                },
            ),
        ]);
        let messages = vec![
            reply("claude-sonnet-4-5", 1_000_000, 0, 0),
            reply("claude-haiku-4-5", 0, 1_000_000, 1_000_000),
        ];
        let (usage, cost) = conversation_total(&messages, Some(&prices));
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_input_tokens
            ),
            (1_000_000, 1_000_000, 1_000_000)
        );
        assert!((cost.unwrap().total() - 8.1).abs() < 1e-9);
        assert_eq!(
            describe(&usage, cost),
            "1,000,000 in · 1,000,000 out · 1,000,000 cache read · $8.10"
        );
        // One reply without a price: tokens, but no made-up total.
        let mut with_local = messages;
        with_local.push(reply("llama3.2", 10, 10, 0));
        let (_, cost) = conversation_total(&with_local, Some(&prices));
        assert_eq!(cost, None);
    }
}
