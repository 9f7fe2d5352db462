//! Password hashing with argon2id, off the async runtime.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

use crate::error::{AppError, AppResult};

/// Hashes and verifies passwords on the blocking pool: argon2 is deliberately slow.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified against when the account does not exist so
    /// that a wrong email and a wrong password take the same time.
    decoy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    pub fn standard() -> AppResult<PasswordHasher> {
        PasswordHasher::with_params(Params::new(19 * 1024, 2, 1, None)?)
    }

    /// Cheap parameters for tests only.
    pub fn fast_for_tests() -> AppResult<PasswordHasher> {
        PasswordHasher::with_params(Params::new(256, 1, 1, None)?)
    }

    fn with_params(params: Params) -> AppResult<PasswordHasher> {
        let decoy = hash_with(&params, &crate::identity::new_secret())?;
        Ok(PasswordHasher {
            params,
            decoy_hash: decoy.into(),
        })
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let params = self.params.clone();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_with(&params, &password))
            .await
            .map_err(AppError::internal)?
    }

    /// Verifies against `hash`, or against the decoy when there is no account.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let exists = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy_hash.to_string(), str::to_string);
        let password = password.to_string();
        let matched = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(crate_error)?;
            Ok::<_, AppError>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await
        .map_err(AppError::internal)??;
        Ok(exists && matched)
    }
}

fn hash_with(params: &Params, password: &str) -> AppResult<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(crate_error)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(crate_error)?
        .to_string())
}

fn crate_error(e: argon2::password_hash::Error) -> AppError {
    AppError::Internal(format!("password hashing: {e}").into())
}

impl From<argon2::Error> for AppError {
    fn from(e: argon2::Error) -> Self {
        AppError::Internal(format!("password hashing: {e}").into())
    }
}
