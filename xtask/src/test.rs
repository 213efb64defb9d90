//! `cargo xtask test`: the README's test command. Everything CI checks, in order, on a
//! fresh machine with only the Rust toolchain.

use std::process::Command;

use crate::root;

fn cargo(args: &[&str]) -> Result<(), String> {
    eprintln!("\n$ cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed\n", args.join(" ")))
    }
}

fn have_nextest() -> bool {
    Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn run() -> Result<(), String> {
    eprintln!("$ cargo xtask gen --check");
    crate::gen::run(&["--check".to_string()])?;

    eprintln!("\n$ cargo xtask check schema/rltop.rlt");
    crate::check(&["schema/rltop.rlt".to_string()])?;

    // The draft transcription must be rejected (the rejection's details are unit-tested).
    eprintln!("\n$ cargo xtask check schema/examples/seed-draft.rlt   (must be rejected)");
    let draft = crate::load(
        &root()
            .join("schema/examples/seed-draft.rlt")
            .to_string_lossy(),
    )?;
    let n = draft.errors().count();
    if draft.model.is_some() || n == 0 {
        return Err(
            "the seed-draft transcription was accepted; the checker must reject it\n".into(),
        );
    }
    eprintln!("rejected with {n} errors, as it must be");

    if have_nextest() {
        cargo(&["nextest", "run", "--workspace", "--no-fail-fast"])?;
    } else {
        eprintln!("(cargo-nextest not installed: using cargo test)");
        cargo(&["test", "--workspace", "--no-fail-fast"])?;
    }
    cargo(&["test", "--workspace", "--doc"])?;
    Ok(())
}
