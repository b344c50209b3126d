//! Secrets at rest (webhook secrets now; tokens, passwords and keys of repositories later):
//! sealed with XChaCha20-Poly1305 under a key that is never in the database — from
//! `UPKEEP_SECRET_KEY` (base64 of 32 bytes) or the file `secret.key` in the data directory,
//! created with mode 0600 on first start. A database dump alone reveals none of them.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The file of the key in the data directory.
pub const KEY_FILE: &str = "secret.key";
const NONCE_BYTES: usize = 24;

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// Keys for other purposes are derived from the same key (see [`Sealer::derive_key`]).
    derivation: Hmac<Sha256>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot read or create the secret key {}: {source}", path.display())]
    KeyFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the secret key {} can be read by others (mode {mode:o}); it must be 0600", path.display())]
    KeyTooOpen { path: std::path::PathBuf, mode: u32 },
    #[error("the secret key must be 32 bytes (base64 in UPKEEP_SECRET_KEY, raw in secret.key)")]
    KeyLength,
    #[error("cannot make a random nonce: {0}")]
    Random(String),
    #[error("a sealed secret could not be opened: it is damaged or was sealed with another key")]
    Open,
}

impl Sealer {
    /// The key from `UPKEEP_SECRET_KEY`, else from the data directory's key file (made when
    /// missing).
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SealError> {
        if let Ok(encoded) = std::env::var("UPKEEP_SECRET_KEY") {
            let key = STANDARD
                .decode(encoded.trim())
                .map_err(|_| SealError::KeyLength)?;
            return Self::from_key(&key);
        }
        let path = data_dir.join(KEY_FILE);
        let failed = |source| SealError::KeyFile {
            path: path.clone(),
            source,
        };
        match fs_err::metadata(&path) {
            Ok(metadata) => {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(SealError::KeyTooOpen { path, mode });
                }
                Self::from_key(&fs_err::read(&path).map_err(failed)?)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|error| SealError::Random(error.to_string()))?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(failed)?;
                file.write_all(&key).map_err(failed)?;
                file.sync_all().map_err(failed)?;
                Self::from_key(&key)
            }
            Err(error) => Err(failed(error)),
        }
    }

    fn from_key(key: &[u8]) -> Result<Self, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| SealError::KeyLength)?;
        let derivation =
            <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| SealError::KeyLength)?;
        Ok(Self { cipher, derivation })
    }

    /// A key for `purpose` (e.g. signing public badge links), HMAC-SHA256 of the purpose under
    /// the sealing key: stored nowhere, the same after a restart, and never the sealing key
    /// itself, so what it signs cannot open a sealed secret.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.derivation.clone();
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `base64(nonce ‖ ciphertext)`.
    pub fn seal(&self, plaintext: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|error| SealError::Random(error.to_string()))?;
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| SealError::Open)?;
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext);
        Ok(STANDARD.encode(sealed))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plaintext = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plaintext).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sealer = Sealer::load_or_create(dir.path()).expect("key");
        let mode = fs_err::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let boxed = sealer.seal("webhook-secret").expect("seal");
        assert!(!boxed.contains("webhook-secret"));
        assert_ne!(boxed, sealer.seal("webhook-secret").expect("seal"));
        assert_eq!(sealer.open(&boxed).expect("open"), "webhook-secret");
        // The same key is read back on the next start.
        let again = Sealer::load_or_create(dir.path()).expect("key");
        assert_eq!(again.open(&boxed).expect("open"), "webhook-secret");
        // Another key cannot open it; damage is detected.
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = Sealer::load_or_create(other.path()).expect("key");
        assert!(stranger.open(&boxed).is_err());
        assert!(sealer.open("AAAA").is_err());
        // Derived keys differ by purpose and by sealing key, and stay across a restart.
        let badges = sealer.derive_key("badges");
        assert_eq!(badges, again.derive_key("badges"));
        assert_ne!(badges, sealer.derive_key("other"));
        assert_ne!(badges, stranger.derive_key("badges"));
        // A key file others can read is refused.
        fs_err::set_permissions(
            dir.path().join(KEY_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        assert!(matches!(
            Sealer::load_or_create(dir.path()),
            Err(SealError::KeyTooOpen { .. })
        ));
    }
}
