//! "Check key": the cheapest authenticated call the Messages API offers,
//! `GET /v1/models?limit=1`, which costs no tokens. Its answer says only
//! whether the key was accepted.

use std::time::Duration;

use super::{API_VERSION, AnthropicClient, auth_headers};
use crate::llm::LlmError;
use crate::provider::http;
use crate::secrets::ApiKey;

/// A check that takes longer than this has failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

impl AnthropicClient {
    /// Makes one authenticated request with `key`. `Ok(())` when the API
    /// accepted it; an HTTP 401/403 comes back as [`LlmError::Status`].
    pub async fn check_key(&self, key: &ApiKey) -> Result<(), LlmError> {
        let url = format!("{}/v1/models?limit=1", self.base_url);
        let response = self
            .http
            .get(&url)
            .headers(auth_headers(key)?)
            .header("anthropic-version", API_VERSION)
            .timeout(CHECK_TIMEOUT)
            .send()
            .await
            .map_err(|source| LlmError::Connect {
                url: url.clone(),
                source,
            })?;
        if response.status().is_success() {
            return Ok(());
        }
        let request_id = http::request_id(response.headers());
        Err(http::status_error(response, request_id, CHECK_TIMEOUT, &*self.clock).await)
    }
}
