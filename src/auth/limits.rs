//! Brute-force protection for login and refresh: a per-IP rate limit (429 with Retry-After)
//! and a per-account back-off that doubles the wait after each failure past a threshold.
//! Keys are emails as typed, known or not, so the back-off reveals nothing about existence.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthSettings;
use crate::error::AppError;

pub struct LoginLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    accounts: Mutex<HashMap<String, Backoff>>,
    after: u32,
    max: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Instant,
}

impl LoginLimits {
    pub fn new(s: &AuthSettings) -> LoginLimits {
        let per_minute = NonZeroU32::new(s.per_ip_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LoginLimits {
            per_ip: RateLimiter::keyed(Quota::per_minute(per_minute)),
            accounts: Mutex::new(HashMap::new()),
            after: s.lockout_after.max(1),
            max: Duration::from_secs(s.lockout_max_secs.max(1)),
        }
    }

    /// Counts one attempt from `ip`; 429 when the IP is over its quota.
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        let Some(ip) = ip else { return Ok(()) };
        self.per_ip.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(wait.as_secs() + 1)
        })
    }

    /// 429 while the account is in back-off.
    pub fn check_account(&self, email: &str) -> Result<(), AppError> {
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(email) {
            Some(b) if b.until > Instant::now() => Err(AppError::rate_limited(
                b.until.duration_since(Instant::now()).as_secs() + 1,
            )),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, email: &str) {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, b| b.until > now);
        }
        let entry = map.entry(email.to_owned()).or_insert(Backoff {
            failures: 0,
            until: now,
        });
        entry.failures += 1;
        if entry.failures >= self.after {
            let exp = (entry.failures - self.after).min(20);
            let wait = Duration::from_secs(1u64 << exp).min(self.max);
            entry.until = now + wait;
        }
    }

    pub fn record_success(&self, email: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn account_backs_off_after_the_threshold_and_success_resets_it() {
        let mut s = Settings::defaults().auth;
        s.lockout_after = 3;
        let l = LoginLimits::new(&s);
        for _ in 0..2 {
            l.record_failure("a@x");
            assert!(l.check_account("a@x").is_ok());
        }
        l.record_failure("a@x");
        let err = l.check_account("a@x").unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some());
        assert!(l.check_account("b@x").is_ok());
        l.record_success("a@x");
        assert!(l.check_account("a@x").is_ok());
    }

    #[test]
    fn ip_quota_answers_429_when_spent() {
        let mut s = Settings::defaults().auth;
        s.per_ip_per_minute = 2;
        let l = LoginLimits::new(&s);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check_ip(Some(ip)).is_ok());
        assert!(l.check_ip(Some(ip)).is_ok());
        assert_eq!(l.check_ip(Some(ip)).unwrap_err().code, "rate_limited");
    }
}
