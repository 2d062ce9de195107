//! An OpenAI-compatible provider: Chat Completions with streaming, for
//! OpenAI itself and for the servers that speak its format (Ollama,
//! llama.cpp's server, vLLM, …), at a configurable base URL that includes
//! the version (`https://api.openai.com/v1`, `http://localhost:11434/v1`).
//!
//! It shares the retry loop, timeouts and typed errors of
//! [`crate::provider::http`] with the Anthropic client; [`wire`] builds the
//! request and [`mapper`] reads the chunks. The key is optional (local
//! servers need none) and is sent as `Authorization: Bearer`.

pub mod mapper;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use kestrel_shared::ModelInfo;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::llm::{CompletionRequest, LlmError};
use crate::provider::http::{
    self, Attempt, Connections, EventSender, open_stream, read_body, run_with_retries,
};
use crate::provider::models::ModelsPage;
use crate::provider::retry::{Clock, RetryPolicy, SystemClock};
use crate::provider::{CompletionStream, Provider};
use crate::secrets::ApiKey;
use mapper::ChatStreamParser;

/// Where requests go when no base URL is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A client for one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    idle_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl OpenAiClient {
    /// A client for `base_url`, the URL up to and including `/v1`.
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let http = crate::provider::http::client(Connections::default())?;
        Ok(Self::with_http(http, base_url))
    }

    /// A client for `base_url` that sends through `http`.
    pub fn with_http(http: reqwest::Client, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            idle_timeout: IDLE_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The same client (HTTP connection pool, retries, timeouts) aimed at
    /// another endpoint: the one the settings name now.
    #[must_use]
    pub fn at(&self, base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        }
    }

    /// The models the server lists at `GET /models`; limits it does not
    /// state are assumed ([`crate::provider::models::known_limits`]).
    pub async fn list_models(&self, key: Option<&ApiKey>) -> Result<Vec<ModelInfo>, LlmError> {
        let url = format!("{}/models", self.base_url);
        let response = self
            .http
            .get(&url)
            .headers(auth_headers(key)?)
            .timeout(self.idle_timeout)
            .send()
            .await
            .map_err(|source| LlmError::Connect {
                url: url.clone(),
                source,
            })?;
        let request_id = http::request_id(response.headers());
        if !response.status().is_success() {
            return Err(
                http::status_error(response, request_id, self.idle_timeout, &*self.clock).await,
            );
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| LlmError::Connect { url, source })?;
        let page: ModelsPage = serde_json::from_slice(&body).map_err(|e| LlmError::Malformed {
            what: "model list",
            detail: e.to_string(),
        })?;
        Ok(page.data.into_iter().map(|m| m.into_info()).collect())
    }
}

fn auth_headers(key: Option<&ApiKey>) -> Result<HeaderMap, LlmError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                LlmError::Malformed {
                    what: "API key",
                    detail: "it contains characters that cannot be sent in a header".into(),
                }
            })?;
        value.set_sensitive(true);
        headers.insert("authorization", value);
    }
    Ok(headers)
}

impl Provider for OpenAiClient {
    fn stream(&self, key: Option<&ApiKey>, request: &CompletionRequest) -> CompletionStream {
        let start = || -> Result<CompletionStream, LlmError> {
            let body = http::encode_body(&wire::chat_request(request))?;
            let headers = auth_headers(key)?;
            let client = self.clone();
            Ok(CompletionStream::reading(move |tx| {
                run_reply(client, headers, body, tx)
            }))
        };
        start().unwrap_or_else(CompletionStream::failed)
    }

    fn models(&self, key: Option<&ApiKey>) -> BoxFuture<'static, Result<Vec<ModelInfo>, LlmError>> {
        let client = self.clone();
        let key = key.cloned();
        Box::pin(async move { client.list_models(key.as_ref()).await })
    }
}

async fn run_reply(client: OpenAiClient, headers: HeaderMap, body: Bytes, tx: EventSender) {
    let clock = Arc::clone(&client.clock);
    let url = format!("{}/chat/completions", client.base_url);
    run_with_retries(client.retry, clock, tx.clone(), || {
        let request = client
            .http
            .post(&url)
            .headers(headers.clone())
            .header("content-type", "application/json")
            .body(body.clone());
        let (client, url, tx) = (&client, &url, &tx);
        async move {
            match open_stream(request, url, client.idle_timeout, &*client.clock).await {
                Ok((response, request_id)) => {
                    let mut parser = ChatStreamParser::new(request_id);
                    read_body(response, &mut parser, client.idle_timeout, tx).await
                }
                Err(error) => Attempt::failed(error),
            }
        }
    })
    .await;
}
