//! Paging tokens for both stand-ins: opaque to the caller, bound to the operation and
//! the filters that produced them, so a token replayed against another listing or
//! tampered with is refused rather than silently paging something else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// A token binding: which operation and filters a token pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding(u64);

impl Binding {
    /// The binding of `operation` listed with `filter` (any stable text of the filters).
    pub fn of(operation: &str, filter: &str) -> Self {
        // FNV-1a: a stable fingerprint, not a secret.
        let text = format!("{operation}\n{filter}");
        Self(text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        }))
    }

    /// The token for the page starting at `offset`.
    pub fn token(self, offset: usize) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{:016x}:{offset}", self.0))
    }

    /// The offset `token` stands for, if it is one of this binding's.
    pub fn offset(self, token: &str) -> Option<usize> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let mut parts = text.split(':');
        if parts.next()? != "v1" || u64::from_str_radix(parts.next()?, 16).ok()? != self.0 {
            return None;
        }
        let offset = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let binding = Binding::of("GetServers", "");
        let token = binding.token(150);
        assert_eq!(binding.offset(&token), Some(150));
        assert_eq!(Binding::of("GetServers", "x").offset(&token), None);
        assert_eq!(Binding::of("ListApps", "").offset(&token), None);
        assert_eq!(binding.offset("garbage!"), None);
    }
}
