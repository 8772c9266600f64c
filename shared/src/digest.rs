//! The one digest the project computes: FNV-1a over bytes, 64 bits. Stable across
//! invocations, builds and platforms (unlike the standard library's hasher), so it can
//! name a plan version, a client token or a decision key, and tell whether a state
//! object changed since it was read without keeping a second copy of it.

/// FNV-1a, 64 bits, of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut digest = Fnv1a::default();
    digest.write(bytes);
    digest.finish()
}

/// [`fnv1a`] of bytes given piece by piece, e.g. an object's body as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// [`fnv1a`] as 16 hex digits.
pub fn hex(bytes: &[u8]) -> String {
    Digest::of(bytes).to_string()
}

/// An [`fnv1a`] digest kept as its 64 bits and written as its 16 hex digits, for books
/// that keep one per server: at 100,000 servers a string each would cost megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(u64);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(fnv1a(bytes))
    }

    /// The digest of `value`'s JSON: stable for plain data, for what a plan wants.
    pub fn of_json<T: serde::Serialize>(value: &T) -> Self {
        Self::of(&serde_json::to_vec(value).unwrap_or_default())
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for Digest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex_digits = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match u64::from_str_radix(text, 16) {
            Ok(bits) if hex_digits => Ok(Self(bits)),
            _ => Err(format!("a digest is 16 hex digits, not {text:?}")),
        }
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexDigits;
        impl serde::de::Visitor<'_> for HexDigits {
            type Value = Digest;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("16 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Digest, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(HexDigits)
    }
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

    #[test]
    fn bytes_given_in_pieces_digest_as_when_given_whole() {
        let whole = b"a plan of many chunks";
        for cut in 0..=whole.len() {
            let mut pieces = Fnv1a::default();
            pieces.write(&whole[..cut]);
            pieces.write(&whole[cut..]);
            assert_eq!(pieces.finish(), fnv1a(whole), "cut at {cut}");
        }
    }

    #[test]
    fn a_digest_is_written_and_read_as_its_hex_digits() {
        let digest = Digest::of(b"foobar");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, "\"85944171f73967e8\"");
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert_eq!(Digest::of(b"").to_string(), "cbf29ce484222325");
    }

    #[test]
    fn anything_but_16_hex_digits_is_refused_by_name() {
        for bad in [
            "\"85944171f73967e\"",
            "\"+5944171f73967e8\"",
            "\"85944171f73967e8a\"",
            "7",
        ] {
            let error = serde_json::from_str::<Digest>(bad).unwrap_err().to_string();
            assert!(error.contains("16 hex digits"), "{bad} gave {error}");
        }
    }
}
