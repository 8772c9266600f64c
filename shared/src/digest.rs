//! The one digest the project computes: FNV-1a over bytes, 64 bits. Stable across
//! invocations, builds and platforms (unlike the standard library's hasher), so it can
//! name a plan version, a client token or a decision key, and tell whether a state
//! object changed since it was read without keeping a second copy of it.

/// FNV-1a, 64 bits, of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// [`fnv1a`] as 16 hex digits.
pub fn hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hex(b"foobar"), "85944171f73967e8");
    }
}
