//! The WebSocket bridge end to end, with the clients and servers its users have: Binance's
//! client libraries, unmodified and pointed at the bridge by their base URLs (the official
//! Python SDK `binance-connector` and Node connector `@binance/spot`, ccxt for Python and
//! Node, python-binance), their local order books against `rltop bridge` on a capture with
//! the simulator's books as the oracle; the generated Python package decoding `/rltop`
//! binary frames; the live page in headless Chromium (Debian); and the crate's tests that
//! start a `redis-server` and nginx (Debian).
//!
//! Every process started here is stopped when its check ends, whatever happens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rltop_devsupport::process::{run_checked as run_bounded, Running};
use rltop_devsupport::{debian, probe, pyenv, root, tail};

/// Starts `rltop bridge` with `args` on a free port, its output in `dir/name.log`; returns
/// once it answers `/healthz`.
fn bridge(rltop: &Path, args: &[&str], dir: &Path, name: &str) -> Result<(Running, u16), String> {
    let port = probe::free_port()?;
    eprintln!("$ rltop bridge --port {port} {}", args.join(" "));
    let mut command = Command::new(rltop);
    command
        .args(["bridge", "--port", &port.to_string()])
        .args(args);
    let mut process = Running::logged(
        &mut command,
        "rltop bridge",
        &dir.join(format!("{name}.log")),
    )?;
    probe::until("answering /healthz", Duration::from_secs(20), || {
        process.alive()?;
        Ok(probe::http_get(port, "/healthz").is_some())
    })
    .map_err(|e| format!("rltop bridge on {port}: {e}\n{}", process.log_tail()))?;
    Ok((process, port))
}

/// Binance's client libraries against the bridge, unmodified, only their base URLs changed:
/// the official Python SDK (`binance-connector`), ccxt (Python and Node), python-binance and
/// the official Node connector (`@binance/spot`) on a live simulator, with the `/rltop`
/// decoder; then the local order books (the SDK's, python-binance's depth caches) against
/// bridges replaying a capture, with the simulator's final books as the oracle.
pub fn binance_sdk(rltop: &Path, dir: &Path) -> Result<String, String> {
    let tests = root().join("reference/bridge/tests");
    let requirements = |folder: &str| {
        tests
            .join(folder)
            .join("requirements.txt")
            .to_string_lossy()
            .into_owned()
    };
    let py = pyenv::python(&["-r", &requirements("python")])?;
    // A venv of its own: python-binance and binance-connector both install `binance/`.
    let pb = pyenv::venv(
        "pyenv-python-binance",
        &["-r", &requirements("python-binance")],
    )?;
    debian::ensure_debian(&[("node", "nodejs"), ("npm", "npm")])?;
    npm_ci(&tests.join("node"))?;
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
    let clients = Clients {
        py,
        pb,
        tests,
        oracle,
    };
    let live = clients.live(rltop, dir)?;
    let books = clients.local_books(rltop, dir, &capture)?;
    Ok(format!("{live}\n{books}"))
}

/// `npm ci` in `folder` unless its node_modules is newer than its package-lock.json.
fn npm_ci(folder: &Path) -> Result<(), String> {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let lock = modified(folder.join("package-lock.json"));
    let installed = modified(folder.join("node_modules/.package-lock.json"));
    if installed.is_some() && installed >= lock {
        return Ok(());
    }
    run_bounded(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(folder),
        &format!("npm ci ({})", folder.display()),
        Duration::from_secs(300),
    )?;
    Ok(())
}

/// The client test suites and what they need.
struct Clients {
    /// target/pyenv: binance-connector, ccxt, the generated package.
    py: PathBuf,
    /// target/pyenv-python-binance.
    pb: PathBuf,
    /// reference/bridge/tests.
    tests: PathBuf,
    oracle: PathBuf,
}

impl Clients {
    /// pytest on `folder` (under tests/) with `marker`, against the bridge on `port`.
    fn pytest(
        &self,
        python: &Path,
        folder: &str,
        marker: &str,
        port: u16,
        what: &str,
    ) -> Result<String, String> {
        run_bounded(
            Command::new(python)
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker])
                .arg(self.tests.join(folder))
                .env("RLTOP_BRIDGE_URL", format!("http://127.0.0.1:{port}"))
                .env("RLTOP_ORACLE", &self.oracle)
                .env("RLTOP_END_TIMEOUT", "60"),
            what,
            Duration::from_secs(180),
        )
    }

    /// Everything but the local books, against a live simulator.
    fn live(&self, rltop: &Path, dir: &Path) -> Result<String, String> {
        let (bridge, port) = bridge(
            rltop,
            &["--source", "sim", "--instruments", "4", "--rate", "3000"],
            dir,
            "bridge-clients-live",
        )?;
        let with_log = |e: String| format!("{e}\nbridge log:\n{}", bridge.log_tail());
        let sdk = self
            .pytest(&self.py, "python", "not until_ended", port, "pytest -m 'not until_ended' reference/bridge/tests/python (binance-connector REST and streams, ccxt, /rltop decoded by the generated package)")
            .map_err(with_log)?;
        let pb = self
            .pytest(&self.pb, "python-binance", "not until_ended", port, "pytest -m 'not until_ended' reference/bridge/tests/python-binance (AsyncClient, BinanceSocketManager)")
            .map_err(with_log)?;
        let node = run_bounded(
            Command::new("node")
                .args([
                    "--test",
                    "--test-timeout=60000",
                    "ccxt.test.mjs",
                    "binance_spot.test.mjs",
                ])
                .current_dir(self.tests.join("node"))
                .env("RLTOP_BRIDGE_URL", format!("http://127.0.0.1:{port}")),
            "node --test reference/bridge/tests/node (ccxt and @binance/spot for Node)",
            Duration::from_secs(180),
        )
        .map_err(with_log)?;
        let node_summary: Vec<&str> = node
            .lines()
            .filter(|l| l.starts_with("# pass") || l.starts_with("# fail"))
            .collect();
        Ok(format!(
            "binance-connector, ccxt, /rltop: {}\npython-binance: {}\nnode (ccxt, @binance/spot): {}",
            tail(&sdk, 1),
            tail(&pb, 1),
            node_summary.join(", ")
        ))
    }

    /// The local-book tests, each against a bridge replaying the capture from its start
    /// (about 2.2 s of market at 0.1×: ~22 s to follow), so they see every event and end
    /// with the oracle's books.
    fn local_books(&self, rltop: &Path, dir: &Path, capture: &Path) -> Result<String, String> {
        let source = format!("pcap:{}", capture.display());
        let suites = [
            (&self.py, "python", "Binance's local-order-book procedure through binance-connector; books = REST = oracle"),
            (&self.pb, "python-binance", "python-binance's DepthCacheManager on every symbol, no re-sync; caches = REST = oracle"),
        ];
        let mut lines = Vec::new();
        for (python, folder, what) in suites {
            let (replay, port) = bridge(
                rltop,
                &["--source", &source, "--speed", "0.1"],
                dir,
                &format!("bridge-{folder}-book"),
            )?;
            let out = self
                .pytest(
                    python,
                    folder,
                    "until_ended",
                    port,
                    &format!("pytest -m until_ended reference/bridge/tests/{folder} ({what})"),
                )
                .map_err(|e| format!("{e}\nbridge log:\n{}", replay.log_tail()))?;
            lines.push(format!("{folder} local books: {}", tail(&out, 1)));
        }
        Ok(lines.join("\n"))
    }
}

/// The page in headless Chromium: book and tape update, symbol switch, reconnect; a
/// screenshot in target/e2e/bridge-page.png.
pub fn browser(rltop: &Path, dir: &Path) -> Result<String, String> {
    debian::ensure_debian(&[("chromium", "chromium"), ("node", "nodejs"), ("npm", "npm")])?;
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
    .map_err(|e| format!("{e}\nbridge log:\n{}", bridge.log_tail()))?;
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
    .map_err(|e| format!("{e}\nbridge log:\n{}", bridge.log_tail()))?;
    Ok(tail(&out, 1))
}

/// The crate's tests that need Debian's redis-server and nginx.
pub fn servers() -> Result<String, String> {
    debian::ensure_debian(&[("redis-server", "redis-server"), ("nginx", "nginx")])?;
    let mut command = rltop_devsupport::process::cargo_command();
    if rltop_devsupport::process::have_nextest() {
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
