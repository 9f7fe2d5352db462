//! Sign-in throttling: failures are counted per account and per client address in a sliding
//! window; past the limit, attempts are refused with the time until the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use domain::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub window_secs: i64,
    pub max_failures_per_account: usize,
    pub max_failures_per_address: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window_secs: 15 * 60,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
        }
    }
}

/// Keys are kept apart by kind so an email can never collide with an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(String),
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<Key, VecDeque<Timestamp>>>,
}

/// Bound on tracked keys: beyond it, keys whose failures have all aged out are dropped.
const PRUNE_ABOVE: usize = 10_000;

impl SignInThrottle {
    pub fn new(policy: ThrottlePolicy) -> SignInThrottle {
        SignInThrottle {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The keys an attempt counts against, each with whether it is the account's.
    fn keys(email: &str, address: Option<&str>) -> Vec<(Key, bool)> {
        let mut keys = vec![(Key::Account(email.to_string()), true)];
        if let Some(address) = address {
            keys.push((Key::Address(address.to_string()), false));
        }
        keys
    }

    fn limit(&self, is_account: bool) -> usize {
        if is_account {
            self.policy.max_failures_per_account
        } else {
            self.policy.max_failures_per_address
        }
    }

    /// `Some(seconds)` to wait if this attempt must be refused.
    pub fn retry_after(&self, email: &str, address: Option<&str>, now: Timestamp) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let window_start = now.plus_seconds(-self.policy.window_secs);
        let mut wait = None;
        for (key, is_account) in SignInThrottle::keys(email, address) {
            let Some(list) = failures.get_mut(&key) else {
                continue;
            };
            while list.front().is_some_and(|t| *t <= window_start) {
                list.pop_front();
            }
            if list.len() >= self.limit(is_account)
                && let Some(oldest) = list.front()
            {
                let secs = now
                    .seconds_until(oldest.plus_seconds(self.policy.window_secs))
                    .max(1) as u64;
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait
    }

    pub fn record_failure(&self, email: &str, address: Option<&str>, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > PRUNE_ABOVE {
            let window_start = now.plus_seconds(-self.policy.window_secs);
            failures.retain(|_, list| list.back().is_some_and(|t| *t > window_start));
        }
        for (key, _) in SignInThrottle::keys(email, address) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn record_success(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Key::Account(email.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_blocked_after_limit_and_released_after_window() {
        let throttle = SignInThrottle::new(ThrottlePolicy {
            window_secs: 60,
            max_failures_per_account: 3,
            max_failures_per_address: 100,
        });
        let t0 = Timestamp::from_micros(1_000_000_000);
        for i in 0..3 {
            assert_eq!(
                throttle.retry_after("a@x", Some("1.2.3.4"), t0.plus_seconds(i)),
                None
            );
            throttle.record_failure("a@x", Some("1.2.3.4"), t0.plus_seconds(i));
        }
        assert_eq!(
            throttle.retry_after("a@x", None, t0.plus_seconds(10)),
            Some(50)
        );
        assert_eq!(
            throttle.retry_after("b@x", Some("1.2.3.4"), t0.plus_seconds(10)),
            None
        );
        assert_eq!(throttle.retry_after("a@x", None, t0.plus_seconds(61)), None);
    }

    #[test]
    fn address_limit_spans_accounts() {
        let throttle = SignInThrottle::new(ThrottlePolicy {
            window_secs: 60,
            max_failures_per_account: 100,
            max_failures_per_address: 2,
        });
        let t0 = Timestamp::from_micros(0);
        throttle.record_failure("a@x", Some("9.9.9.9"), t0);
        throttle.record_failure("b@x", Some("9.9.9.9"), t0);
        assert!(throttle.retry_after("c@x", Some("9.9.9.9"), t0).is_some());
        assert!(throttle.retry_after("c@x", Some("8.8.8.8"), t0).is_none());
    }
}
