//! The OpenAI Chat Completions wire format as OpenAI-compatible servers
//! (OpenAI, Ollama, llama.cpp, vLLM) share it: the streaming request body
//! built from Kestrel's request, and the chunks of the reply. Fields some
//! servers leave out are optional; unknown fields are ignored.

use kestrel_shared::{ContentBlock, MediaSource, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::llm::{CompletionRequest, ToolChoice};

#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<Value>,
    pub stream: bool,
    pub stream_options: StreamOptions,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
}

#[derive(Debug, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

/// The request body for `request`. Thinking blocks and redacted thinking
/// stay out (the format has no place for them); tool results become `tool`
/// messages; images become `image_url` parts.
pub fn chat_request(request: &CompletionRequest) -> ChatRequest<'_> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        match message.role {
            Role::User => user_messages(&message.content, &mut messages),
            Role::Assistant => messages.push(assistant_message(&message.content)),
        }
    }
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            json!({"type": "function", "function": {
                "name": tool.name, "description": tool.description, "parameters": tool.input_schema
            }})
        })
        .collect();
    let tool_choice = request.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Auto { .. } => json!("auto"),
        ToolChoice::Any { .. } => json!("required"),
        ToolChoice::Tool { name, .. } => json!({"type": "function", "function": {"name": name}}),
        ToolChoice::None => json!("none"),
    });
    ChatRequest {
        model: &request.model,
        messages,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        stop: &request.stop_sequences,
        tools,
        tool_choice,
    }
}

fn user_messages(content: &[ContentBlock], out: &mut Vec<Value>) {
    let mut parts = Vec::new();
    for block in content {
        match block {
            ContentBlock::Text { text } => parts.push(json!({"type": "text", "text": text})),
            ContentBlock::Image { source } => {
                let url = match source {
                    MediaSource::Base64 { media_type, data } => {
                        format!("data:{media_type};base64,{data}")
                    }
                    MediaSource::Url { url } => url.clone(),
                    _ => continue,
                };
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let mut text: String = content.iter().filter_map(ContentBlock::as_text).collect();
                if *is_error {
                    text.insert_str(0, "Error: ");
                }
                out.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}));
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return;
    }
    // Plain text as a string: the form every compatible server accepts.
    let only_text = parts.iter().all(|p| p["type"] == "text");
    let content = if only_text {
        Value::String(
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        )
    } else {
        Value::Array(parts)
    };
    out.push(json!({"role": "user", "content": content}));
}

fn assistant_message(content: &[ContentBlock]) -> Value {
    let text: Vec<&str> = content.iter().filter_map(ContentBlock::as_text).collect();
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::ToolUse { id, name, input } => Some(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": input.to_string()}
            })),
            _ => None,
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": text.join("\n\n")});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    message
}

/// One `data:` chunk of a streamed reply.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<ChatUsage>,
    /// A mid-stream failure.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: ChoiceDelta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ChoiceDelta {
    #[serde(default)]
    pub content: Option<String>,
    /// Thinking, as vLLM, DeepSeek and llama.cpp name it.
    #[serde(default)]
    pub reasoning_content: Option<String>,
    /// Thinking, as Ollama and OpenRouter name it.
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCallDelta>,
}

#[derive(Debug, Deserialize)]
pub struct ToolCallDelta {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct ChatUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{RequestMessage, ToolSpec};
    use pretty_assertions::assert_eq;

    #[test]
    fn a_tool_loop_becomes_chat_messages() {
        let mut request = CompletionRequest::new(
            "llama3.2",
            "Be brief.",
            vec![
                RequestMessage {
                    role: Role::User,
                    content: vec![ContentBlock::text("Weather in Oslo?")],
                },
                RequestMessage {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "hidden".into(),
                            signature: "s".into(),
                        },
                        ContentBlock::text("Checking."),
                        ContentBlock::ToolUse {
                            id: "call_1".into(),
                            name: "get_weather".into(),
                            input: json!({"city": "Oslo"}),
                        },
                    ],
                },
                RequestMessage {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "call_1".into(),
                        content: vec![ContentBlock::text("4°C")],
                        is_error: false,
                    }],
                },
            ],
            512,
        );
        request.tools = vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather".into(),
            input_schema: json!({"type": "object"}),
        }];
        request.tool_choice = Some(ToolChoice::Any { parallel: true });
        assert_eq!(
            serde_json::to_value(chat_request(&request)).unwrap(),
            json!({
                "model": "llama3.2",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Oslo?"},
                    {"role": "assistant", "content": "Checking.", "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "4°C"}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 512,
                "tools": [{"type": "function", "function": {
                    "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}
                }}],
                "tool_choice": "required"
            })
        );
    }
}
