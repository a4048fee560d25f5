//! Which contract a tranche belongs to, remembered: a release is grouped in its contract's lane
//! (`db::group`), and asking the database first cost every release a round trip of its own.
//!
//! A tranche never moves to another contract, so an entry is never stale and nothing forgets
//! it; the memo only stays bounded. A tranche not found is not remembered (it may be created
//! later, and its release answers 404 anyway).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many remembered tranches the memo starts over rather than grow.
const MAX_ENTRIES: usize = 100_000;

/// The most releasable tranches one district's look-ahead remembers (`claim_district`).
pub const DISTRICT_AHEAD: i64 = 50_000;

/// How long after a district's look-ahead a miss in it is read alone rather than start another.
const AHEAD_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct TrancheLanes {
    contract_of: Mutex<HashMap<String, String>>,
    /// When each district's releasable tranches were last remembered at once.
    ahead: Mutex<HashMap<String, Instant>>,
}

impl TrancheLanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.contract_of.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The contract of tranche `id`, if remembered.
    pub fn get(&self, id: &str) -> Option<String> {
        self.lock().get(id).cloned()
    }

    /// Whether the caller should remember `district`'s releasable tranches at once now: a
    /// bureau pays in runs, so its first unknown tranche brings the others with it. True for one
    /// caller at a time and at most once per `AHEAD_EVERY` per district; the rest read alone.
    pub fn claim_district(&self, district: &str) -> bool {
        let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match ahead.get(district) {
            Some(at) if now.duration_since(*at) < AHEAD_EVERY => false,
            _ => {
                if ahead.len() >= 10_000 {
                    ahead.clear();
                }
                ahead.insert(district.to_owned(), now);
                true
            }
        }
    }

    /// Remembers that tranche `id` belongs to contract `contract_id`.
    pub fn put(&self, id: &str, contract_id: &str) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(id.to_owned(), contract_id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tranche_is_remembered_and_the_memo_stays_bounded() {
        let lanes = TrancheLanes::default();
        assert_eq!(lanes.get("t1"), None);
        lanes.put("t1", "c1");
        assert_eq!(lanes.get("t1").as_deref(), Some("c1"));
        for i in 0..(MAX_ENTRIES + 5) {
            lanes.put(&format!("t{i}"), "c");
        }
        assert!(lanes.lock().len() <= MAX_ENTRIES);
    }

    #[test]
    fn a_district_is_looked_ahead_once_in_a_while() {
        let lanes = TrancheLanes::default();
        assert!(lanes.claim_district("d1"));
        assert!(!lanes.claim_district("d1"), "not again right away");
        assert!(lanes.claim_district("d2"), "another district is its own");
        lanes
            .ahead
            .lock()
            .unwrap()
            .insert("d1".into(), Instant::now() - AHEAD_EVERY);
        assert!(lanes.claim_district("d1"), "again after a while");
    }
}
