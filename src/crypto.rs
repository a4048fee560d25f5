//! Sealing secrets at rest (bid contents and project seeds until close) with an AEAD
//! (ChaCha20-Poly1305). The key comes from `GONGYI__SEALING__KEY` or a file generated once under
//! `data_dir`, never from the database, so a database copy alone reveals nothing sealed.
//! Beside it, keyed hashes (HMAC-SHA-256 under a key derived from the sealing key) stand in for
//! a sealed value where the database must compare it (a unique index, a lookup).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// The keyed hashes' key: derived, so the AEAD key is never used for a second purpose.
    mac_key: [u8; 32],
}

impl Sealer {
    pub fn new(key: &[u8]) -> anyhow::Result<Sealer> {
        if key.len() != 32 {
            anyhow::bail!("the sealing key must be 32 bytes");
        }
        let cipher = ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| anyhow::anyhow!("bad sealing key"))?;
        let mut d = Sha256::new();
        d.update(b"gongyi keyed-hash v1\0");
        d.update(key);
        Ok(Sealer {
            cipher,
            mac_key: d.finalize().into(),
        })
    }

    /// A keyed hash of `parts` under `context`, as lowercase hex: equal inputs give equal
    /// hashes (so the database can index them), and without the key nobody can tell which
    /// inputs gave one, even by trying every organization and project.
    pub fn keyed_hash(&self, context: &str, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC takes a key of any length");
        mac.update(context.as_bytes());
        for p in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Seals `plain`, bound to `context` (e.g. the row id) so a sealed value cannot be moved
    /// to another row. Output: base64 of nonce ‖ ciphertext.
    pub fn seal(&self, context: &str, plain: &[u8]) -> String {
        let nonce: [u8; 12] = rand::random();
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn open(&self, context: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = STANDARD.decode(sealed)?;
        if bytes.len() < 12 {
            anyhow::bail!("sealed value too short");
        }
        let (nonce, ct) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into()?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealed value does not open with this key and context"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let s = Sealer::new(&[7u8; 32]).unwrap();
        let sealed = s.seal("project-1", b"secret seed");
        assert!(!sealed.contains("secret"));
        assert_eq!(s.open("project-1", &sealed).unwrap(), b"secret seed");
        assert!(s.open("project-2", &sealed).is_err());
        assert!(Sealer::new(&[8u8; 32])
            .unwrap()
            .open("project-1", &sealed)
            .is_err());
    }

    #[test]
    fn keyed_hashes_are_stable_per_key_and_separate_their_parts() {
        let s = Sealer::new(&[7u8; 32]).unwrap();
        let h = s.keyed_hash("bidder", &["org", "project"]);
        assert_eq!(h, s.keyed_hash("bidder", &["org", "project"]));
        assert_eq!(h.len(), 64);
        assert_ne!(h, s.keyed_hash("bidder", &["orgp", "roject"]));
        assert_ne!(h, s.keyed_hash("other", &["org", "project"]));
        let t = Sealer::new(&[8u8; 32]).unwrap();
        assert_ne!(h, t.keyed_hash("bidder", &["org", "project"]));
    }
}
