//! The DPDK backend (Debian's libdpdk-dev, `--no-huge`, virtual devices): the crate's own
//! EAL tests; net_pcap against the kernel path, byte for byte; net_tap with a kernel
//! subscriber joining late; and the setups that cannot work, each one line naming the fix.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rltop_devsupport::process::{self, Running};
use rltop_devsupport::root;
use rltop_netlab::Netns;

/// The UDP payloads of a capture, by destination, in order.
fn payloads(path: &Path) -> Result<std::collections::BTreeMap<String, Vec<Vec<u8>>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = rltop_capture::PcapReader::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::collections::BTreeMap::<String, Vec<Vec<u8>>>::new();
    for p in reader {
        let p = p.map_err(|e| format!("{}: {e}", path.display()))?;
        out.entry(p.dst.to_string()).or_default().push(p.payload);
    }
    Ok(out)
}

/// Setups that cannot work are one line, exit 2, naming the fix: no multicast route (a
/// namespace with only loopback), a DPDK EAL without a device, an EAL without hugepages.
pub fn bad_setups(rltop: &Path) -> Result<String, String> {
    let ns = Netns::new(format!("rltop-noroute-{}", std::process::id() % 10_000))?;
    let check = |mut cmd: Command, what: &str, wants: &[&str]| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or_default();
        if out.status.code() != Some(2) || !wants.iter().all(|w| last.contains(w)) {
            return Err(format!(
                "{what}: exit {}, last line `{last}`, wanted {wants:?}",
                out.status
            ));
        }
        Ok(())
    };
    let mut c = ns.command(rltop);
    c.args(["publish", "--for", "1s"]);
    check(
        c,
        "publish without a multicast route",
        &[
            "no multicast route to 239.255.0.1",
            "ip route add 224.0.0.0/4 dev",
        ],
    )?;
    let mut c = ns.command(rltop);
    c.args(["listen", "--for", "1s"]);
    check(
        c,
        "listen without a multicast route",
        &["cannot join", "ip route add 224.0.0.0/4 dev"],
    )?;
    let mut c = Command::new(rltop);
    c.args([
        "publish",
        "--for",
        "1s",
        "--backend",
        "dpdk",
        "--eal",
        "--no-pci --no-huge -m 256 --file-prefix rltop-e2e-novdev",
    ]);
    check(
        c,
        "DPDK without a device",
        &["no DPDK port", "--vdev net_null0"],
    )?;
    // Without hugepages reserved (as here and on CI), an EAL asked to use them fails.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let no_hugepages = meminfo
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["HugePages_Total:", "0"]);
    if no_hugepages {
        let mut c = Command::new(rltop);
        c.args([
            "publish",
            "--for",
            "1s",
            "--backend",
            "dpdk",
            "--eal",
            "--no-pci -m 256 --vdev net_null0 --file-prefix rltop-e2e-nohuge",
        ]);
        check(
            c,
            "DPDK without hugepages",
            &["EAL initialisation failed", "--no-huge"],
        )?;
    } else {
        eprintln!(
            "(hugepages are reserved on this machine: the no-hugepages error cannot be provoked)"
        );
    }
    Ok("no route (publish, listen), DPDK without a device or hugepages: one line each, exit 2, naming the fix".into())
}

/// The DPDK backend into net_pcap and the kernel path (recorded by `rltop listen
/// --pcap-out` on loopback), same seed, fixed clock: the same datagrams, byte for byte, on
/// every group; the capture reads back with `tshark` too, checksums good.
pub fn pcap_matches_kernel(rltop: &Path, dir: &Path) -> Result<String, String> {
    let ns = Netns::new(format!("rltop-cmp-{}", std::process::id() % 10_000))?;
    let (kernel, dpdk) = (dir.join("kernel-path.pcap"), dir.join("dpdk-path.pcap"));
    let _ = std::fs::remove_file(&dpdk);
    let common = [
        "--clock", "fixed", "--seed", "5", "--events", "5000", "--tail", "1", "--rate", "20000",
    ];
    let listener = Running::start(
        ns.command(rltop)
            .args([
                "listen",
                "--iface",
                "lo",
                "--until-end",
                "--for",
                "30s",
                "--quiet",
                "--pcap-out",
            ])
            .arg(&kernel)
            .stdout(Stdio::null()),
        "rltop listen",
    )?;
    let groups = rltop_net::Plan::default()
        .endpoints()
        .iter()
        .map(|e| *e.addr.ip())
        .collect::<Vec<_>>();
    ns.until_joined(&groups)?;
    let publisher = Running::start(
        ns.command(rltop)
            .args(["publish", "--iface", "lo"])
            .args(common)
            .stdout(Stdio::null()),
        "rltop publish",
    )?;
    publisher.finish(Duration::from_secs(30))?;
    listener.finish(Duration::from_secs(40))?;
    let eal = format!(
        "--no-huge -m 256 --no-pci --log-level=error --file-prefix rltop-e2e-pcap --vdev net_pcap0,tx_pcap={}",
        dpdk.display()
    );
    let publisher = Running::start(
        Command::new(rltop)
            .args(["publish", "--backend", "dpdk", "--eal", &eal])
            .args(common)
            .stdout(Stdio::null()),
        "rltop publish",
    )?;
    publisher.finish(Duration::from_secs(30))?;
    let (k, d) = (payloads(&kernel)?, payloads(&dpdk)?);
    let datagrams: usize = d.values().map(Vec::len).sum();
    if k != d {
        let differ: Vec<String> = d
            .keys()
            .chain(k.keys())
            .filter(|g| k.get(*g) != d.get(*g))
            .map(|g| {
                format!(
                    "{g}: kernel {} datagrams, DPDK {}",
                    k.get(g).map_or(0, Vec::len),
                    d.get(g).map_or(0, Vec::len)
                )
            })
            .collect();
        return Err(format!(
            "DPDK net_pcap and kernel path differ: {}",
            differ.join("; ")
        ));
    }
    let tshark = Command::new("tshark")
        .args(["-r"])
        .arg(&dpdk)
        .args([
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-T",
            "fields",
            "-e",
            "ip.checksum.status",
            "-e",
            "udp.checksum.status",
        ])
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    let lines = String::from_utf8_lossy(&tshark.stdout);
    let good = lines
        .lines()
        .filter(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "1"])
        .count();
    if !tshark.status.success() || good != datagrams {
        return Err(format!(
            "tshark read {good} frames with good checksums of {datagrams}: {}",
            String::from_utf8_lossy(&tshark.stderr)
        ));
    }
    Ok(format!(
        "{datagrams} datagrams on {} groups identical on both paths; tshark reads all {good} frames, IPv4 and UDP checksums good",
        d.len()
    ))
}

/// The DPDK backend on a net_tap interface, a kernel subscriber on that interface joining
/// late: it rebuilds the books from the snapshot cycle, equal to the oracle's.
pub fn tap_late_joiner(rltop: &Path, dir: &Path) -> Result<String, String> {
    let ns = Netns::new(format!("rltop-tap-{}", std::process::id() % 10_000))?;
    let tap = format!("rtap{}", std::process::id() % 10_000);
    let (books, oracle) = (dir.join("tap-listen.json"), dir.join("tap-oracle.json"));
    let eal = format!("--no-huge -m 256 --no-pci --log-level=error --file-prefix rltop-e2e-tap --vdev net_tap0,iface={tap}");
    let publisher = Running::start(
        ns.command(rltop)
            .args([
                "publish",
                "--backend",
                "dpdk",
                "--eal",
                &eal,
                "--src",
                "10.232.0.2:40000",
                "--seed",
                "21",
                "--events",
                "40000",
                "--rate",
                "20000",
                "--tail",
                "2.5",
                "--books",
            ])
            .arg(&oracle)
            .stdout(Stdio::null()),
        "rltop publish",
    )?;
    // The interface exists once the port is open.
    let start = Instant::now();
    while ns.exec("ip", &["link", "show", &tap]).is_err() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!("net_tap interface {tap} did not appear"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ns.exec("ip", &["addr", "add", "10.232.0.1/24", "dev", &tap])?;
    ns.exec("ip", &["link", "set", &tap, "up"])?;
    ns.exec("ip", &["route", "add", "224.0.0.0/4", "dev", &tap])?;
    let listener = Running::start(
        ns.command(rltop)
            .args([
                "listen",
                "--iface",
                &tap,
                "--until-end",
                "--for",
                "30s",
                "--quiet",
                "--books-out",
            ])
            .arg(&books)
            .stdout(Stdio::null()),
        "rltop listen",
    )?;
    publisher.finish(Duration::from_secs(40))?;
    let summary = listener.finish(Duration::from_secs(40))?;
    let got = std::fs::read_to_string(&books).map_err(|e| format!("{}: {e}", books.display()))?;
    let want =
        std::fs::read_to_string(&oracle).map_err(|e| format!("{}: {e}", oracle.display()))?;
    if got != want {
        return Err(format!(
            "net_tap: the subscriber's books differ from the oracle's\n{summary}"
        ));
    }
    Ok(format!("books equal the oracle's; {}", summary.trim()))
}

/// The DPDK crate's own tests (EAL on net_pcap, net_null, net_ring; EAL errors), built with
/// the `dpdk` feature in the e2e target directory. Each test file holds one EAL test and is
/// its own process, as EAL initialises once.
pub fn crate_tests() -> Result<String, String> {
    let runner: &[&str] = if process::have_nextest() {
        &["nextest", "run"]
    } else {
        &["test"]
    };
    let target = crate::target_dir();
    let target = target.to_string_lossy();
    let mut args = runner.to_vec();
    args.extend([
        "-p",
        "rltop-dpdk",
        "--features",
        "dpdk",
        "--target-dir",
        &target,
    ]);
    let out = process::run_checked(
        process::cargo_command().args(&args).current_dir(root()),
        &format!("cargo {} -p rltop-dpdk --features dpdk", runner.join(" ")),
        Duration::from_secs(600),
    )?;
    Ok(rltop_devsupport::tail(&out, 2))
}
