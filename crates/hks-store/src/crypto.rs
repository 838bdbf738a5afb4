//! Secrets at rest: API tokens are stored as SHA-256 hashes (they are random
//! and high-entropy, so a fast hash suffices), cluster credentials are
//! encrypted with ChaCha20-Poly1305 under the installation's key.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Prefix of every tenant API token, so leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "hks_";

/// The key that encrypts cluster credentials.
pub struct EncryptionKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

impl EncryptionKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, StoreError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|_| StoreError::Random)?;
        Ok(Self(SecretBox::new(Box::new(k))))
    }

    /// A key from its base64 text (32 bytes).
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| StoreError::BadKey)?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| StoreError::BadKey)?;
        Ok(Self(SecretBox::new(Box::new(k))))
    }

    pub fn to_base64(&self) -> SecretString {
        base64::engine::general_purpose::STANDARD
            .encode(self.0.expose_secret())
            .into()
    }

    /// Encrypts `plain`, bound to `context` (the row's id) so a ciphertext
    /// cannot be moved to another row.
    pub(crate) fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.0.expose_secret()));
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| StoreError::Random)?;
        let mut out = nonce.to_vec();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto)?;
        out.extend(sealed);
        Ok(out)
    }

    pub(crate) fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 12 {
            return Err(StoreError::Crypto);
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.0.expose_secret()));
        let (nonce, body) = sealed.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto)
    }
}

/// The installation's keys: the current one seals, and opens first; the
/// previous ones (during a rotation) only open.
#[derive(Debug)]
pub struct KeyRing {
    current: EncryptionKey,
    previous: Vec<EncryptionKey>,
}

impl KeyRing {
    pub fn new(current: EncryptionKey, previous: Vec<EncryptionKey>) -> Self {
        Self { current, previous }
    }

    pub(crate) fn has_previous(&self) -> bool {
        !self.previous.is_empty()
    }

    pub(crate) fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.current.seal(context, plain)
    }

    /// Opens with the current key, else with a previous one.
    pub(crate) fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.open_which(context, sealed).map(|(plain, _)| plain)
    }

    /// [`KeyRing::open`], saying whether the current key opened it.
    pub(crate) fn open_which(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<(Vec<u8>, bool), StoreError> {
        if let Ok(plain) = self.current.open(context, sealed) {
            return Ok((plain, true));
        }
        self.previous
            .iter()
            .find_map(|k| k.open(context, sealed).ok())
            .map(|plain| (plain, false))
            .ok_or(StoreError::Crypto)
    }
}

/// A new API token: `hks_` and 32 random bytes in base64url.
pub fn new_token() -> Result<SecretString, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| StoreError::Random)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
    .into())
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random identifier of `bytes` bytes, as lowercase hex.
pub fn random_id(bytes: usize) -> Result<String, StoreError> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|_| StoreError::Random)?;
    Ok(hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_context() {
        let key = EncryptionKey::generate().unwrap();
        let sealed = key.seal("tenant-a", b"kubeconfig").unwrap();
        assert_eq!(key.open("tenant-a", &sealed).unwrap(), b"kubeconfig");
        assert!(key.open("tenant-b", &sealed).is_err());
        let other = EncryptionKey::generate().unwrap();
        assert!(other.open("tenant-a", &sealed).is_err());
        let again = EncryptionKey::from_base64(key.to_base64().expose_secret()).unwrap();
        assert_eq!(again.open("tenant-a", &sealed).unwrap(), b"kubeconfig");
    }

    #[test]
    fn tokens_are_prefixed_and_hashed() {
        let t = new_token().unwrap();
        assert!(t.expose_secret().starts_with("hks_"));
        assert_eq!(t.expose_secret().len(), 4 + 43);
        assert_eq!(token_hash("x").len(), 64);
    }
}
