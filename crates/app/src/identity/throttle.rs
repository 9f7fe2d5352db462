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

/// One key's recent failures, and until when its current throttling is already on record.
#[derive(Debug, Default)]
struct Failures {
    at: VecDeque<Timestamp>,
    noted_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<Key, Failures>>,
}

/// An attempt refused by the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
    /// The first refusal of this throttling: worth an audit event. Later refusals until it
    /// lifts are not, so a flood of attempts cannot flood the audit log.
    pub first: bool,
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

    /// `Some` if this attempt must be refused, with the seconds to wait.
    pub fn check(&self, email: &str, address: Option<&str>, now: Timestamp) -> Option<Throttled> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let window_start = now.plus_seconds(-self.policy.window_secs);
        let mut refused: Option<Throttled> = None;
        for (key, is_account) in SignInThrottle::keys(email, address) {
            let Some(entry) = failures.get_mut(&key) else {
                continue;
            };
            while entry.at.front().is_some_and(|t| *t <= window_start) {
                entry.at.pop_front();
            }
            if entry.at.len() >= self.limit(is_account)
                && let Some(oldest) = entry.at.front()
            {
                let lifts = oldest.plus_seconds(self.policy.window_secs);
                let secs = now.seconds_until(lifts).max(1).unsigned_abs();
                let first = entry.noted_until.is_none_or(|t| now >= t);
                if first {
                    entry.noted_until = Some(lifts);
                }
                refused = Some(Throttled {
                    retry_after_secs: refused.map_or(secs, |r| r.retry_after_secs.max(secs)),
                    first: first || refused.is_some_and(|r| r.first),
                });
            }
        }
        refused
    }

    /// `Some(seconds)` to wait if this attempt must be refused.
    pub fn retry_after(&self, email: &str, address: Option<&str>, now: Timestamp) -> Option<u64> {
        self.check(email, address, now).map(|t| t.retry_after_secs)
    }

    pub fn record_failure(&self, email: &str, address: Option<&str>, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > PRUNE_ABOVE {
            let window_start = now.plus_seconds(-self.policy.window_secs);
            failures.retain(|_, entry| entry.at.back().is_some_and(|t| *t > window_start));
        }
        for (key, _) in SignInThrottle::keys(email, address) {
            failures.entry(key).or_default().at.push_back(now);
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

    #[test]
    fn only_the_first_refusal_of_a_throttling_is_worth_noting() {
        let throttle = SignInThrottle::new(ThrottlePolicy {
            window_secs: 60,
            max_failures_per_account: 1,
            max_failures_per_address: 100,
        });
        let t0 = Timestamp::from_micros(0);
        throttle.record_failure("a@x", Some("1.1.1.1"), t0);
        let first = throttle.check("a@x", Some("1.1.1.1"), t0.plus_seconds(1));
        assert_eq!(
            first,
            Some(Throttled {
                retry_after_secs: 59,
                first: true
            })
        );
        for i in 2..60 {
            let later = throttle.check("a@x", Some("2.2.2.2"), t0.plus_seconds(i));
            assert_eq!(later.map(|t| t.first), Some(false), "second {i}");
        }
        assert_eq!(throttle.check("a@x", None, t0.plus_seconds(60)), None);
        // A new throttling is noted again.
        throttle.record_failure("a@x", None, t0.plus_seconds(61));
        assert_eq!(
            throttle
                .check("a@x", None, t0.plus_seconds(62))
                .map(|t| t.first),
            Some(true)
        );
    }
}
