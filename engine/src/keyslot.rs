//! Key slots: each wraps the master secret under one user secret.
//!
//! File `keys/<random id>`: envelope header (kind `K`, version 3) followed by
//! the postcard-encoded [`KeySlot`] in clear and a checksum. Only `wrapped`
//! is secret: the master secret sealed under the slot's key-encryption key.
//! Since version 3 its AAD covers every other field of the slot, so the
//! clear fields (the `append_only` flag above all) cannot be changed
//! without the slot failing to open.

use crate::crypto::{self, Argon2Params, Kdf, MasterSecret};
use crate::envelope::{self, EnvelopeKind};
use crate::error::{Error, Result};
use crate::id::random_bytes;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Version of the key slot file (2 added the trailing checksum, 3 binds
/// every clear field into the AAD of `wrapped`).
pub const KEY_VERSION: u32 = 3;

/// Length of the unkeyed BLAKE3 checksum that ends a version-2 slot file.
const CHECKSUM_LEN: usize = 32;

/// Where a slot's secret comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotKind {
    /// A passphrase typed or read from a file.
    Passphrase,
    /// A 32-byte random key file.
    KeyFile,
    /// The standard output of a command (a KMS or password-manager hook).
    Command,
}

/// One key slot as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlot {
    /// Where its secret comes from.
    pub kind: SlotKind,
    /// How the secret becomes the key-encryption key.
    pub kdf: Kdf,
    /// The sealed master secret.
    pub wrapped: Vec<u8>,
    /// Creation time, Unix nanoseconds.
    pub created_ns: i64,
    /// Host that created it.
    pub host: String,
    /// Free-form label.
    pub label: String,
    /// Sessions opened with this slot may not delete anything (forget,
    /// prune, key removal).
    pub append_only: bool,
    /// File version it was read from (not stored in the body): from 3 on,
    /// the clear fields are authenticated.
    #[serde(skip)]
    pub version: u32,
}

/// A secret offered to open a repository or to create a slot.
#[derive(Clone)]
pub enum Secret {
    /// A passphrase.
    Passphrase(Vec<u8>),
    /// The 32 bytes of a key file.
    KeyFile([u8; 32]),
    /// A command's output.
    Command(Vec<u8>),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self {
            Secret::Passphrase(_) => "Passphrase",
            Secret::KeyFile(_) => "KeyFile",
            Secret::Command(_) => "Command",
        };
        write!(f, "Secret::{k}(..)")
    }
}

const KEY_FILE_PREFIX: &str = "cairn-key-v1:";

impl Secret {
    /// A passphrase.
    pub fn passphrase(p: impl AsRef<[u8]>) -> Self {
        Secret::Passphrase(p.as_ref().to_vec())
    }

    /// Reads a key file written by [`Secret::generate_key_file`].
    pub fn from_key_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let hexpart = text
            .trim()
            .strip_prefix(KEY_FILE_PREFIX)
            .ok_or_else(|| Error::invalid(format!("{} is not a cairn key file", path.display())))?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(hexpart, &mut key)
            .map_err(|_| Error::invalid(format!("{} is not a cairn key file", path.display())))?;
        Ok(Secret::KeyFile(key))
    }

    /// Creates a new random key file with mode 0600. Refuses to overwrite.
    pub fn generate_key_file(path: &Path) -> Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let key: [u8; 32] = random_bytes();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        writeln!(f, "{KEY_FILE_PREFIX}{}", hex::encode(key))
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))?;
        Ok(Secret::KeyFile(key))
    }

    /// Runs a command (no shell) and uses its stdout, without the trailing
    /// newline, as the secret. A failing command is an error with its stderr.
    pub fn from_command(argv: &[String]) -> Result<Self> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| Error::invalid("empty key command"))?;
        let out = std::process::Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::Source {
                name: format!("key command {prog}"),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(Error::Source {
                name: format!("key command {prog}"),
                detail: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        let mut s = out.stdout;
        while s.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            s.pop();
        }
        if s.is_empty() {
            return Err(Error::invalid(format!(
                "key command {prog} printed nothing"
            )));
        }
        Ok(Secret::Command(s))
    }

    fn kind(&self) -> SlotKind {
        match self {
            Secret::Passphrase(_) => SlotKind::Passphrase,
            Secret::KeyFile(_) => SlotKind::KeyFile,
            Secret::Command(_) => SlotKind::Command,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Secret::Passphrase(b) | Secret::Command(b) => b,
            Secret::KeyFile(k) => k,
        }
    }

    /// Could this secret open a slot of `kind`? Passphrases and command
    /// outputs are interchangeable (both go through argon2id).
    pub(crate) fn fits(&self, kind: SlotKind) -> bool {
        match self {
            Secret::KeyFile(_) => kind == SlotKind::KeyFile,
            _ => kind != SlotKind::KeyFile,
        }
    }
}

/// AAD of `wrapped` in slot files of versions 1 and 2: the slot kind only.
fn legacy_aad(kind: SlotKind) -> Vec<u8> {
    let mut aad = envelope::header(EnvelopeKind::Key, 1).to_vec();
    aad.extend_from_slice(b"cairn-key-slot");
    aad.push(kind as u8);
    aad
}

impl KeySlot {
    /// AAD of `wrapped`: from version 3, the header and every clear field
    /// (the slot's encoding with `wrapped` empty).
    pub fn aad(&self) -> Vec<u8> {
        if self.version < 3 {
            return legacy_aad(self.kind);
        }
        let mut aad = envelope::header(EnvelopeKind::Key, self.version).to_vec();
        aad.extend_from_slice(b"cairn-key-slot-v3");
        let bound = KeySlot {
            wrapped: Vec::new(),
            ..self.clone()
        };
        aad.extend_from_slice(&envelope::encode(&bound));
        aad
    }

    /// True when the clear fields (kind, KDF, times, labels, the
    /// append-only flag) are authenticated by the wrapping (version 3).
    pub fn fields_authenticated(&self) -> bool {
        self.version >= 3
    }
}

impl KeySlot {
    /// Wraps `master` under `secret`. With `append_only`, sessions opened
    /// with the slot may not delete anything.
    pub fn create(
        master: &MasterSecret,
        secret: &Secret,
        argon: Argon2Params,
        label: &str,
        append_only: bool,
    ) -> Result<Self> {
        let kind = secret.kind();
        let kdf = match secret {
            Secret::KeyFile(_) => Kdf::Blake3 {
                salt: random_bytes(),
            },
            _ => Kdf::Argon2id {
                params: argon,
                salt: random_bytes(),
            },
        };
        let kek = kdf.derive(secret.bytes())?;
        let mut slot = KeySlot {
            kind,
            kdf,
            wrapped: Vec::new(),
            created_ns: crate::snapshot::now_ns(),
            host: crate::snapshot::hostname(),
            label: label.to_string(),
            append_only,
            version: KEY_VERSION,
        };
        slot.wrapped = crypto::seal(&kek, &slot.aad(), &master.0);
        Ok(slot)
    }

    /// Unwraps the master secret, or `None` if the secret does not fit (or
    /// a clear field of a version-3 slot was altered).
    pub fn unwrap_master(&self, secret: &Secret) -> Result<Option<MasterSecret>> {
        if !secret.fits(self.kind) {
            return Ok(None);
        }
        let kek = self.kdf.derive(secret.bytes())?;
        Ok(crypto::open(&kek, &self.aad(), &self.wrapped)
            .and_then(|m| <[u8; 32]>::try_from(m.as_slice()).ok())
            .map(MasterSecret))
    }

    /// Relative cost of trying this slot (Argon2 memory × passes; 0 for
    /// key-file slots), for trying cheap slots first.
    pub fn cost(&self) -> u64 {
        match &self.kdf {
            Kdf::Argon2id { params, .. } => {
                u64::from(params.m_cost_kib) * u64::from(params.t_cost.max(1))
            }
            Kdf::Blake3 { .. } => 0,
        }
    }

    /// True when opening this slot runs Argon2.
    pub fn is_stretched(&self) -> bool {
        matches!(self.kdf, Kdf::Argon2id { .. })
    }

    /// Serialised file bytes: header, clear body, and a checksum of both
    /// (so a damaged slot is told apart from a wrong secret). Always in the
    /// current version: a slot is never rewritten in an older one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = envelope::header(EnvelopeKind::Key, KEY_VERSION).to_vec();
        out.extend_from_slice(&envelope::encode(self));
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    /// Parses file bytes (version 1 has no checksum).
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self> {
        let body = envelope::check_header(EnvelopeKind::Key, KEY_VERSION, bytes, what)?;
        let version = u32::from(bytes[4]);
        if version == 1 {
            let mut slot: KeySlot = envelope::decode(body, what)?;
            slot.version = 1;
            return Ok(slot);
        }
        let split = bytes
            .len()
            .checked_sub(CHECKSUM_LEN)
            .filter(|s| *s >= envelope::HEADER_LEN)
            .ok_or_else(|| Error::corrupt(what, "shorter than its checksum (truncated)"))?;
        if blake3::hash(&bytes[..split]).as_bytes() != &bytes[split..] {
            return Err(Error::corrupt(
                what,
                "checksum mismatch (damaged or truncated)",
            ));
        }
        let mut slot: KeySlot = envelope::decode(&bytes[envelope::HEADER_LEN..split], what)?;
        slot.version = version;
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn codec_round_trip(pass in prop::collection::vec(any::<u8>(), 1..40), label in ".{0,20}") {
            let m = MasterSecret([4; 32]);
            let s = Secret::Passphrase(pass);
            let slot = KeySlot::create(&m, &s, Argon2Params::insecure_for_tests(), &label, false).expect("creates");
            let back = KeySlot::from_bytes(&slot.to_bytes(), "k").expect("parses");
            prop_assert_eq!(&back, &slot);
            prop_assert_eq!(back.unwrap_master(&s).expect("kdf").map(|m| m.0), Some([4; 32]));
        }
    }

    #[test]
    fn wrong_secret_gives_none() {
        let m = MasterSecret([4; 32]);
        let slot = KeySlot::create(
            &m,
            &Secret::passphrase("a"),
            Argon2Params::insecure_for_tests(),
            "",
            false,
        )
        .expect("creates");
        assert!(slot
            .unwrap_master(&Secret::passphrase("b"))
            .expect("kdf")
            .is_none());
        assert!(slot
            .unwrap_master(&Secret::KeyFile([0; 32]))
            .expect("kdf")
            .is_none());
    }

    #[test]
    fn clear_fields_cannot_be_changed_without_breaking_the_slot() {
        let m = MasterSecret([4; 32]);
        let s = Secret::passphrase("pw");
        let slot = KeySlot::create(&m, &s, Argon2Params::insecure_for_tests(), "ci", true)
            .expect("creates");
        assert!(slot.fields_authenticated());
        // A storage writer flips the flag and recomputes the checksum.
        let mut flipped = KeySlot::from_bytes(&slot.to_bytes(), "k").expect("parses");
        flipped.append_only = false;
        let flipped = KeySlot::from_bytes(&flipped.to_bytes(), "k").expect("parses");
        assert!(flipped.unwrap_master(&s).expect("kdf").is_none());
        let mut relabelled = slot.clone();
        relabelled.label = "admin".into();
        assert!(relabelled.unwrap_master(&s).expect("kdf").is_none());
        assert!(slot.unwrap_master(&s).expect("kdf").is_some());
    }

    /// A version-2 slot file (the layout before the clear fields were
    /// bound) still opens, and says its fields are not authenticated.
    #[test]
    fn version_2_slots_still_open() {
        let m = MasterSecret([6; 32]);
        let s = Secret::passphrase("old");
        let kdf = Kdf::Argon2id {
            params: Argon2Params::insecure_for_tests(),
            salt: [1; 16],
        };
        let kek = kdf.derive(b"old").expect("kdf");
        let slot = KeySlot {
            kind: SlotKind::Passphrase,
            kdf,
            wrapped: crypto::seal(&kek, &legacy_aad(SlotKind::Passphrase), &m.0),
            created_ns: 1,
            host: "h".into(),
            label: "l".into(),
            append_only: true,
            version: 2,
        };
        let mut file = envelope::header(EnvelopeKind::Key, 2).to_vec();
        file.extend_from_slice(&envelope::encode(&slot));
        let sum = blake3::hash(&file);
        file.extend_from_slice(sum.as_bytes());
        let back = KeySlot::from_bytes(&file, "v2").expect("parses");
        assert_eq!(back.version, 2);
        assert!(!back.fields_authenticated());
        assert!(back.append_only);
        let got = back.unwrap_master(&s).expect("kdf").expect("opens");
        assert_eq!(got.0, m.0);
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k");
        let s = Secret::generate_key_file(&p).expect("creates");
        assert!(Secret::generate_key_file(&p).is_err(), "never overwrites");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Secret::from_key_file(&p).expect("reads");
        assert_eq!(again.bytes(), s.bytes());
    }

    #[test]
    fn command_secret() {
        let s = Secret::from_command(&["echo".into(), "hunter2".into()]).expect("runs");
        assert_eq!(s.bytes(), b"hunter2");
        let err = Secret::from_command(&["false".into()]).expect_err("fails");
        assert!(matches!(err, Error::Source { .. }));
    }
}
