//! The C subscriber (`reference/c-subscriber`, libev and `generated/c/rltop.h`): against
//! `rltop publish` across two namespaces, N valid messages and no error; against bad
//! traffic, every error counted and nothing crashing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rltop_devsupport::process::Running;
use rltop_devsupport::root;
use rltop_netlab::{link, Netns};

/// The groups the C subscriber joins by default (reference/c-subscriber/rltop_bbo.c).
const BBO_GROUPS: [std::net::Ipv4Addr; 2] = [
    std::net::Ipv4Addr::new(239, 255, 0, 2),
    std::net::Ipv4Addr::new(239, 255, 2, 1),
];

/// `rltop-bbo` built into `dir` with gcc, warnings as errors.
fn build(dir: &Path) -> Result<PathBuf, String> {
    let bin = dir.join("rltop-bbo");
    let out = Command::new("gcc")
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("generated/c"))
        .arg(root().join("reference/c-subscriber/rltop_bbo.c"))
        .args(["-lev", "-o"])
        .arg(&bin)
        .output()
        .map_err(|e| format!("cannot run gcc: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "C subscriber does not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}

/// The C subscriber against `rltop publish`, in the namespaces (no loss).
pub fn against_publish(rltop: &Path, dir: &Path) -> Result<String, String> {
    let bin = build(dir)?;
    let l = link("c")?;
    let subscriber = Running::start(
        l.subscriber
            .command(&bin)
            .args([
                "--iface",
                "10.231.0.2",
                "--for",
                "6",
                "--min-messages",
                "200",
                "--quiet",
            ])
            .stdout(Stdio::piped()),
        "rltop-bbo",
    )?;
    l.subscriber.until_joined(&BBO_GROUPS)?;
    let publisher = Running::start(
        l.publisher
            .command(rltop)
            .args([
                "publish", "--iface", &l.pub_if, "--for", "4s", "--tail", "0.5",
            ])
            .stdout(Stdio::null()),
        "rltop publish",
    )?;
    publisher.finish(Duration::from_secs(20))?;
    let (status, stdout, stderr) = subscriber.wait(Duration::from_secs(20))?;
    if !status.success() || !stdout.contains("errors=0") {
        return Err(format!("rltop-bbo: {status}\n{stdout}{stderr}"));
    }
    Ok(stdout.trim().to_string())
}

/// The C subscriber against bad traffic (reference/c-subscriber/test_sender.py: garbage,
/// a corrupted checksum, a bad enum, truncations, a duplicate and a gap): every error is
/// counted, nothing crashes, the summary is what the sender says it should be, exit 1.
pub fn bad_input(dir: &Path) -> Result<String, String> {
    let bin = &build(dir)?;
    let ns = Netns::new(format!("rltop-cbad-{}", std::process::id() % 10_000))?;
    let subscriber = Running::start(
        ns.command(bin)
            .args(["--iface", "127.0.0.1", "--for", "4", "--quiet"])
            .stdout(Stdio::piped()),
        "rltop-bbo",
    )?;
    ns.until_joined(&BBO_GROUPS)?;
    let sender = ns
        .command(Path::new("python3"))
        .arg(root().join("reference/c-subscriber/test_sender.py"))
        .args([
            "--count",
            "50",
            "--delay",
            "0.001",
            "--garbage",
            "--dup-and-gap",
        ])
        .output()
        .map_err(|e| format!("cannot run test_sender.py: {e}"))?;
    if !sender.status.success() {
        return Err(format!(
            "test_sender.py failed: {}",
            String::from_utf8_lossy(&sender.stderr)
        ));
    }
    let sent = String::from_utf8_lossy(&sender.stdout);
    let expect = sent
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("expect: "))
        .ok_or("test_sender.py printed no `expect:` line")?
        .to_string();
    let (status, out, _) = subscriber.wait(Duration::from_secs(20))?;
    let summary = out
        .lines()
        .last()
        .unwrap_or_default()
        .trim_start_matches("rltop-bbo: ")
        .to_string();
    if status.code() != Some(1) || summary != expect {
        return Err(format!(
            "rltop-bbo on bad input: exit {status}, summary `{summary}`, expected `{expect}`"
        ));
    }
    Ok(format!("bad input counted: {summary} (exit 1, as it must)"))
}
