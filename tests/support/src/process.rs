//! Children run the one way: shown as `$ command` before they start; an error that names
//! them unless they succeed; bounded in time, with their output read as it comes (an output
//! larger than a pipe's buffer must not stall a child); and, when they run beside the
//! caller ([`Running`]), killed and reaped on drop, so a failed check leaves no process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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

/// `cargo ARGS` in the repository root, shown first.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    eprintln!("\n$ cargo {}", args.join(" "));
    let status = cargo_command()
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

/// The cargo that runs this tool (`CARGO`), or the one on PATH.
pub fn cargo_command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Whether `cargo nextest` is installed.
pub fn have_nextest() -> bool {
    cargo_command()
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
    let out = read_all(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read_all(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
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

/// [`run_bounded`], shown as `$ what`; Ok: stdout and stderr together, Err with them unless
/// it succeeded.
pub fn run_checked(command: &mut Command, what: &str, limit: Duration) -> Result<String, String> {
    eprintln!("$ {what}");
    let (status, out, err) = run_bounded(command, what, limit)?;
    let text = out + &err;
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({status}):\n{text}"))
    }
}

/// A thread reading `pipe` to its end (nothing when there is no pipe).
fn read_all(pipe: Option<Box<dyn Read + Send>>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut text);
        }
        text
    })
}

/// A child that runs beside the caller, killed and reaped on drop. Its stderr is either
/// piped (read when it exits: [`Running::wait`]) or, with stdout, written to a log file
/// ([`Running::logged`], read by [`Running::log_tail`]).
pub struct Running {
    child: Child,
    what: String,
    log: Option<PathBuf>,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `command` with its stderr piped (and its stdout, if the caller piped it);
    /// `what` names it in errors.
    pub fn start(command: &mut Command, what: &str) -> Result<Running, String> {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>);
        Ok(Running {
            child,
            what: what.to_string(),
            log: None,
            stdout: Some(read_all(stdout)),
            stderr: Some(read_all(stderr)),
        })
    }

    /// Starts `command` with its stdout and stderr written to `log`.
    pub fn logged(command: &mut Command, what: &str, log: &Path) -> Result<Running, String> {
        let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        Ok(Running {
            child,
            what: what.to_string(),
            log: Some(log.to_path_buf()),
            stdout: None,
            stderr: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last 20 lines of its log (empty for a child started with [`Running::start`]).
    pub fn log_tail(&self) -> String {
        let text = self
            .log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default();
        crate::tail(&text, 20)
    }

    /// Err if it has exited: it was meant to keep running.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}):\n{}",
                self.what,
                self.log_tail()
            )),
            _ => Ok(()),
        }
    }

    /// Waits up to `limit` for the exit: (status, stdout, stderr). Err if it had to be
    /// killed.
    pub fn wait(mut self, limit: Duration) -> Result<(ExitStatus, String, String), String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                let join = |h: Option<std::thread::JoinHandle<String>>| {
                    h.and_then(|h| h.join().ok()).unwrap_or_default()
                };
                let (out, err) = (join(self.stdout.take()), join(self.stderr.take()));
                return Ok((status, out, err));
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "{} did not finish within {limit:?}; killed",
                    self.what
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Running::wait`], and Err unless it succeeded; Ok: its stderr.
    pub fn finish(self, limit: Duration) -> Result<String, String> {
        let what = self.what.clone();
        let (status, _, err) = self.wait(limit)?;
        if status.success() {
            Ok(err)
        } else {
            Err(format!("{what} failed ({status}):\n{err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_run_reports_status_and_both_outputs() {
        let (status, out, err) = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            "sh",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            (status.code(), out.as_str(), err.as_str()),
            (Some(3), "out\n", "err\n")
        );
    }

    #[test]
    fn a_run_past_its_limit_is_killed_and_named() {
        let e = run_bounded(
            Command::new("sleep").arg("10"),
            "the sleeper",
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(e.starts_with("the sleeper did not finish"), "{e}");
    }

    #[test]
    fn a_large_output_does_not_stall_the_child() {
        let (status, out, _) = run_bounded(
            Command::new("sh").args(["-c", "head -c 1000000 /dev/zero | tr '\\0' x"]),
            "sh",
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(status.success());
        assert_eq!(out.len(), 1_000_000);
    }

    #[test]
    fn a_running_child_is_killed_on_drop() {
        let running = Running::start(Command::new("sleep").arg("30"), "sleep").unwrap();
        let pid = running.pid();
        let dropped = Instant::now();
        drop(running);
        // Killed, not waited for: the sleep had 30 s to go.
        assert!(
            dropped.elapsed() < Duration::from_secs(20),
            "drop waited for the child"
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }

    #[test]
    fn finish_names_a_failed_child_with_its_stderr() {
        let running = Running::start(
            Command::new("sh").args(["-c", "echo broken >&2; exit 1"]),
            "the child",
        )
        .unwrap();
        let e = running.finish(Duration::from_secs(10)).unwrap_err();
        assert!(
            e.starts_with("the child failed") && e.ends_with("broken\n"),
            "{e}"
        );
    }

    #[test]
    fn a_logged_child_shows_its_log_when_it_dies() {
        let log = std::env::temp_dir().join(format!("devsupport-{}.log", std::process::id()));
        let mut running = Running::logged(
            Command::new("sh").args(["-c", "echo said this; exit 4"]),
            "talker",
            &log,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let e = loop {
            if let Err(e) = running.alive() {
                break e;
            }
            assert!(Instant::now() < deadline, "still alive");
            std::thread::sleep(Duration::from_millis(10));
        };
        let _ = std::fs::remove_file(&log);
        assert!(
            e.starts_with("talker exited") && e.ends_with("said this"),
            "{e}"
        );
    }
}
