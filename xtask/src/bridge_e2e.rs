//! The WebSocket bridge end to end, with the clients and servers its users have: the
//! official Binance Python SDK (`binance-connector`) following Binance's local-order-book
//! procedure against `rltop bridge` on a capture, with the simulator's books as the oracle;
//! the generated Python package decoding `/rltop` binary frames; the live page in headless
//! Chromium (Debian); and the crate's tests that start a `redis-server` and nginx (Debian).
//!
//! Every process started here is stopped when its check ends, whatever happens.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// A bridge (or any child) killed on drop; its stderr goes to a log file named in errors.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// `GET path` on loopback: (status, body), or None if nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

/// Starts `rltop bridge` with `args` on a free port; waits until it answers `/healthz`.
fn bridge(rltop: &Path, args: &[&str], dir: &Path, name: &str) -> Result<(Process, u16), String> {
    let port = free_port()?;
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    eprintln!("$ rltop bridge --port {port} {}", args.join(" "));
    let child = Command::new(rltop)
        .args(["bridge", "--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start rltop bridge: {e}"))?;
    let process = Process { child, log };
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_get(port, "/healthz").is_none() {
        if Instant::now() > deadline {
            return Err(format!(
                "rltop bridge did not answer on {port}:\n{}",
                process.log()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((process, port))
}

/// Runs `command` to completion within `limit`; Err with its output otherwise.
fn run_bounded(command: &mut Command, what: &str, limit: Duration) -> Result<String, String> {
    eprintln!("$ {what}");
    let (status, out, err) = crate::process::run_bounded(command, what, limit)?;
    let text = out + &err;
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({status}):\n{text}"))
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The Binance SDK and the `/rltop` decoder against a bridge replaying a capture, with the
/// simulator's final books as the oracle.
pub fn binance_sdk(rltop: &Path, dir: &Path) -> Result<String, String> {
    let tests = root().join("reference/bridge/tests/python");
    let requirements = tests.join("requirements.txt");
    let py = crate::pyenv::python(&["-r", &requirements.to_string_lossy()])?;
    let capture = dir.join("bridge-sim.pcap");
    let oracle = dir.join("bridge-oracle.json");
    run_bounded(
        Command::new(rltop)
            .args([
                "sim",
                "--instruments",
                "4",
                "--events",
                "60000",
                "--quiet-tail",
                "1",
                "--out",
            ])
            .arg(&capture)
            .arg("--books")
            .arg(&oracle),
        "rltop sim --instruments 4 --events 60000 --quiet-tail 1",
        Duration::from_secs(60),
    )?;
    // Everything but the local-book test, against a live simulator; then the local-book
    // test alone against a bridge replaying the capture from its start (about 2.2 s of
    // market at 0.1×: ~22 s to follow), so it sees every event and ends with the oracle's
    // books.
    let pytest = |port: u16, marker: &str, what: &str| {
        run_bounded(
            Command::new(&py)
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker])
                .arg(&tests)
                .env("RLTOP_BRIDGE_URL", format!("http://127.0.0.1:{port}"))
                .env("RLTOP_ORACLE", &oracle)
                .env("RLTOP_END_TIMEOUT", "60"),
            what,
            Duration::from_secs(180),
        )
    };
    let (live, port) = bridge(
        rltop,
        &["--source", "sim", "--instruments", "4", "--rate", "3000"],
        dir,
        "bridge-sdk-live",
    )?;
    let first = pytest(port, "not until_ended", "pytest -m 'not until_ended' reference/bridge/tests/python (binance-connector REST and streams, /rltop decoded by the generated package)")
        .map_err(|e| format!("{e}\nbridge log:\n{}", tail(&live.log(), 20)))?;
    drop(live);
    let source = format!("pcap:{}", capture.display());
    let (replay, port) = bridge(
        rltop,
        &["--source", &source, "--speed", "0.1"],
        dir,
        "bridge-sdk-book",
    )?;
    let second = pytest(port, "until_ended", "pytest -m until_ended reference/bridge/tests/python (Binance's local-order-book procedure through the SDK; books = REST = oracle)")
        .map_err(|e| format!("{e}\nbridge log:\n{}", tail(&replay.log(), 20)))?;
    Ok(format!("{}\n{}", tail(&first, 1), tail(&second, 1)))
}

/// The page in headless Chromium: book and tape update, symbol switch, reconnect; a
/// screenshot in target/e2e/bridge-page.png.
pub fn browser(rltop: &Path, dir: &Path) -> Result<String, String> {
    crate::pyenv::ensure_debian(&[("chromium", "chromium"), ("node", "nodejs"), ("npm", "npm")])?;
    let tests = root().join("reference/bridge/tests/browser");
    if !tests.join("node_modules/playwright-core").exists() {
        run_bounded(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&tests),
            "npm ci (reference/bridge/tests/browser)",
            Duration::from_secs(300),
        )?;
    }
    let (bridge, port) = bridge(
        rltop,
        &["--source", "sim", "--rate", "3000"],
        dir,
        "bridge-page",
    )?;
    let shot = dir.join("bridge-page.png");
    let out = run_bounded(
        Command::new("node")
            .arg(tests.join("page_test.mjs"))
            .arg(format!("http://127.0.0.1:{port}/"))
            .arg(&shot)
            .env("CHROMIUM", "/usr/bin/chromium"),
        "node page_test.mjs (headless Chromium)",
        Duration::from_secs(120),
    )
    .map_err(|e| format!("{e}\nbridge log:\n{}", tail(&bridge.log(), 20)))?;
    drop(bridge);
    let hostile = hostile_page(rltop, dir, &tests)?;
    Ok(format!(
        "{}\nscreenshot: {}\n{hostile}",
        tail(&out, 2),
        shot.display()
    ))
}

/// Symbols with markup, quotes and backslashes (the longest is the field's 16 bytes).
const HOSTILE_SYMBOLS: [&str; 3] = ["<b id=p>\"\\/</b>", "EV\"L\\X", "&lt;<i>&amp;"];

/// The page against a bridge whose simulator names instruments with hostile text, served
/// under `--symbol-alphabet printable`: every name shown verbatim, none parsed as markup.
fn hostile_page(rltop: &Path, dir: &Path, tests: &Path) -> Result<String, String> {
    let names = HOSTILE_SYMBOLS.join(",");
    let (bridge, port) = bridge(
        rltop,
        &[
            "--source",
            "sim",
            "--rate",
            "2000",
            "--symbols",
            &names,
            "--symbol-alphabet",
            "printable",
            // The test switches symbols faster than Binance's 5 requests a second.
            "--incoming-rate",
            "100",
        ],
        dir,
        "bridge-hostile-page",
    )?;
    let every: Vec<&str> = HOSTILE_SYMBOLS.into_iter().chain(["SIM4USDT"]).collect();
    let shot = dir.join("bridge-hostile-page.png");
    let out = run_bounded(
        Command::new("node")
            .arg(tests.join("hostile_page_test.mjs"))
            .arg(format!("http://127.0.0.1:{port}/?symbol=SIM4USDT"))
            .arg(&shot)
            .arg(serde_json::to_string(&every).map_err(|e| e.to_string())?)
            .env("CHROMIUM", "/usr/bin/chromium"),
        "node hostile_page_test.mjs (headless Chromium, hostile symbols)",
        Duration::from_secs(120),
    )
    .map_err(|e| format!("{e}\nbridge log:\n{}", tail(&bridge.log(), 20)))?;
    Ok(tail(&out, 1))
}

/// The crate's tests that need Debian's redis-server and nginx.
pub fn servers() -> Result<String, String> {
    crate::pyenv::ensure_debian(&[("redis-server", "redis-server"), ("nginx", "nginx")])?;
    let mut command = Command::new(env!("CARGO"));
    if crate::test::have_nextest() {
        command.args([
            "nextest",
            "run",
            "--run-ignored",
            "only",
            "-p",
            "rltop-bridge",
            "--test",
            "servers",
        ]);
    } else {
        command.args([
            "test",
            "-p",
            "rltop-bridge",
            "--test",
            "servers",
            "--",
            "--ignored",
        ]);
    }
    let out = run_bounded(
        command.current_dir(root()),
        "cargo nextest run -p rltop-bridge --test servers --run-ignored only (redis-server, nginx)",
        Duration::from_secs(600),
    )?;
    Ok(tail(&out, 2))
}
