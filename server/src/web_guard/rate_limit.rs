//! A per-client limit on how often the chat endpoint may be called: a
//! token bucket per client IP address (`governor`'s GCRA), so one client
//! cannot spend the owner's provider quota or flood the backend. Behind a
//! reverse proxy every request comes from the proxy's address; the limit
//! is then per server.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Chat requests per client per minute, unless `kestrel serve` is told
/// otherwise.
pub const DEFAULT_CHAT_PER_MINUTE: u32 = 30;

/// The chat endpoint's limiter.
#[derive(Debug)]
pub struct ChatLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl ChatLimiter {
    /// Allows `per_minute` requests per client per minute, all of them in a
    /// burst if the client was idle.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when `client` may send now; otherwise how long to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        // Forget idle clients now and then, so the map stays small.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_budget_waits_and_others_do_not() {
        let limiter = ChatLimiter::per_minute(NonZeroU32::new(3).unwrap());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(limiter.check(b), Ok(()));
    }
}
