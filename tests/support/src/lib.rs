//! The pieces every development tool of this repository needs, written once and below all
//! of them: xtask, the end-to-end tests (`tests/e2e`), the network lab (`tests/netlab`), the
//! conformance harnesses and the benchmark harnesses depend on this crate, and it depends on
//! none of them.
//!
//! - [`root`]: the repository's root, for the files the tools read and the `target/`
//!   folders they write.
//! - [`process`]: children run the one way: shown as `$ command`, bounded in time, killed
//!   and reaped on drop, an error that names them.
//! - [`debian`] and [`pyenv`]: what the README's test command installs on a fresh Debian
//!   machine (apt packages, Python venvs under `target/`).
//! - [`probe`]: readiness as a question asked until it is answered (a port listens, a page
//!   answers), never a sleep.
//!
//! Errors are `String`s that name what failed: these tools report to a person at a terminal.

pub mod debian;
pub mod probe;
pub mod process;
pub mod pyenv;

use std::path::{Path, PathBuf};

/// The repository's root (this crate sits at `tests/support`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support sits two levels below the root")
        .to_path_buf()
}

/// The folder cargo builds into: `CARGO_TARGET_DIR`, or the root's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The conformance vectors that `cargo xtask gen` writes, relative to the root.
pub const VECTORS: &str = "conformance/vectors";

/// Whether this process runs as root (namespaces, nftables and apt need it).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tool's exit: success, or its error on stderr and failure.
pub fn exit(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.trim_end());
            std::process::ExitCode::FAILURE
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_holds_the_workspace() {
        let manifest = std::fs::read_to_string(super::root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{manifest}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(super::tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(super::tail("a", 5), "a");
        assert_eq!(super::tail("", 1), "");
    }
}
