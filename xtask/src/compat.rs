//! `cargo xtask compat`: RLTOP's schema against its last release, as a user's CI would run
//! `rltop-codegen compat --against`. The base is the newest tag, else main's schema (on main
//! itself that compares the schema with itself, and passes); with arguments, the command is
//! `rltop-codegen compat ARGS` as given.

use std::process::Command;

use rltop_devsupport::root;

use crate::tool;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut all = vec!["compat".to_string()];
    if args.is_empty() {
        let base = base()?;
        all.extend(["--against".into(), base, "schema/rltop.rlt".into()]);
    } else {
        all.extend(args.iter().cloned());
    }
    tool("rltop-codegen-cli", "rltop-codegen", &all)
}

/// The newest tag, else the first of `origin/main` and `main` that git knows.
fn base() -> Result<String, String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(tag) = git(&["describe", "--tags", "--abbrev=0"]).filter(|t| !t.is_empty()) {
        return Ok(tag);
    }
    ["origin/main", "main"]
        .into_iter()
        .find(|r| git(&["rev-parse", "--verify", "--quiet", r]).is_some())
        .map(str::to_string)
        .ok_or_else(|| "compat: no tag, and no main branch to compare the schema with".into())
}
