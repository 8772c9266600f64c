//! How the bench table states a figure and judges it against its target.

/// One row of the targets table: the target, what was measured, met or not.
pub(crate) type Target = (String, String, &'static str);

/// KiB as MiB.
pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A target's verdict.
pub(crate) fn status(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}
