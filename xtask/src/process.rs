//! Running child processes, the one way xtask does: shown as `$ command` and an error that
//! names it unless it succeeds ([`run`], [`cargo`]), or bounded in time with its output read as
//! it comes ([`run_bounded`]: an output larger than a pipe's buffer must not stall the child).

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// Runs `cmd`, shown as `$ what`; an error naming it unless it succeeds.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    eprintln!("$ {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})\n"))
    }
}

/// `cargo ARGS` in the repository root.
pub fn cargo(args: &[&str]) -> Result<(), String> {
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

/// Whether `cargo nextest` is installed.
pub fn have_nextest() -> bool {
    Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `command` until it exits or `limit` passes (then it is killed: Err naming `what`).
/// Ok: its exit status, stdout and stderr.
pub fn run_bounded(
    command: &mut Command,
    what: &str,
    limit: Duration,
) -> Result<(ExitStatus, String, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("piped")));
    let err = read_all(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok((
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}
