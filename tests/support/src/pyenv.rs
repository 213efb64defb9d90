//! The Python environments the tests and benchmarks use: a venv under target/, with the
//! generated package installed from generated/python exactly as a user would install it, and
//! venvs of their own for packages that cannot share it ([`venv`]).

use std::path::PathBuf;
use std::process::Command;

use crate::debian::apt_install;
use crate::process::run;
use crate::root;

/// target/pyenv/bin/python, created and filled on first use; `extra` are PyPI packages on
/// top of the generated one (installed afresh each time, as it changes with the schema).
pub fn python(extra: &[&str]) -> Result<PathBuf, String> {
    let py = venv("pyenv", extra)?;
    install_generated(&py)?;
    Ok(py)
}

/// target/NAME/bin/python, the venv created on first use, with `extra` (PyPI packages)
/// installed (pip does nothing when they already are) and nothing else: for packages that
/// cannot share target/pyenv (python-binance and binance-connector both install a top-level
/// `binance` package, each with its own `binance/__init__.py`).
pub fn venv(name: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let venv = root().join("target").join(name);
    let py = venv.join("bin/python");
    if !py.exists() {
        if Command::new("python3").arg("--version").output().is_err() {
            apt_install(&["python3", "python3-venv", "python3-pip"])?;
        }
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            // Debian's python3 needs python3-venv for `python3 -m venv`.
            apt_install(&["python3-venv"])?;
            run(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                &format!("python3 -m venv target/{name}"),
            )?;
        }
    }
    if !extra.is_empty() {
        run(
            Command::new(&py)
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(extra),
            &format!("pip install {}", extra.join(" ")),
        )?;
    }
    Ok(py)
}

/// The generated package, with its C accelerator, into the venv of `py`.
fn install_generated(py: &std::path::Path) -> Result<(), String> {
    // The package's C accelerator (rltop/_crc.c) needs Python's headers; pip would otherwise
    // skip it quietly (it is optional for users) and the test suite would say so.
    let has_headers = Command::new(py)
        .args([
            "-c",
            "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !has_headers {
        apt_install(&["python3-dev"])?;
    }
    // pip builds in the source tree (build/, *.egg-info): install from a copy under target/.
    let src = root().join("target/pybuild/rltop");
    let _ = std::fs::remove_dir_all(&src);
    copy_tree(&root().join("generated/python"), &src)?;
    run(
        Command::new(py)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(&src),
        "pip install ./generated/python",
    )
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from)
        .map_err(|e| format!("cannot read {}: {e}", from.display()))?
        .flatten()
    {
        let (path, name) = (entry.path(), entry.file_name());
        if name == "__pycache__" || name == "build" || name.to_string_lossy().ends_with(".egg-info")
        {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
