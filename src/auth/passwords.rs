//! argon2id password hashes (PHC strings). Hashing costs ~40 ms here: call it off the async
//! threads. Unknown accounts are checked against a dummy hash so they take as long as known ones.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::{AppError, FieldError};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Checks the length policy; the error names `field`.
pub fn check_policy(field: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(FieldError::new(
            field,
            format!("must be {MIN_LEN} to {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// Whether `password` matches the PHC string `hash`; a malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, for logins of unknown emails.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy-password-for-timing").unwrap_or_default());
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse battery!", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn policy_names_the_field() {
        assert_eq!(
            check_policy("account.password", "short").unwrap_err().field,
            "account.password"
        );
        assert!(check_policy("password", "long enough pw").is_ok());
    }
}
