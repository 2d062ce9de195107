//! A clock for retry tests: a fixed wall-clock time, and sleeps that return
//! at once and are recorded, so a test sees every wait the policy chose
//! without spending it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use kestrel_server::anthropic::AnthropicClient;
use kestrel_server::provider::retry::{Clock, RetryPolicy};

#[derive(Debug, Default)]
pub struct FakeClock {
    pub slept: Mutex<Vec<Duration>>,
}

/// The wall-clock time the fake clock reports.
pub fn fake_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        fake_now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.slept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        Box::pin(async {})
    }
}

impl FakeClock {
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

/// A client for `base_url` with exact (jitter-free) retry waits on a fake
/// clock.
pub fn client_with_fake_clock(base_url: &str) -> (AnthropicClient, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::default());
    let client = AnthropicClient::new(base_url)
        .unwrap()
        .with_retry(RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        })
        .with_clock(clock.clone());
    (client, clock)
}
