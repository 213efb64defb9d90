//! `cargo xtask package`: the crates as someone outside this repository meets them.
//!
//! Three checks, each of something that works inside the workspace and can still be broken
//! for a user:
//!
//! 1. **The README's examples for a protocol of one's own, in fresh crates** (see
//!    [`crate::outside`]): `rltop-codegen` and the crate it writes, a build script, and the
//!    derive / `include_schema!` example, each copied verbatim into a new crate in a
//!    temporary directory (outside this workspace, so no workspace setting helps it) and
//!    built. This is what catches an expansion naming a crate the user never added.
//! 2. **`cargo package` of every publishable crate** (those without `publish = false`), with
//!    verification: each is built from its packaged sources alone, so a file read from
//!    outside its package or a path dependency without a version fails here.
//! 3. **`rust-version` is at least what the dependencies need**: for every workspace crate,
//!    its declared `rust-version` against the highest `rust-version` among the packages it
//!    depends on (normal and build dependencies, transitively, as Cargo.lock resolves them).
//!    What our own code needs is stated next to the workspace's `rust-version`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value;

use rltop_devsupport::process::{cargo, cargo_command};
use rltop_devsupport::root;

pub fn run() -> Result<(), String> {
    let metadata = metadata()?;
    rust_versions(&metadata)?;
    package_all(&metadata)?;
    crate::outside::run()
}

fn metadata() -> Result<Value, String> {
    let out = cargo_command()
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))
}

/// `"1.86"` or `"1.86.0"` as comparable numbers.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn workspace_members(metadata: &Value) -> BTreeSet<&str> {
    metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn rust_versions(metadata: &Value) -> Result<(), String> {
    eprintln!("\n# rust-version of every crate against its dependencies'");
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let deps: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| {
            let not_dev = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|kind| kind["kind"].as_str() != Some("dev"))
                })
                .filter_map(|dep| dep["pkg"].as_str())
                .collect();
            Some((node["id"].as_str()?, not_dev))
        })
        .collect();
    let rust_version = |id: &str| packages.get(id).and_then(|p| p["rust_version"].as_str());
    let name = |id: &str| {
        packages
            .get(id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let mut wrong = Vec::new();
    for member in workspace_members(metadata) {
        let Some(declared) = rust_version(member) else {
            wrong.push(format!("  {} declares no rust-version", name(member)));
            continue;
        };
        let mut seen = BTreeSet::new();
        let mut stack = vec![member];
        let mut needed: Option<(&str, String)> = None;
        while let Some(id) = stack.pop() {
            for &dep in deps.get(id).into_iter().flatten() {
                if !seen.insert(dep) {
                    continue;
                }
                stack.push(dep);
                if let Some(v) = rust_version(dep) {
                    if needed
                        .as_ref()
                        .is_none_or(|(best, _)| version_key(v) > version_key(best))
                    {
                        needed = Some((v, name(dep)));
                    }
                }
            }
        }
        if let Some((v, by)) = needed {
            if version_key(v) > version_key(declared) {
                wrong.push(format!(
                    "  {} says rust-version {declared}, but {by} needs {v}",
                    name(member)
                ));
            }
        }
    }
    if wrong.is_empty() {
        eprintln!("every crate's rust-version covers its dependencies");
        Ok(())
    } else {
        Err(format!(
            "rust-version is lower than a dependency needs:\n{}\n",
            wrong.join("\n")
        ))
    }
}

/// Where Cargo unpacks the crates of local registries: `$CARGO_HOME/registry/src/-<hash>/`
/// (the `-` is the empty host name of a directory registry, which is what `cargo package
/// --workspace` puts the packaged crates in before it verifies each against the others).
/// Cargo unpacks a version once and reuses the directory, even when the crate of the same
/// version has changed since, so a second run would verify against the first run's code.
fn forget_unpacked(names: &[(&str, &str)]) -> Result<(), String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = fs::read_dir(cargo_home.join("registry/src")) else {
        return Ok(()); // nothing unpacked yet
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue; // crates.io and other remote registries
        }
        for (name, version) in names {
            let dir = registry.path().join(format!("{name}-{version}"));
            if dir.exists() {
                fs::remove_dir_all(&dir)
                    .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
            }
        }
    }
    Ok(())
}

fn package_all(metadata: &Value) -> Result<(), String> {
    let members = workspace_members(metadata);
    let packaged: Vec<(&str, &str)> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id)))
        .filter_map(|p| Some((p["name"].as_str()?, p["version"].as_str()?)))
        .collect();
    forget_unpacked(&packaged)?;
    // `publish = false` shows as an empty registry list.
    let unpublished: Vec<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id)))
        .filter(|p| p["publish"].as_array().is_some_and(Vec::is_empty))
        .filter_map(|p| p["name"].as_str())
        .collect();
    // Verification builds the packaged crates as registry crates, and Cargo takes a registry
    // crate of a known version as unchanged: its earlier build would be reused. So they are
    // built in a target directory of their own, cleaned of them first (their dependencies'
    // builds are kept).
    let verify_dir = root().join("target/package-verify");
    let verify_dir = verify_dir.to_string_lossy();
    let mut clean = vec!["clean", "--quiet", "--target-dir", &verify_dir];
    for (name, _) in &packaged {
        clean.extend(["-p", name]);
    }
    cargo(&clean)?;
    let mut args = vec![
        "package",
        "--workspace",
        "--quiet",
        "--target-dir",
        &verify_dir,
    ];
    for name in &unpublished {
        args.extend(["--exclude", name]);
    }
    // A CI checkout is clean; a developer's tree may hold uncommitted work being checked.
    if std::env::var_os("CI").is_none() {
        args.push("--allow-dirty");
    }
    cargo(&args)
}
