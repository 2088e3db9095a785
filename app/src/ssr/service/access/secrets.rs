//! Making and checking secrets: random session and token secrets (stored as SHA-256), argon2id
//! password hashes (hashed off the async workers), and a decoy hash for unknown usernames.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::model::{Password, Secret};

/// A fresh 256-bit secret, URL-safe.
pub(in crate::ssr::service) fn random_secret(prefix: &str) -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Secret::from(format!("{prefix}{text}"))
}

pub(in crate::ssr::service) fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

pub(super) async fn hash_password(password: Password) -> Result<String, AppError> {
    // argon2 is deliberately slow: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|err| {
        tracing::error!(error = %err, "password hashing failed");
        AppError::Internal
    })
}

pub(super) async fn verify_password(password: Password, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the username does not exist, so timing reveals nothing.
pub(super) fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(random_secret("").expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashes_are_stable() {
        let (a, b) = (random_secret("dt_"), random_secret("dt_"));
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("dt_"));
        assert_eq!(a.expose().len(), 3 + 43);
        assert_eq!(secret_hash(a.expose()), secret_hash(a.expose()));
        assert_eq!(secret_hash(a.expose()).len(), 64);
        assert_eq!(format!("{a:?}"), "Secret([REDACTED])");
    }
}
