//! Debian packages the tests need, installed with apt-get when missing (the README's test
//! command runs on a fresh Debian machine, as root).

use std::process::Command;

use crate::process::run;

/// Installs `packages` (after `apt-get update`).
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    run(
        Command::new("apt-get").arg("update").arg("-q"),
        "apt-get update",
    )?;
    run(
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("apt-get install -y {}", packages.join(" ")),
    )
}

/// Installs the Debian packages whose marker (a command on PATH, or an absolute path) is
/// missing: `(marker, package)` pairs.
pub fn ensure_debian(needs: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = needs
        .iter()
        .filter(|(marker, _)| {
            if marker.starts_with('/') {
                !std::path::Path::new(marker).exists()
            } else {
                !Command::new("sh")
                    .args(["-c", &format!("command -v {marker}")])
                    .output()
                    .is_ok_and(|o| o.status.success())
            }
        })
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        apt_install(&missing)
    }
}
