//! Ingest keys: the bearer secrets ad servers send. A key is shown once at
//! creation; only its SHA-256 is stored. A fast hash is right here (unlike
//! for passwords): keys carry 256 random bits, so there is nothing to guess.

use sha2::{Digest, Sha256};

/// Every key starts with this, so leaked keys are easy to recognise (secret
/// scanners) and a key is never mistaken for another credential.
pub const PREFIX: &str = "adp_";

/// The key text for 32 random bytes: `adp_` and 64 lowercase hex digits.
pub fn format_key(random: [u8; 32]) -> String {
    let mut s = String::with_capacity(PREFIX.len() + 64);
    s.push_str(PREFIX);
    for b in random {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `key` has the shape of an ingest key (checked before any lookup).
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| HEX.contains(&b)))
}

/// The stored form of a key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The first characters of a key, safe to show in listings.
pub fn display_prefix(key: &str) -> &str {
    key.get(..PREFIX.len() + 8).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_hex_and_recognised() {
        let k = format_key([0xab; 32]);
        assert_eq!(k.len(), 68);
        assert!(k.starts_with("adp_abab"));
        assert!(well_formed(&k));
        assert!(!well_formed("adp_xyz"));
        assert!(!well_formed(&k.to_uppercase()));
        assert!(!well_formed(&format!("x{k}")));
        assert_eq!(display_prefix(&k), "adp_abababab");
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256("abc")
        assert_eq!(hash("abc")[..4], [0xba, 0x78, 0x16, 0xbf],);
        assert_ne!(hash(&format_key([1; 32])), hash(&format_key([2; 32])));
    }
}
