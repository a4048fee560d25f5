//! The verifiable random draw of an expert panel. Anyone can recompute it from public data:
//!
//! 1. `receipts_root` = SHA-256 of the round's bid receipts (lowercase hex), sorted and
//!    concatenated as ASCII;
//! 2. the draw seed = SHA-256(server seed bytes ‖ receipts_root bytes), 32 bytes;
//! 3. the eligible expert ids, sorted as strings, are shuffled by Fisher–Yates from the last
//!    position down: for i = n−1 … 1, j = `next_u64()` mod (i + 1) from ChaCha20 (20 rounds,
//!    the draw seed as key, stream 0, `rand_chacha::ChaCha20Rng::from_seed`), swap i and j;
//! 4. the first N are members, the next are alternates, in that order.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// SHA-256 of the sorted receipts, concatenated.
pub fn receipts_root(receipts: &[String]) -> [u8; 32] {
    let mut sorted: Vec<&str> = receipts.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for r in sorted {
        h.update(r.as_bytes());
    }
    h.finalize().into()
}

pub fn draw_seed(server_seed: &[u8], root: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(server_seed);
    h.update(root);
    h.finalize().into()
}

/// The eligible ids in drawn order.
pub fn shuffle(eligible: &[String], seed: [u8; 32]) -> Vec<String> {
    let mut ids: Vec<String> = eligible.to_vec();
    ids.sort();
    let mut rng = ChaCha20Rng::from_seed(seed);
    for i in (1..ids.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    ids
}

/// A drawn panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    pub members: Vec<String>,
    pub alternates: Vec<String>,
    pub receipts_root: String,
}

/// Draws `size` members and up to `alternates` alternates; `None` when fewer than `size`
/// experts are eligible (never a smaller panel than the rule allows).
pub fn draw(
    server_seed: &[u8],
    receipts: &[String],
    eligible: &[String],
    size: usize,
    alternates: usize,
) -> Option<Draw> {
    if eligible.len() < size {
        return None;
    }
    let root = receipts_root(receipts);
    let order = shuffle(eligible, draw_seed(server_seed, &root));
    let members = order[..size].to_vec();
    let rest = order[size..].iter().take(alternates).cloned().collect();
    Some(Draw {
        members,
        alternates: rest,
        receipts_root: hex::encode(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("expert-{i:02}")).collect()
    }

    #[test]
    fn the_same_inputs_draw_the_same_panel() {
        let r = vec!["bb".to_string(), "aa".to_string()];
        let a = draw(&[1u8; 32], &r, &ids(12), 5, 3).unwrap();
        let mut shuffled = ids(12);
        shuffled.reverse();
        let r2 = vec!["aa".to_string(), "bb".to_string()];
        assert_eq!(
            draw(&[1u8; 32], &r2, &shuffled, 5, 3).unwrap(),
            a,
            "input order does not matter"
        );
        assert_eq!(a.members.len(), 5);
        assert_eq!(a.alternates.len(), 3);
        let all: std::collections::BTreeSet<_> = a.members.iter().chain(&a.alternates).collect();
        assert_eq!(all.len(), 8, "no one is drawn twice");
    }

    #[test]
    fn any_input_change_reshuffles() {
        let r = vec!["aa".to_string()];
        let base = shuffle(&ids(20), draw_seed(&[1u8; 32], &receipts_root(&r)));
        assert_ne!(
            base,
            shuffle(&ids(20), draw_seed(&[2u8; 32], &receipts_root(&r))),
            "another seed"
        );
        assert_ne!(
            base,
            shuffle(
                &ids(20),
                draw_seed(&[1u8; 32], &receipts_root(&["ab".to_string()]))
            ),
            "another receipt"
        );
        let mut more = ids(20);
        more.push("expert-99".into());
        assert_ne!(
            base,
            shuffle(&more, draw_seed(&[1u8; 32], &receipts_root(&r)))[..20].to_vec(),
            "another pool"
        );
    }

    #[test]
    fn too_few_experts_draw_nothing() {
        assert!(draw(&[0u8; 32], &[], &ids(4), 5, 2).is_none());
    }
}
