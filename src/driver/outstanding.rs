//! The tokens submitted and not yet completed. In a fork child these are the requests nobody
//! will answer (their replies belong to the parent): the caller fails them instead of leaving
//! them pending forever.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Tokens are unique integers (often pointers): a multiplicative hash spreads them well
/// enough, at a fraction of SipHash's cost on this hot path.
#[derive(Default)]
pub struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Default)]
pub struct Outstanding {
    tokens: HashSet<u64, BuildHasherDefault<TokenHasher>>,
}

impl Outstanding {
    pub fn add(&mut self, token: u64) {
        self.tokens.insert(token);
    }

    pub fn done(&mut self, token: u64) {
        self.tokens.remove(&token);
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Every outstanding token; the set is left empty.
    pub fn take(&mut self) -> Vec<u64> {
        let v: Vec<u64> = self.tokens.drain().collect();
        if self.tokens.capacity() > 4096 {
            self.tokens.shrink_to(64);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_and_hands_back() {
        let mut o = Outstanding::default();
        for t in [8u64, 16, 24, 7] {
            o.add(t);
        }
        o.done(16);
        let mut left = o.take();
        left.sort();
        assert_eq!(left, vec![7, 8, 24]);
        assert!(o.take().is_empty());
    }
}
