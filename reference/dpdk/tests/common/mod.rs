//! What the EAL tests share: EAL arguments with a process-unique `--file-prefix` (so test
//! binaries may run at once, e.g. under nextest), and a guard that removes the runtime
//! directory EAL leaves behind (and any files the test names), even when the test fails.
#![allow(dead_code)] // each test binary uses part of it

use std::path::PathBuf;

/// Removes its paths when dropped.
pub struct Cleanup {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Cleanup {
    /// Also remove `file` at the end.
    pub fn file(&mut self, file: PathBuf) -> PathBuf {
        self.files.push(file.clone());
        file
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// `--file-prefix rltop-<name>-<pid>` followed by `args`, and the guard of what EAL leaves.
/// Declare the guard before the Port, so that the Port is dropped (and EAL cleaned up) first.
pub fn eal_args(name: &str, args: &[&str]) -> (Vec<String>, Cleanup) {
    let prefix = format!("rltop-{name}-{}", std::process::id());
    let mut v: Vec<String> = vec!["--file-prefix".into(), prefix.clone()];
    v.extend(args.iter().map(|a| a.to_string()));
    let cleanup = Cleanup {
        dirs: vec![PathBuf::from("/var/run/dpdk").join(&prefix)],
        files: Vec::new(),
    };
    (v, cleanup)
}

/// A path in the temporary directory unique to this process.
pub fn tmp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rltop-dpdk-{}-{name}", std::process::id()))
}
