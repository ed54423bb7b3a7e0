//! New secrets: token texts and password hashes, with randomness from the OS. The
//! formats and the hashing are `domain::authn::{secret, password}`; only the
//! randomness is drawn here.

use rand::rngs::OsRng;
use rand::RngCore;

use crate::domain::authn::password::{self, PasswordError};
use crate::domain::authn::secret;

/// A new token: `prefix` and 32 random bytes (see `domain::authn::secret`).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; secret::TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    secret::token_text(prefix, &bytes)
}

/// Checks the password policy, then hashes with a fresh random salt.
pub fn hash_new_password(pw: &str) -> Result<String, PasswordError> {
    password::check_password_policy(pw)?;
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    password::hash_password(pw, &salt)
}

/// A random key for keyed digests that must not be recomputable outside this process.
pub fn new_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_recognised() {
        let a = new_token(secret::ACCESS_TOKEN_PREFIX);
        let b = new_token(secret::ACCESS_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(secret::looks_like_access_token(&a));
    }

    #[test]
    fn new_passwords_follow_the_policy_and_verify() {
        assert!(hash_new_password("short").is_err());
        let phc = hash_new_password("long enough").unwrap();
        assert!(password::verify_password("long enough", &phc));
        assert_ne!(phc, hash_new_password("long enough").unwrap(), "salted");
    }
}
