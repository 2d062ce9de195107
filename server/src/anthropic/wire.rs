//! The Anthropic Messages API wire format, mirrored exactly: the request
//! body (with tools, tool choice, thinking, stop sequences and
//! `cache_control` breakpoints), the SSE stream events and the error body.
//!
//! Every stream event, content block and delta the API documents has its own
//! variant; anything else is kept as raw JSON in an `Unknown` variant, never
//! fatal, because the API adds new kinds without a version bump. Whether an
//! `Unknown` is really new or a known kind with a broken shape is decided by
//! the mapper ([`super::mapper`]), which knows the names.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use kestrel_shared::{ContentBlock, Role, StopReason, Usage};

/// The body of `POST /v1/messages`. Field order is the render order of the
/// prompt (tools, system, messages) after the scalar settings, so a longer
/// conversation serializes to a byte-for-byte extension of a shorter one
/// and the cached prefix stays stable.
#[derive(Debug, Serialize)]
pub struct MessagesRequest<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<WireThinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<WireToolChoice<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemBlock<'a>>,
    pub messages: Vec<WireMessage<'a>>,
}

/// `{"type": "ephemeral"}`: a prompt-cache breakpoint after this item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheControl {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The one cache-control value Kestrel sends (the default five-minute TTL).
pub const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

#[derive(Debug, Serialize)]
pub struct SystemBlock<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Serialize)]
pub struct WireTool<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: &'a str,
    pub input_schema: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireToolChoice<'a> {
    Auto {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        disable_parallel_tool_use: bool,
    },
    Any {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        disable_parallel_tool_use: bool,
    },
    Tool {
        name: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        disable_parallel_tool_use: bool,
    },
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireThinking {
    Enabled { budget_tokens: u32 },
    Adaptive,
    Disabled,
}

#[derive(Debug, Serialize)]
pub struct OutputConfig<'a> {
    pub effort: &'a str,
}

#[derive(Debug, Serialize)]
pub struct WireMessage<'a> {
    pub role: Role,
    pub content: Vec<WireBlock<'a>>,
}

/// A stored content block, sent as it is, with an optional cache
/// breakpoint. `#[serde(flatten)]` puts `cache_control` after the block's
/// own fields, where the API expects nothing in particular but where it
/// leaves the block's own bytes unchanged.
#[derive(Debug, Serialize)]
pub struct WireBlock<'a> {
    #[serde(flatten)]
    pub block: &'a ContentBlock,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

/// One SSE event of a streamed reply, keyed by its `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
    /// An event type added after this was written, or a known one whose
    /// shape did not parse (the mapper tells the two apart).
    #[serde(untagged)]
    Unknown(serde_json::Value),
}

/// The event a reply is mostly made of, read in place without building a
/// [`StreamEvent`]: a `content_block_delta` whose delta carries text,
/// thinking or tool-input JSON. Anything this does not read, or reads but
/// the mapper does not take ([`super::mapper::EventMapper::hot_delta`]),
/// is parsed again the general way, which keeps every check.
#[derive(Debug, Deserialize)]
pub struct HotDelta<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub index: u32,
    #[serde(borrow)]
    pub delta: HotDeltaBody<'a>,
}

#[derive(Debug, Deserialize)]
pub struct HotDeltaBody<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub text: Option<Borrowed<'a>>,
    #[serde(default, borrow)]
    pub thinking: Option<Borrowed<'a>>,
    #[serde(default, borrow)]
    pub partial_json: Option<Borrowed<'a>>,
}

/// The three deltas [`HotDelta::parse`] reads without `serde`: the delta's
/// type and the field that carries its fragment.
const HOT_KINDS: [(&str, &str); 3] = [
    ("text_delta", "text"),
    ("thinking_delta", "thinking"),
    ("input_json_delta", "partial_json"),
];

impl<'a> HotDelta<'a> {
    /// Reads `data` as a hot delta: first as the exact bytes the API sends
    /// one in (`{"type":"content_block_delta","index":N,"delta":{"type":
    /// "text_delta","text":"…"}}`, no spaces, fields in this order), a
    /// fifth of `serde_json`'s cost; anything else (other spacing or order,
    /// extra fields, another event) through `serde_json`. Both readings
    /// give the same value wherever the first applies.
    pub fn parse(data: &'a str) -> Option<Self> {
        Self::parse_exact(data).or_else(|| serde_json::from_str(data).ok())
    }

    fn parse_exact(data: &'a str) -> Option<Self> {
        let rest = data.strip_prefix(r#"{"type":"content_block_delta","index":"#)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // JSON numbers have no leading zeros.
        if digits == 0 || (digits > 1 && rest.starts_with('0')) {
            return None;
        }
        let index = rest[..digits].parse().ok()?;
        let rest = rest[digits..].strip_prefix(r#","delta":{"type":""#)?;
        let (kind, field, rest) = HOT_KINDS.iter().find_map(|&(kind, field)| {
            let rest = rest.strip_prefix(kind)?.strip_prefix(r#"",""#)?;
            let rest = rest.strip_prefix(field)?.strip_prefix(r#"":"#)?;
            Some((kind, field, rest))
        })?;
        let (fragment, rest) = json_string(rest)?;
        if rest != "}}" {
            return None;
        }
        let fragment = Some(Borrowed(fragment));
        let mut delta = HotDeltaBody {
            kind: Cow::Borrowed(kind),
            text: None,
            thinking: None,
            partial_json: None,
        };
        match field {
            "text" => delta.text = fragment,
            "thinking" => delta.thinking = fragment,
            _ => delta.partial_json = fragment,
        }
        Some(Self {
            kind: Cow::Borrowed("content_block_delta"),
            index,
            delta,
        })
    }
}

/// The JSON string `text` starts with, and what follows it: borrowed when
/// it has no escapes, else decoded by `serde_json`. `None` when `text`
/// does not start with a valid string.
fn json_string(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = text.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut escaped = false;
    let mut at = 0;
    loop {
        match *bytes.get(at)? {
            b'"' => break,
            b'\\' => {
                escaped = true;
                at += 2;
            }
            // Control characters must be escaped; `serde_json` says why.
            byte if byte < 0x20 => return None,
            _ => at += 1,
        }
    }
    let rest = body.get(at + 1..)?;
    if !escaped {
        return Some((Cow::Borrowed(&body[..at]), rest));
    }
    let literal = &text[..at + 2];
    let decoded: String = serde_json::from_str(literal).ok()?;
    Some((Cow::Owned(decoded), rest))
}

/// A string borrowed from the event's JSON unless it holds escapes.
/// (`Option<Cow<str>>` alone would always copy.)
#[derive(Debug, Deserialize)]
pub struct Borrowed<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// The event names [`StreamEvent`] knows.
pub const KNOWN_EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

#[derive(Debug, Deserialize)]
pub struct MessageStart {
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// The block a `content_block_start` opens.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    /// A tool the API runs itself (web search, code execution, …). Its
    /// input streams as `input_json_delta` like a client tool's.
    ServerToolUse {
        id: String,
        name: String,
    },
    /// Server tool results (`web_search_tool_result`, …), which arrive whole,
    /// and kinds added after this was written. Kept as sent, so the block can
    /// be echoed back to the API unchanged.
    #[serde(untagged)]
    Unknown(serde_json::Value),
}

/// The block types [`StartBlock`] knows by name.
pub const KNOWN_BLOCKS: &[&str] = &[
    "text",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "server_tool_use",
];

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    CitationsDelta {
        citation: serde_json::Value,
    },
    #[serde(untagged)]
    Unknown(serde_json::Value),
}

/// The delta types [`Delta`] knows by name.
pub const KNOWN_DELTAS: &[&str] = &[
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
    "citations_delta",
];

/// The `type` of a raw JSON object, or `""`.
pub fn type_of(value: &serde_json::Value) -> &str {
    value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub struct MessageDeltaBody {
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// Usage as the API sends it: every field optional, because
/// `message_delta` carries only what changed.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct WireUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Folds this report into `total`. Reports are cumulative, so present
    /// fields replace earlier values.
    pub fn apply_to(&self, total: &mut Usage) {
        if let Some(n) = self.input_tokens {
            total.input_tokens = n;
        }
        if let Some(n) = self.output_tokens {
            total.output_tokens = n;
        }
        if let Some(n) = self.cache_creation_input_tokens {
            total.cache_creation_input_tokens = n;
        }
        if let Some(n) = self.cache_read_input_tokens {
            total.cache_read_input_tokens = n;
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub error_type: String,
    #[serde(default)]
    pub message: String,
}

/// The body of an HTTP error response.
#[derive(Debug, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn request_body_matches_the_api() {
        let content = [ContentBlock::text("hi")];
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let stop = ["END".to_owned()];
        let request = MessagesRequest {
            model: "claude-sonnet-4-5",
            max_tokens: 1024,
            stream: true,
            temperature: Some(0.5),
            stop_sequences: &stop,
            thinking: Some(WireThinking::Enabled {
                budget_tokens: 2048,
            }),
            output_config: None,
            tools: vec![WireTool {
                name: "get_weather",
                description: "Weather for a city",
                input_schema: &schema,
                cache_control: Some(EPHEMERAL),
            }],
            tool_choice: Some(WireToolChoice::Tool {
                name: "get_weather",
                disable_parallel_tool_use: false,
            }),
            system: vec![SystemBlock {
                kind: "text",
                text: "be brief",
                cache_control: Some(EPHEMERAL),
            }],
            messages: vec![WireMessage {
                role: Role::User,
                content: vec![WireBlock {
                    block: &content[0],
                    cache_control: Some(EPHEMERAL),
                }],
            }],
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "stream": true,
                "temperature": 0.5,
                "stop_sequences": ["END"],
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "tools": [{
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "input_schema": schema,
                    "cache_control": {"type": "ephemeral"}
                }],
                "tool_choice": {"type": "tool", "name": "get_weather"},
                "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
                ]}]
            })
        );
    }

    #[test]
    fn unknown_events_blocks_and_deltas_keep_their_json() {
        let raw = json!({"type": "web_search_tool_result", "tool_use_id": "x", "content": []});
        let event: StreamEvent = serde_json::from_value(json!({
            "type": "content_block_start", "index": 2, "content_block": raw
        }))
        .unwrap();
        match event {
            StreamEvent::ContentBlockStart {
                index: 2,
                content_block: StartBlock::Unknown(kept),
            } => assert_eq!(kept, raw),
            other => panic!("unexpected {other:?}"),
        }
        let delta = json!({"type": "brand_new_delta", "x": 1});
        let event: StreamEvent = serde_json::from_value(json!({
            "type": "content_block_delta", "index": 0, "delta": delta
        }))
        .unwrap();
        match event {
            StreamEvent::ContentBlockDelta {
                delta: Delta::Unknown(kept),
                ..
            } => assert_eq!(kept, delta),
            other => panic!("unexpected {other:?}"),
        }
        let new_event = json!({"type": "message_checkpoint", "n": 3});
        match serde_json::from_value::<StreamEvent>(new_event.clone()).unwrap() {
            StreamEvent::Unknown(kept) => assert_eq!(kept, new_event),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_documented_delta_parses() {
        for (delta, ok) in [
            (json!({"type": "text_delta", "text": "a"}), true),
            (
                json!({"type": "input_json_delta", "partial_json": ""}),
                true,
            ),
            (json!({"type": "thinking_delta", "thinking": "b"}), true),
            (json!({"type": "signature_delta", "signature": "c"}), true),
            (
                json!({"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}),
                true,
            ),
            (json!({"type": "text_delta"}), false),
        ] {
            let parsed: Delta = serde_json::from_value(delta.clone()).unwrap();
            assert_eq!(!matches!(parsed, Delta::Unknown(_)), ok, "{delta}");
        }
    }

    /// What a hot delta says, for comparing two readings.
    fn seen<'a>(hot: &'a HotDelta<'_>) -> (&'a str, u32, &'a str, [Option<&'a str>; 3]) {
        let text = |f: &'a Option<Borrowed<'_>>| f.as_ref().map(|b| b.0.as_ref());
        (
            hot.kind.as_ref(),
            hot.index,
            hot.delta.kind.as_ref(),
            [
                text(&hot.delta.text),
                text(&hot.delta.thinking),
                text(&hot.delta.partial_json),
            ],
        )
    }

    fn by_serde(data: &str) -> Option<HotDelta<'_>> {
        serde_json::from_str(data).ok()
    }

    #[test]
    fn the_api_s_own_deltas_are_read_in_place() {
        let line = r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"Hello"}}"#;
        let hot = HotDelta::parse_exact(line).unwrap();
        assert_eq!(
            seen(&hot),
            (
                "content_block_delta",
                3,
                "text_delta",
                [Some("Hello"), None, None]
            )
        );
        assert!(matches!(hot.delta.text.unwrap().0, Cow::Borrowed(_)));

        let line = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a \"b\"\n\u00e9"}}"#;
        let hot = HotDelta::parse_exact(line).unwrap();
        assert_eq!(hot.delta.thinking.unwrap().0, "a \"b\"\n\u{e9}");

        // Other spacing, order or extra fields go the general way.
        for other in [
            r#"{"type": "content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","x":1}}"#,
            r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}} "#,
        ] {
            assert!(HotDelta::parse_exact(other).is_none(), "{other}");
        }
        assert_eq!(
            HotDelta::parse(r#"{"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "a"}}"#)
                .as_ref()
                .map(seen),
            Some(("content_block_delta", 1, "text_delta", [Some("a"), None, None]))
        );
    }

    proptest::proptest! {
        /// Whatever the fragment holds (quotes, escapes, control
        /// characters, any Unicode), the in-place reading is taken and
        /// agrees with `serde_json`.
        #[test]
        fn in_place_reading_agrees_with_serde(
            index in proptest::prelude::any::<u32>(),
            kind in 0usize..3,
            fragment in proptest::prelude::any::<String>(),
        ) {
            let (kind, field) = HOT_KINDS[kind];
            let data = format!(
                r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"{kind}","{field}":{}}}}}"#,
                serde_json::to_string(&fragment).unwrap()
            );
            let exact = HotDelta::parse_exact(&data);
            proptest::prop_assert!(exact.is_some(), "{}", data);
            let serde = by_serde(&data);
            proptest::prop_assert_eq!(exact.as_ref().map(seen), serde.as_ref().map(seen));
        }

        /// A damaged line is never read differently from `serde_json`: the
        /// in-place reading either declines or agrees.
        #[test]
        fn damaged_lines_never_read_differently(
            fragment in "[a-z\"\\\\\u{0}-\u{1f}é]{0,12}",
            at in 0usize..120,
            insert in proptest::prelude::any::<char>(),
            remove in proptest::prelude::any::<bool>(),
        ) {
            let mut data = format!(
                r#"{{"type":"content_block_delta","index":7,"delta":{{"type":"text_delta","text":"{fragment}"}}}}"#
            );
            let mut at = at.min(data.len());
            while !data.is_char_boundary(at) {
                at -= 1;
            }
            if remove && at < data.len() {
                data.remove(at);
            } else {
                data.insert(at, insert);
            }
            if let Some(exact) = HotDelta::parse_exact(&data) {
                let serde = by_serde(&data);
                proptest::prop_assert_eq!(Some(seen(&exact)), serde.as_ref().map(seen), "{}", data);
            }
        }
    }
}
