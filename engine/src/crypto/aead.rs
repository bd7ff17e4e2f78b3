//! XChaCha20-Poly1305 with random 24-byte nonces.
//!
//! Sealed layout: `nonce (24) || ciphertext || tag (16)`.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// Nonce length in bytes.
pub const NONCE_LEN: usize = 24;
/// Authentication tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed message adds to its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// Encrypts `plaintext` under `key`, binding `aad`. Returns the sealed bytes.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
    seal_into(key, aad, &[plaintext], &mut out);
    out
}

/// Seals the concatenation of `parts`, copying each byte once.
pub fn seal_parts(key: &[u8; 32], aad: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + SEAL_OVERHEAD);
    seal_into(key, aad, parts, &mut out);
    out
}

/// Appends the sealed form of the concatenated `parts` to `out`.
fn seal_into(key: &[u8; 32], aad: &[u8], parts: &[&[u8]], out: &mut Vec<u8>) {
    let nonce: [u8; NONCE_LEN] = crate::id::random_bytes();
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    out.extend_from_slice(&nonce);
    let start = out.len();
    for p in parts {
        out.extend_from_slice(p);
    }
    let tag = cipher
        .encrypt_inout_detached(&XNonce::from(nonce), aad, (&mut out[start..]).into())
        // Only fails for messages beyond 256 GiB, far above any blob limit.
        .unwrap_or_default();
    out.extend_from_slice(tag.as_slice());
}

/// Decrypts sealed bytes. `None` means authentication failed (wrong key,
/// tampered bytes, wrong AAD or truncation).
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEAL_OVERHEAD {
        return None;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let tag: [u8; TAG_LEN] = tag.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    let mut plain = body.to_vec();
    cipher
        .decrypt_inout_detached(
            &XNonce::from(nonce),
            aad,
            plain.as_mut_slice().into(),
            &tag.into(),
        )
        .ok()?;
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(key in any::<[u8; 32]>(), aad in any::<Vec<u8>>(), msg in any::<Vec<u8>>()) {
            let sealed = seal(&key, &aad, &msg);
            prop_assert_eq!(sealed.len(), msg.len() + SEAL_OVERHEAD);
            prop_assert_eq!(open(&key, &aad, &sealed), Some(msg));
        }

        #[test]
        fn any_flipped_bit_is_rejected(msg in any::<Vec<u8>>(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let key = [7u8; 32];
            let mut sealed = seal(&key, b"aad", &msg);
            let i = pos.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert_eq!(open(&key, b"aad", &sealed), None);
        }
    }

    #[test]
    fn wrong_key_and_wrong_aad_fail() {
        let sealed = seal(&[1; 32], b"a", b"hello");
        assert!(open(&[2; 32], b"a", &sealed).is_none());
        assert!(open(&[1; 32], b"b", &sealed).is_none());
        assert!(open(&[1; 32], b"a", &sealed[..sealed.len() - 1]).is_none());
        assert!(open(&[1; 32], b"a", &sealed[..10]).is_none());
    }
}
