//! Printer credentials at rest: sealed with the server's key (kept outside the database, see
//! `farmhand`'s `secret_key_file`), so a copy of the database alone reveals no API key.
//!
//! XChaCha20-Poly1305 with a random 24-byte nonce per value; the organization is bound in as
//! associated data, so a sealed value copied into another organization's row does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::OrgId;
use rand::RngCore;

/// Marks the format (algorithm and layout) of a sealed value.
const PREFIX: &str = "xc1:";
const NONCE_LEN: usize = 24;

/// Length of the server key, bytes.
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("a stored credential cannot be decrypted with this server's key")]
    CannotOpen,
}

/// Seals and opens credentials with the server key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(…)")
    }
}

/// Bound into what instances seal for each other, so it never opens as a credential.
const INSTANCES_DATA: &[u8] = b"farmhand request handed on between instances";

fn associated_data(org: OrgId) -> Vec<u8> {
    format!("farmhand printer credential, organization {}", org.get()).into_bytes()
}

impl Vault {
    pub fn new(key: &[u8; KEY_LEN]) -> Vault {
        Vault {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// A fresh random key.
    pub fn generate_key() -> [u8; KEY_LEN] {
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        key
    }

    /// The key as written in a key file (base64).
    pub fn key_text(key: &[u8; KEY_LEN]) -> String {
        base64::engine::general_purpose::STANDARD.encode(key)
    }

    /// Reads a key file's text.
    pub fn parse_key_text(text: &str) -> Result<[u8; KEY_LEN], String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "expected base64".to_string())?;
        bytes
            .try_into()
            .map_err(|_| format!("expected a {KEY_LEN}-byte key"))
    }

    pub fn seal(&self, org: OrgId, secret: &str) -> String {
        self.seal_with(&associated_data(org), secret)
    }

    pub fn open(&self, org: OrgId, sealed: &str) -> Result<String, VaultError> {
        self.open_with(&associated_data(org), sealed)
    }

    /// Seals what one instance tells another about a request it hands on (instances sharing a
    /// database share the key): only an instance can say it, and it opens nowhere else.
    pub fn seal_between_instances(&self, message: &str) -> String {
        self.seal_with(INSTANCES_DATA, message)
    }

    pub fn open_between_instances(&self, sealed: &str) -> Result<String, VaultError> {
        self.open_with(INSTANCES_DATA, sealed)
    }

    fn seal_with(&self, aad: &[u8], secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail; an empty result would not open.
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad,
                },
            )
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(bytes))
    }

    fn open_with(&self, aad: &[u8], sealed: &str) -> Result<String, VaultError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD_NO_PAD.decode(b64).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(VaultError::CannotOpen)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| VaultError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| VaultError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_organization() {
        let vault = Vault::new(&Vault::generate_key());
        let sealed = vault.seal(OrgId(1), "0123456789ABCDEF");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("0123456789ABCDEF"));
        assert_eq!(
            vault.open(OrgId(1), &sealed).as_deref(),
            Ok("0123456789ABCDEF")
        );
        // Random nonces: the same secret never seals the same way twice.
        assert_ne!(sealed, vault.seal(OrgId(1), "0123456789ABCDEF"));
        assert_eq!(vault.open(OrgId(2), &sealed), Err(VaultError::CannotOpen));
        // What instances seal for each other is not a credential, and the reverse.
        assert_eq!(
            vault.open_between_instances(&sealed),
            Err(VaultError::CannotOpen)
        );
        let between = vault.seal_between_instances("1796556360 192.0.2.7");
        assert_eq!(
            vault.open_between_instances(&between).as_deref(),
            Ok("1796556360 192.0.2.7")
        );
        assert_eq!(vault.open(OrgId(1), &between), Err(VaultError::CannotOpen));
        let other = Vault::new(&Vault::generate_key());
        assert_eq!(other.open(OrgId(1), &sealed), Err(VaultError::CannotOpen));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(vault.open(OrgId(1), &tampered), Err(VaultError::CannotOpen));
        assert_eq!(
            vault.open(OrgId(1), "plain-text"),
            Err(VaultError::CannotOpen)
        );
        assert_eq!(vault.open(OrgId(1), "xc1:"), Err(VaultError::CannotOpen));
    }

    #[test]
    fn key_text_round_trips() {
        let key = Vault::generate_key();
        let text = Vault::key_text(&key);
        assert_eq!(Vault::parse_key_text(&format!("{text}\n")), Ok(key));
        assert!(Vault::parse_key_text("c2hvcnQ=").is_err());
        assert!(Vault::parse_key_text("not base64!").is_err());
    }
}
