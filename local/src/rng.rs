//! A tiny seeded PRNG (splitmix64) so ids, AMIs and injected faults replay identically under a seed.

/// splitmix64: tiny, fast, and good enough for ids and fault dice; not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole output sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniformly drawn from [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        // 53 bits is the f64 mantissa: every value is exactly representable.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` lowercase hex digits, the shape SMS uses after its id prefixes.
    pub fn hex(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let word = format!("{:016x}", self.next_u64());
            let take = (n - out.len()).min(16);
            out.push_str(&word[..take]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_eq!(SplitMix64::new(1).hex(17).len(), 17);
        let f = SplitMix64::new(3).next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
