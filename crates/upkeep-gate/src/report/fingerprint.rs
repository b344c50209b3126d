//! Stable fingerprints of findings, for CIs that track a finding across commits (GitLab Code
//! Quality, SARIF `partialFingerprints`).
//!
//! A fingerprint hashes the rule, the file, the message and the trimmed source line, plus how
//! many identical findings came before it in the same file. It leaves out line and column on
//! purpose: code that moves (a method added above it, a re-indent) keeps its fingerprint, so a
//! CI does not report a known finding as fixed and new again.
//!
//! The hash is 128-bit FNV-1a, written here so the value never changes with a dependency.
//! Changing what goes into it changes every fingerprint users have stored: bump the `v1` in
//! [`FINGERPRINT_VERSION`] when that happens.

use std::collections::HashMap;

use crate::engine::GateReport;
use crate::finding::Finding;

/// Names the fingerprint scheme where a format lets us say which one we used (SARIF).
pub const FINGERPRINT_VERSION: &str = "upkeep/v1";

const FNV_OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

#[derive(Clone, Copy)]
struct Fnv1a128(u128);

impl Fnv1a128 {
    fn new() -> Self {
        Self(FNV_OFFSET_BASIS)
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        for &byte in bytes {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
        self
    }

    /// A field with its length first, so `("ab", "c")` and `("a", "bc")` differ.
    fn field(self, text: &str) -> Self {
        self.bytes(&(text.len() as u64).to_le_bytes())
            .bytes(text.as_bytes())
    }
}

/// What identifies a finding regardless of where in its file it is.
fn identity(finding: &Finding) -> u128 {
    let line = finding
        .location
        .source_line
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    Fnv1a128::new()
        .field(finding.rule.name)
        .field(&finding.location.file)
        .field(&finding.message)
        .field(line)
        .0
}

/// One fingerprint per finding of `report`, in the order of `report.findings`: 32 lowercase
/// hex digits. Identical findings in one file (same rule, message and line text) are told
/// apart by their order, so they keep distinct fingerprints.
pub fn fingerprints(report: &GateReport) -> Vec<String> {
    let mut seen: HashMap<u128, u64> = HashMap::new();
    report
        .findings
        .iter()
        .map(|finding| {
            let identity = identity(finding);
            let occurrence = seen.entry(identity).or_insert(0);
            let hash = Fnv1a128(identity).bytes(&occurrence.to_le_bytes()).0;
            *occurrence += 1;
            format!("{hash:032x}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_128_matches_the_published_test_vectors() {
        // From the FNV reference test suite: "", "a" and "foobar".
        assert_eq!(Fnv1a128::new().0, 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(
            Fnv1a128::new().bytes(b"a").0,
            0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964
        );
        assert_eq!(
            Fnv1a128::new().bytes(b"foobar").0,
            0x343e_1662_793c_64bf_6f0d_3597_ba44_6f18
        );
    }
}
