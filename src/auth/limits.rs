//! Brute-force protection for login and refresh: a per-IP rate limit (429 with Retry-After)
//! and a back-off per (account, client address) that doubles the wait after each failure past
//! a threshold. Someone who knows an email can only slow down the addresses they fail from: the
//! owner's right password from an address that has not failed is never refused. Past a much
//! higher per-account ceiling (failures summed over all addresses, a distributed guess) every
//! address that fails on the account backs off from its first failure.
//! Keys are emails as typed, known or not, so the back-off reveals nothing about existence.
//! IPv6 clients are keyed by their /64, the block one subscriber usually holds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthSettings;
use crate::error::AppError;

/// Beyond this many remembered keys a map drops the ones that no longer matter.
const MAX_ENTRIES: usize = 100_000;

pub struct LoginLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    inner: Mutex<Inner>,
    after: u32,
    ceiling: u32,
    max: Duration,
    trusted_proxies: Vec<IpAddr>,
}

#[derive(Default)]
struct Inner {
    /// (email, client block) → its back-off.
    pairs: HashMap<(String, IpAddr), Backoff>,
    /// email → failures over every address, forgotten `max` after the last one.
    accounts: HashMap<String, Backoff>,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Instant,
    last: Instant,
}

impl Backoff {
    fn new(now: Instant) -> Backoff {
        Backoff {
            failures: 0,
            until: now,
            last: now,
        }
    }
}

/// The key of a client address: itself for IPv4, its /64 for IPv6 (an IPv4-mapped IPv6
/// address is its IPv4 address).
fn block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Unknown client (no peer address, as in some test transports): one shared key.
const UNKNOWN: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl LoginLimits {
    pub fn new(s: &AuthSettings) -> LoginLimits {
        let per_minute = NonZeroU32::new(s.per_ip_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LoginLimits {
            per_ip: RateLimiter::keyed(Quota::per_minute(per_minute)),
            inner: Mutex::new(Inner::default()),
            after: s.lockout_after.max(1),
            ceiling: s.account_ceiling.max(1),
            max: Duration::from_secs(s.lockout_max_secs.max(1)),
            trusted_proxies: s.trusted_proxies.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The client's address: the peer, or when the peer is a trusted proxy the nearest address
    /// in `X-Forwarded-For` that is not one (a client can prepend anything to that header, so
    /// only what our own proxies appended is believed).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip())?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Some(ip),
                // Garbage where an address should be: stop at the last proxy we trust.
                Err(_) => break,
            }
        }
        Some(peer)
    }

    /// Counts one attempt from `ip`; 429 when the IP is over its quota.
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        let Some(ip) = ip else { return Ok(()) };
        self.per_ip.check_key(&block(ip)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(wait.as_secs() + 1)
        })
    }

    /// 429 while this account is in back-off for this client address.
    pub fn check_account(&self, email: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        let key = (email.to_owned(), ip.map(block).unwrap_or(UNKNOWN));
        let now = Instant::now();
        match self.lock().pairs.get(&key) {
            Some(b) if b.until > now => Err(AppError::rate_limited(
                b.until.duration_since(now).as_secs() + 1,
            )),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, email: &str, ip: Option<IpAddr>) {
        let mut inner = self.lock();
        let now = Instant::now();
        let max = self.max;
        let stale = |b: &Backoff| b.until <= now && now.duration_since(b.last) >= max;
        if inner.pairs.len() >= MAX_ENTRIES {
            inner.pairs.retain(|_, b| !stale(b));
        }
        if inner.accounts.len() >= MAX_ENTRIES {
            inner.accounts.retain(|_, b| !stale(b));
        }
        let account = inner
            .accounts
            .entry(email.to_owned())
            .or_insert_with(|| Backoff::new(now));
        if stale(account) {
            *account = Backoff::new(now);
        }
        account.failures = account.failures.saturating_add(1);
        account.last = now;
        let threshold = if account.failures >= self.ceiling {
            1
        } else {
            self.after
        };
        let key = (email.to_owned(), ip.map(block).unwrap_or(UNKNOWN));
        let pair = inner.pairs.entry(key).or_insert_with(|| Backoff::new(now));
        if stale(pair) {
            *pair = Backoff::new(now);
        }
        pair.failures = pair.failures.saturating_add(1);
        pair.last = now;
        if pair.failures >= threshold {
            let exp = (pair.failures - threshold).min(20);
            pair.until = now + Duration::from_secs(1u64 << exp).min(max);
        }
    }

    /// The right password from `ip`: that address starts afresh. The account's count stays,
    /// so the owner signing in does not reopen the account to a distributed guess.
    pub fn record_success(&self, email: &str, ip: Option<IpAddr>) {
        let key = (email.to_owned(), ip.map(block).unwrap_or(UNKNOWN));
        self.lock().pairs.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_backs_off_after_the_threshold_and_success_resets_it() {
        let mut s = Settings::defaults().auth;
        s.lockout_after = 3;
        let l = LoginLimits::new(&s);
        let a = ip("10.0.0.1");
        for _ in 0..2 {
            l.record_failure("a@x", a);
            assert!(l.check_account("a@x", a).is_ok());
        }
        l.record_failure("a@x", a);
        let err = l.check_account("a@x", a).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some());
        assert!(l.check_account("b@x", a).is_ok());
        // Another address is not refused for the failures of the first.
        assert!(l.check_account("a@x", ip("10.0.0.2")).is_ok());
        l.record_success("a@x", a);
        assert!(l.check_account("a@x", a).is_ok());
    }

    #[test]
    fn past_the_account_ceiling_a_failing_address_waits_at_once_and_a_clean_one_never() {
        let mut s = Settings::defaults().auth;
        s.lockout_after = 5;
        s.account_ceiling = 10;
        let l = LoginLimits::new(&s);
        for i in 0..10 {
            let a = ip(&format!("10.0.1.{i}"));
            l.record_failure("a@x", a);
        }
        // The tenth failure crossed the ceiling: its address waits after one failure.
        assert!(l.check_account("a@x", ip("10.0.1.9")).is_err());
        assert!(l.check_account("a@x", ip("10.0.1.0")).is_ok());
        l.record_failure("a@x", ip("10.0.1.0"));
        assert!(l.check_account("a@x", ip("10.0.1.0")).is_err());
        assert!(l.check_account("a@x", ip("192.0.2.7")).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key() {
        let mut s = Settings::defaults().auth;
        s.lockout_after = 1;
        let l = LoginLimits::new(&s);
        l.record_failure("a@x", ip("2001:db8:1:2::1"));
        assert!(l.check_account("a@x", ip("2001:db8:1:2::ffff")).is_err());
        assert!(l.check_account("a@x", ip("2001:db8:1:3::1")).is_ok());
        assert_eq!(
            block("::ffff:10.0.0.1".parse().unwrap()),
            ip("10.0.0.1").unwrap()
        );
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

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        use actix_web::test::TestRequest;
        let mut s = Settings::defaults().auth;
        s.trusted_proxies = vec!["10.9.9.9".parse().unwrap()];
        let l = LoginLimits::new(&s);
        let from = |peer: &str, xff: &str| {
            let req = TestRequest::default()
                .peer_addr(peer.parse().unwrap())
                .insert_header(("X-Forwarded-For", xff))
                .to_http_request();
            l.client_ip(&req)
        };
        assert_eq!(from("10.9.9.9:1", "6.6.6.6, 1.2.3.4"), ip("1.2.3.4"));
        assert_eq!(from("10.9.9.9:1", "1.2.3.4, 10.9.9.9"), ip("1.2.3.4"));
        assert_eq!(from("10.9.9.9:1", "junk"), ip("10.9.9.9"));
        assert_eq!(from("5.5.5.5:1", "1.2.3.4"), ip("5.5.5.5"));
    }
}
