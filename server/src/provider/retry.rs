//! When to send a failed request again, and how long to wait first: the
//! official SDKs' policy, with the clock injectable so tests run without
//! real waiting.
//!
//! - `x-should-retry: true|false` wins when present; otherwise 408, 409,
//!   429, 5xx, connection failures and timeouts are retried
//!   ([`LlmError::is_retryable`]);
//! - at most [`RetryPolicy::max_retries`] times (2 by default);
//! - the wait is `retry-after-ms`, else `retry-after` (seconds or an HTTP
//!   date), when it is above 0 and at most 60 s; otherwise
//!   `min(0.5 s × 2ⁿ, 8 s)`, shortened by up to a quarter at random.
//!
//! Whether any of the reply has been shown (then nothing is retried) is the
//! caller's to know.

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use crate::llm::LlmError;

/// Time as the retry loop sees it.
pub trait Clock: Send + Sync + Debug {
    /// The wall-clock time, for `retry-after` HTTP dates.
    fn now(&self) -> SystemTime;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// The longest `retry-after` obeyed; longer (or zero) waits fall back
    /// to the backoff.
    pub max_retry_after: Duration,
    /// Whether to shorten backoff waits at random (off in tests that check
    /// exact waits).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether the attempt numbered `retries_so_far` (0 for the first
    /// failure) may be followed by another after `error`.
    pub fn should_retry(&self, error: &LlmError, retries_so_far: u32) -> bool {
        retries_so_far < self.max_retries && error.is_retryable()
    }

    /// The wait before retry number `retries_so_far + 1`.
    pub fn delay(&self, error: &LlmError, retries_so_far: u32) -> Duration {
        if let Some(wait) = error.retry_after()
            && !wait.is_zero()
            && wait <= self.max_retry_after
        {
            return wait;
        }
        let factor = 2u32.saturating_pow(retries_so_far.min(30));
        let backoff = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        if self.jitter {
            backoff.mul_f64(1.0 - 0.25 * fastrand::f64())
        } else {
            backoff
        }
    }
}

/// Reads the provider's wait from response headers: `retry-after-ms`
/// (milliseconds, fractional allowed), else `retry-after` as seconds or as
/// an HTTP date relative to `now`.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `x-should-retry` header, when it is `true` or `false`.
pub fn should_retry_header(headers: &reqwest::header::HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn status(code: u16, should_retry: Option<bool>, retry_after: Option<Duration>) -> LlmError {
        LlmError::Status {
            status: code,
            error_type: String::new(),
            message: String::new(),
            request_id: None,
            retry_after_secs: None,
            retry_after,
            should_retry,
        }
    }

    #[test]
    fn statuses_that_are_retried() {
        let policy = RetryPolicy::default();
        for code in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(policy.should_retry(&status(code, None, None), 0), "{code}");
        }
        for code in [400, 401, 402, 403, 404, 413, 422] {
            assert!(!policy.should_retry(&status(code, None, None), 0), "{code}");
        }
        assert!(!policy.should_retry(&status(529, Some(false), None), 0));
        assert!(policy.should_retry(&status(400, Some(true), None), 0));
        assert!(!policy.should_retry(&status(529, None, None), 2));
        assert!(!RetryPolicy::never().should_retry(&status(529, None, None), 0));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens() {
        let exact = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        let error = status(529, None, None);
        let waits: Vec<u128> = (0..6).map(|n| exact.delay(&error, n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000]);
        let jittered = RetryPolicy::default();
        for n in 0..6 {
            let wait = jittered.delay(&error, n);
            let full = exact.delay(&error, n);
            assert!(
                wait <= full && wait >= full.mul_f64(0.75),
                "{wait:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_obeyed_only_between_zero_and_sixty_seconds() {
        let policy = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        let wait = |d| policy.delay(&status(429, None, Some(d)), 0);
        assert_eq!(
            wait(Duration::from_millis(1500)),
            Duration::from_millis(1500)
        );
        assert_eq!(wait(Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(wait(Duration::from_secs(61)), Duration::from_millis(500));
        assert_eq!(wait(Duration::ZERO), Duration::from_millis(500));
    }

    #[test]
    fn headers_are_read_like_the_sdks_read_them() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        headers.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
        headers.insert("retry-after-ms", HeaderValue::from_static("250.5"));
        assert_eq!(
            retry_after(&headers, now),
            Some(Duration::from_secs_f64(0.2505))
        );

        assert_eq!(should_retry_header(&headers), None);
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
        assert_eq!(should_retry_header(&headers), Some(false));
        headers.insert("x-should-retry", HeaderValue::from_static("true"));
        assert_eq!(should_retry_header(&headers), Some(true));
    }
}
