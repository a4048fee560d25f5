//! Sealing secrets at rest (bid contents and project seeds until close) with an AEAD
//! (ChaCha20-Poly1305). The key comes from `GONGYI__SEALING__KEY` or a file generated once under
//! `data_dir`, never from the database, so a database copy alone reveals nothing sealed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};

#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    pub fn new(key: &[u8]) -> anyhow::Result<Sealer> {
        if key.len() != 32 {
            anyhow::bail!("the sealing key must be 32 bytes");
        }
        let cipher = ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| anyhow::anyhow!("bad sealing key"))?;
        Ok(Sealer { cipher })
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
}
