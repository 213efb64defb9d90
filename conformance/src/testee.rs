//! The implementation under test: started with `sh -c CMD` in a process group of its own,
//! one JSON request a line on its stdin and one response a line on its stdout. Each request
//! has a time limit; a testee that crashes or hangs is killed (with whatever it started) and
//! restarted for the next request.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cases::Case;
use crate::judge::{judge, shorten, FieldMap};

/// Why a request got no response.
pub enum Silence {
    /// The command could not be run at all (not found, not executable): nothing will answer.
    CannotStart(String),
    /// It crashed, hung, or answered with a line that is not JSON, on this case.
    NoAnswer(String),
    /// It answered, but not with JSON: a wrong answer, not silence.
    Garbled(String),
}

impl std::fmt::Display for Silence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Silence::CannotStart(why) | Silence::NoAnswer(why) | Silence::Garbled(why) => {
                f.write_str(why)
            }
        }
    }
}

/// A running testee, restarted after a crash or a timeout.
pub struct Testee {
    cmd: String,
    child: Option<(Child, ChildStdin, Receiver<String>)>,
}

impl Testee {
    /// A testee run as `sh -c cmd`, started at the first request.
    pub fn new(cmd: &str) -> Testee {
        Testee {
            cmd: cmd.to_string(),
            child: None,
        }
    }

    fn start(&mut self) -> Result<(), String> {
        // Its own process group, so a timeout kills whatever the command started too.
        let mut child = Command::new("sh")
            .args(["-c", &self.cmd])
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start testee `{}`: {e}", self.cmd))?;
        let stdin = child.stdin.take().ok_or("testee has no stdin")?;
        let stdout = child.stdout.take().ok_or("testee has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some((child, stdin, rx));
        Ok(())
    }

    fn stop(&mut self) {
        if let Some((mut child, stdin, _)) = self.child.take() {
            drop(stdin);
            kill_group(&mut child);
        }
    }

    /// Sends one request; returns the response line, or why there is none.
    pub fn ask(&mut self, request: &Value, timeout: Duration) -> Result<Value, Silence> {
        if self.child.is_none() {
            self.start().map_err(Silence::CannotStart)?;
        }
        let Some((child, stdin, rx)) = self.child.as_mut() else {
            return Err(Silence::CannotStart("testee not running".into()));
        };
        let line = format!("{request}\n");
        if stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .is_err()
        {
            let status = child.wait().ok();
            self.stop();
            return Err(died("testee closed its input", status));
        }
        match rx.recv_timeout(timeout) {
            Ok(line) => serde_json::from_str(&line).map_err(|e| {
                Silence::Garbled(format!("response is not JSON ({e}): {}", shorten(&line)))
            }),
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                Err(Silence::NoAnswer(format!(
                    "no response within {} ms (testee killed, restarted for the next case)",
                    timeout.as_millis()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok();
                self.stop();
                Err(died("testee died without answering", status))
            }
        }
    }
}

impl Testee {
    /// Closes the testee's input and waits for it to exit by itself (as a sanitizer's leak
    /// check needs); returns how it exited, or None if it had to be killed or was not running.
    pub fn finish(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let (mut child, stdin, _) = self.child.take()?;
        drop(stdin);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    kill_group(&mut child);
                    return None;
                }
            }
        }
    }
}

/// A testee that ended before answering. `sh -c` exits 127 when the command is not found and
/// 126 when it cannot be executed: then no restart will help.
fn died(what: &str, status: Option<std::process::ExitStatus>) -> Silence {
    let shown = status.map(|s| s.to_string()).unwrap_or_default();
    match status.and_then(|s| s.code()) {
        Some(code @ (126 | 127)) => Silence::CannotStart(format!(
            "{what} ({shown}): the shell could not {} the command",
            if code == 127 { "find" } else { "execute" }
        )),
        _ => Silence::NoAnswer(format!("{what} ({shown}); restarted for the next case")),
    }
}

/// Kills the testee and whatever it started (it runs in its own process group).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Testee {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `testee`'s answers to `requests`, in order.
pub fn answers(
    testee: &str,
    requests: &[(String, Value)],
    timeout: Duration,
) -> Result<Vec<Value>, String> {
    let mut testee = Testee::new(testee);
    requests
        .iter()
        .map(|(name, request)| {
            let mut request = request.clone();
            request["id"] = json!(name);
            testee
                .ask(&request, timeout)
                .map_err(|e| format!("{name}: the reference did not answer: {e}"))
        })
        .collect()
}

/// Runs `cases` against `testee` until one fails: that case's name and why, or `None` when
/// every case passes (`cargo xtask mutants` asks only whether a mutant is caught).
pub fn first_failure(
    testee: &str,
    cases: &[Case],
    fields: &FieldMap,
    timeout: Duration,
) -> Result<Option<(String, String)>, String> {
    let mut testee = Testee::new(testee);
    for case in cases {
        let mut request = case.request.clone();
        request["id"] = json!(case.name);
        // The first case without an answer ends the run like any failure: no need to count
        // silences in a row here.
        let outcome = match testee.ask(&request, timeout) {
            Err(Silence::CannotStart(why)) => return Err(format!("{}: {why}", case.name)),
            Err(silence) => Err(silence.to_string()),
            Ok(response) => judge(case, &response, Some(fields)),
        };
        if let Err(why) = outcome {
            return Ok(Some((case.name.clone(), why)));
        }
    }
    match testee.finish(timeout) {
        Some(status) if !status.success() => Ok(Some((
            "testee exit".into(),
            format!("after the last case the testee exited with {status}"),
        ))),
        _ => Ok(None),
    }
}
