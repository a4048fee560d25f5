//! Access tokens: HS256 JWTs with iss, aud, exp, nbf, iat, sub, role, sid and a `kid` header,
//! validated with the algorithm pinned and every claim required. Time claims are checked
//! against wall time (`Clock::wall`, which a sandbox clock move leaves alone), with a small
//! leeway.
//! Refresh tokens are opaque random strings; only their SHA-256 is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Role;
use crate::config::AuthSettings;
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub role: String,
    /// The session (refresh-token family) the token was issued for: signing out or a reuse of
    /// a rotated refresh token revokes the family, and with it every access token of it.
    pub sid: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    issuer: String,
    audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    leeway_secs: i64,
}

fn invalid() -> AppError {
    AppError::invalid_token("the access token is missing, malformed, expired or not ours")
}

impl TokenKeys {
    pub fn new(secret: &[u8], s: &AuthSettings) -> TokenKeys {
        // The key id names the key without revealing it, so a rotated key is told apart.
        let kid = hex::encode(&Sha256::digest(secret)[..8]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid,
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            access_ttl_secs: s.access_ttl_secs,
            refresh_ttl_secs: s.refresh_ttl_secs,
            leeway_secs: s.leeway_secs,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(
        &self,
        user_id: &str,
        role: Role,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let iat = now.timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            role: role.as_str().to_owned(),
            sid: session_id.to_owned(),
            exp: iat + self.access_ttl_secs,
            nbf: iat,
            iat,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::internal(anyhow::anyhow!("jwt encode: {e}")))
    }

    /// Validates signature, algorithm, kid, iss, aud and the time claims against `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AppError> {
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(invalid());
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        // exp and nbf are checked below against the time given (the wall clock, `Clock::wall`).
        v.validate_exp = false;
        v.validate_nbf = false;
        let data = decode::<Claims>(token, &self.decoding, &v).map_err(|_| invalid())?;
        let c = data.claims;
        let t = now.timestamp();
        if c.exp + self.leeway_secs <= t
            || c.nbf - self.leeway_secs > t
            || c.iat - self.leeway_secs > t
        {
            return Err(invalid());
        }
        Ok(c)
    }
}

/// A new opaque refresh token (256 random bits).
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token.
pub fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
