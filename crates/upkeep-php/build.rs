//! Fingerprints this crate's sources and the locked dependency versions for the incremental
//! cache (`src/cache.rs`): what a file's cached facts look like depends on this code and on
//! the parser's version, so a build with any change to either must not trust facts that
//! another build wrote, even while the crate version stays the same.

use std::path::{Path, PathBuf};

/// FNV-1a, 64 bits: stable across toolchains, unlike `DefaultHasher`.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &byte in bytes {
        *hash ^= u64::from(byte);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The locked versions of the parsers whose output the cache stores (mago's crates and
/// roxmltree), so that adding an unrelated dependency keeps the cache.
fn parser_versions(lock: &str) -> String {
    let mut versions = String::new();
    for package in lock.split("[[package]]") {
        let field = |key: &str| {
            package
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .map(|value| value.trim_matches([' ', '=', '"']))
        };
        if let (Some(name), Some(version)) = (field("name"), field("version"))
            && (name.starts_with("mago-") || name == "roxmltree")
        {
            versions.push_str(name);
            versions.push(' ');
            versions.push_str(version);
            versions.push('\n');
        }
    }
    versions
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut inputs = Vec::new();
    rust_files(&manifest_dir.join("src"), &mut inputs);
    inputs.sort();
    inputs.push(manifest_dir.join("Cargo.toml"));
    // In the workspace the lock file pins mago-syntax; a packaged crate has none.
    inputs.push(manifest_dir.join("../../Cargo.lock"));

    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for input in &inputs {
        println!("cargo:rerun-if-changed={}", input.display());
        if let Ok(bytes) = std::fs::read(input) {
            let relative = input.strip_prefix(&manifest_dir).unwrap_or(input);
            fnv1a(&mut hash, relative.to_string_lossy().as_bytes());
            if input.ends_with("Cargo.lock") {
                fnv1a(
                    &mut hash,
                    parser_versions(&String::from_utf8_lossy(&bytes)).as_bytes(),
                );
            } else {
                fnv1a(&mut hash, &bytes);
            }
        }
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rustc-env=UPKEEP_PHP_FINGERPRINT={hash:016x}");
}
