//! Stateless, expiring nonces for `digestAuth`: `hex(issued-at ‖ 8 random bytes ‖ tag)`, the
//! tag being the first 16 bytes of SHA-256(key ‖ issued-at ‖ random). The input to the hash
//! has a fixed length, so the keyed prefix hash cannot be extended into a forgery.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::htpasswd::ct_eq;

/// How long an issued nonce is accepted.
pub const NONCE_TTL: Duration = Duration::from_secs(300);

/// Clock skew tolerated for nonces that claim to come from the future (another node).
const SKEW: u64 = 60;

/// What a presented nonce is.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Not one of ours.
    Invalid,
    /// Ours, but expired.
    Stale,
    /// Ours and live.
    Fresh,
}

/// Issues and checks nonces under one key.
pub struct Nonces {
    key: [u8; 32],
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Nonces {
    /// Nonces signed with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn tag(&self, issued: u64, random: &[u8]) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(issued.to_be_bytes());
        h.update(random);
        let full: [u8; 32] = h.finalize().into();
        full[..16].try_into().expect("16 bytes")
    }

    /// A nonce issued now.
    pub fn issue(&self) -> String {
        self.issue_at(now())
    }

    /// A nonce issued at `issued` (seconds since the Unix epoch).
    pub fn issue_at(&self, issued: u64) -> String {
        let random: [u8; 8] = rand::random();
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(&issued.to_be_bytes());
        raw.extend_from_slice(&random);
        raw.extend_from_slice(&self.tag(issued, &random));
        hex::encode(raw)
    }

    /// Whether `nonce` is ours, and live at `now`.
    pub fn check(&self, nonce: &str, now: u64) -> NonceState {
        let Ok(raw) = hex::decode(nonce) else {
            return NonceState::Invalid;
        };
        if raw.len() != 32 {
            return NonceState::Invalid;
        }
        let issued = u64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
        if !ct_eq(&self.tag(issued, &raw[8..16]), &raw[16..]) {
            return NonceState::Invalid;
        }
        if issued > now + SKEW || now.saturating_sub(issued) > NONCE_TTL.as_secs() {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_expire_and_forgeries_are_invalid() {
        let nonces = Nonces::new([7; 32]);
        let t = 1_000_000;
        let n = nonces.issue_at(t);
        assert_eq!(nonces.check(&n, t + NONCE_TTL.as_secs()), NonceState::Fresh);
        assert_eq!(
            nonces.check(&n, t + NONCE_TTL.as_secs() + 1),
            NonceState::Stale
        );
        assert_eq!(nonces.check(&n, t - SKEW - 1), NonceState::Stale);
        assert_ne!(nonces.issue_at(t), n, "nonces carry randomness");
        // Moving the issue time forward breaks the tag.
        let mut forged = hex::decode(&n).unwrap();
        forged[7] ^= 1;
        assert_eq!(nonces.check(&hex::encode(forged), t), NonceState::Invalid);
        assert_eq!(Nonces::new([8; 32]).check(&n, t), NonceState::Invalid);
        assert_eq!(nonces.check(&format!("{n}00"), t), NonceState::Invalid);
        assert_eq!(nonces.check("not hex", t), NonceState::Invalid);
    }
}
