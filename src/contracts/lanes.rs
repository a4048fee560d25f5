//! Which contract a tranche belongs to, remembered: a release is grouped in its contract's lane
//! (`db::group`), and asking the database first cost every release a round trip of its own.
//!
//! A tranche never moves to another contract, so an entry is never stale and nothing forgets
//! it; the memo only stays bounded. A tranche not found is not remembered (it may be created
//! later, and its release answers 404 anyway).

use std::collections::HashMap;
use std::sync::Mutex;

/// Beyond this many remembered tranches the memo starts over rather than grow.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct TrancheLanes {
    contract_of: Mutex<HashMap<String, String>>,
}

impl TrancheLanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.contract_of.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The contract of tranche `id`, if remembered.
    pub fn get(&self, id: &str) -> Option<String> {
        self.lock().get(id).cloned()
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
}
