//! A short-lived memo of authenticated sessions and their users, so a burst of requests with
//! one token costs one database read (is the session signed in, who is its user) instead of
//! one each.
//!
//! Every change to a user made through this process (`PATCH /users/{id}`) and every logout
//! forgets the entries at once, so a deactivation, a role change or a sign-out takes effect on
//! the next request here. Another process serving the same database notices within
//! `auth.user_cache_ms` (0 turns the memo off): the staleness accepted for a second replica,
//! the price of not reading the database on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AuthUser;

/// Beyond this many remembered users the memo starts over rather than grow.
const MAX_ENTRIES: usize = 10_000;

pub struct UserCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Session id → when it was read signed in, and its user.
    entries: HashMap<String, (Instant, AuthUser)>,
    /// When a user was last forgotten: a read begun before then may carry what the change
    /// replaced, so it is not remembered.
    forgot_at: Option<Instant>,
}

impl UserCache {
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user of session `sid`, if read signed in less than the TTL ago.
    pub fn get(&self, sid: &str, now: Instant) -> Option<AuthUser> {
        if self.ttl.is_zero() {
            return None;
        }
        self.lock()
            .entries
            .get(sid)
            .filter(|(at, _)| now.duration_since(*at) < self.ttl)
            .map(|(_, user)| user.clone())
    }

    /// Remembers session `sid` of `user` as read signed in at `at` (taken before the read, so
    /// the entry never outlives the TTL counted from what the database said).
    pub fn put(&self, sid: &str, user: &AuthUser, at: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.forgot_at.is_some_and(|forgot| at <= forgot) {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner
                .entries
                .retain(|_, (seen, _)| at.duration_since(*seen) < self.ttl);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(sid.to_owned(), (at, user.clone()));
    }

    /// Drops what is remembered of user `id`'s sessions, after a change to the user has
    /// committed: its next request reads the database, and reads already under way are not
    /// remembered.
    pub fn forget(&self, id: &str) {
        let mut inner = self.lock();
        inner.entries.retain(|_, (_, user)| user.id != id);
        inner.forgot_at = Some(Instant::now());
    }

    /// Drops session `sid`, after its logout has committed.
    pub fn forget_session(&self, sid: &str) {
        let mut inner = self.lock();
        inner.entries.remove(sid);
        inner.forgot_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn user(id: &str) -> AuthUser {
        AuthUser {
            id: id.into(),
            email: format!("{id}@example.cn"),
            name: id.into(),
            role: Role::Bureau,
            region: None,
            organization_id: None,
        }
    }

    #[test]
    fn an_entry_lives_for_the_ttl_and_no_longer() {
        let cache = UserCache::new(Duration::from_millis(100));
        let t0 = Instant::now();
        cache.put("s1", &user("u1"), t0);
        assert_eq!(cache.get("s1", t0).map(|u| u.id), Some("u1".into()));
        assert!(cache.get("s1", t0 + Duration::from_millis(99)).is_some());
        assert!(cache.get("s1", t0 + Duration::from_millis(100)).is_none());
        assert!(cache.get("s2", t0).is_none());
    }

    #[test]
    fn forget_drops_the_entry_and_a_zero_ttl_remembers_nothing() {
        let cache = UserCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        cache.put("s1", &user("u1"), t0);
        cache.put("s2", &user("u1"), t0);
        cache.put("s3", &user("u2"), t0);
        cache.forget("u1");
        assert!(cache.get("s1", t0).is_none() && cache.get("s2", t0).is_none());
        assert!(cache.get("s3", t0).is_some());
        // A read that began before the change must not put the old user back.
        cache.put("s1", &user("u1"), t0);
        assert!(cache.get("s1", t0).is_none());
        let later = Instant::now() + Duration::from_millis(1);
        cache.put("s1", &user("u1"), later);
        assert!(cache.get("s1", later).is_some());
        cache.forget_session("s1");
        assert!(cache.get("s1", later).is_none());

        let off = UserCache::new(Duration::ZERO);
        off.put("s1", &user("u1"), t0);
        assert!(off.get("s1", t0).is_none());
    }

    #[test]
    fn the_memo_stays_bounded() {
        let cache = UserCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..(MAX_ENTRIES + 5) {
            cache.put(&format!("s{i}"), &user(&format!("u{i}")), t0);
        }
        assert!(cache.lock().entries.len() <= MAX_ENTRIES);
    }
}
