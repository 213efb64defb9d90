//! The `rltop` command as a user meets it: help, errors (one line, exit 2, naming where),
//! and a publish → listen round trip on loopback multicast.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn rltop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args(args)
        .output()
        .expect("rltop runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const SUBCOMMANDS: [&str; 7] = [
    "sim", "publish", "listen", "replay", "dump", "plan", "bridge",
];

#[test]
fn help_lists_every_subcommand_and_each_has_help() {
    let o = rltop(&["--help"]);
    assert!(o.status.success());
    let (out, _) = text(&o);
    for s in SUBCOMMANDS {
        assert!(out.contains(&format!("  {s} ")), "{s} missing from:\n{out}");
        let o = rltop(&[s, "--help"]);
        assert_eq!(o.status.code(), Some(0), "rltop {s} --help");
        assert!(text(&o).0.contains("Usage: rltop"), "rltop {s} --help");
    }
}

#[test]
fn a_bad_plan_is_named_by_file_line_and_column() {
    let plan = tmp("bad.toml");
    std::fs::write(
        &plan,
        "groups = 2\n\n[streams.full_book]\naddr = \"10.1.2.3\"\nport = 9001\n[streams.top_of_book]\naddr = \"239.255.0.2\"\nport = 9001\n[streams.incremental]\naddr = \"239.255.1.1\"\nport = 9002\n[streams.trades]\naddr = \"239.255.2.1\"\nport = 9003\n[streams.statistics]\naddr = \"239.255.3.1\"\nport = 9004\n",
    )
    .unwrap();
    let o = rltop(&["plan", "--check", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let (_, err) = text(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("{}:4:8:", plan.display()))
            && err.contains("not a multicast address"),
        "{err}"
    );
    // A syntax error: the parser's own position.
    std::fs::write(&plan, "groups = \n").unwrap();
    let (_, err) = text(&rltop(&["plan", "--check", plan.to_str().unwrap()]));
    assert!(err.contains(&format!("{}:1:10", plan.display())), "{err}");
    // The draft's plan, printed, checks.
    let good = tmp("good.toml");
    std::fs::write(&good, text(&rltop(&["plan"])).0).unwrap();
    let o = rltop(&["plan", "--check", good.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    // The schema is JSON naming the plan's fields.
    let schema: serde_json::Value =
        serde_json::from_str(&text(&rltop(&["plan", "--schema"])).0).unwrap();
    assert!(schema["properties"]["streams"].is_object(), "{schema}");
}

#[test]
fn errors_name_what_is_wrong() {
    let o = rltop(&["listen", "--iface", "nosuch0", "--for", "1s"]);
    assert_eq!(o.status.code(), Some(2));
    let (_, err) = text(&o);
    assert!(
        err.contains("unknown interface `nosuch0`") && err.contains("lo "),
        "{err}"
    );
    // A corrupt capture: the byte offset.
    let cap = tmp("corrupt.pcap");
    let mut bytes = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0];
    bytes.extend([0; 8]);
    bytes.extend(65535u32.to_le_bytes());
    bytes.extend(1u32.to_le_bytes());
    bytes.extend([0; 8]);
    bytes.extend(100_000u32.to_le_bytes()); // captured length past the snap length
    bytes.extend(100_000u32.to_le_bytes());
    std::fs::write(&cap, &bytes).unwrap();
    let o = rltop(&["dump", cap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let (_, err) = text(&o);
    assert!(
        err.contains("at byte 40: record of 100000 bytes cut short"),
        "{err}"
    );
    let o = rltop(&["publish", "--source", "ftp://x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o)
        .1
        .contains("invalid value 'ftp://x' for '--source <SOURCE>': expected sim, pcap:FILE"));
    #[cfg(not(feature = "dpdk"))]
    {
        let o = rltop(&["publish", "--backend", "dpdk", "--eal", "--no-huge"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).1.contains("built without DPDK"));
    }
}

#[test]
fn dump_prints_the_simulators_messages_as_canonical_json() {
    let cap = tmp("sim.pcap");
    let o = rltop(&[
        "sim",
        "--out",
        cap.to_str().unwrap(),
        "--events",
        "300",
        "--quiet-tail",
        "1",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&rltop(&["dump", cap.to_str().unwrap()]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() > 300, "{} lines", lines.len());
    let types: std::collections::BTreeSet<String> = lines
        .iter()
        .map(|l| {
            let json = &l[l.find('{').expect("a JSON object")..];
            let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
            v["type"].as_str().unwrap().to_string()
        })
        .collect();
    for t in [
        "AddOrder",
        "OrderBookSnapshot",
        "InstrumentDefinition",
        "Heartbeat",
        "TopOfBookSnapshot",
    ] {
        assert!(types.contains(t), "{t} not in {types:?}");
    }
}

/// A plan of its own (groups nobody else in the test run uses), on loopback.
fn loopback_plan(base: u8) -> PathBuf {
    plan_file(base, false)
}

/// [`loopback_plan`], with a B line on 239.254.20–24.
fn plan_file(base: u8, b_line: bool) -> PathBuf {
    let plan = tmp(&format!("lo-{base}.toml"));
    let mut text = String::from("hold_us = 50\n");
    for (table, first) in [("streams", 10), ("b_line", 20)]
        .into_iter()
        .take(1 + usize::from(b_line))
    {
        for (k, (name, port)) in [
            ("full_book", 19001),
            ("top_of_book", 19001),
            ("incremental", 19002),
            ("trades", 19003),
            ("statistics", 19004),
        ]
        .into_iter()
        .enumerate()
        {
            let octet = first + k as u8;
            text +=
                &format!("[{table}.{name}]\naddr = \"239.254.{octet}.{base}\"\nport = {port}\n");
        }
    }
    std::fs::write(&plan, text).unwrap();
    plan
}

#[test]
fn publish_and_listen_on_loopback_agree_with_the_engines_books() {
    let plan = loopback_plan(7);
    let oracle = tmp("oracle.json");
    let (books, out) = listen_while(Some(&plan), "lo", || {
        let o = Command::new(env!("CARGO_BIN_EXE_rltop"))
            .args([
                "publish", "--iface", "lo", "--events", "5000", "--tail", "0.5", "--plan",
            ])
            .arg(&plan)
            .arg("--books")
            .arg(&oracle)
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?}", text(&o));
    });
    assert!(
        out.contains(" 0 rejected") && out.contains("4 instruments (4 live)"),
        "{out}"
    );
    assert_eq!(books, std::fs::read_to_string(&oracle).unwrap());
}

#[test]
fn garbage_datagrams_are_counted_not_fatal() {
    let plan = loopback_plan(8);
    let listener = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args(["listen", "--iface", "lo", "--for", "1500ms", "--plan"])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = socket2::SockRef::from(&socket);
    sock.set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST)
        .unwrap();
    for junk in [&b"hello"[..], &[0u8; 40][..], &[0xFFu8; 300][..]] {
        socket.send_to(junk, "239.254.12.8:19002").unwrap();
    }
    let l = listener.wait_with_output().unwrap();
    let (out, err) = text(&l);
    assert!(l.status.success(), "{out}{err}");
    assert!(
        out.contains("in 3 datagrams") && out.contains(" 3 rejected"),
        "{out}{err}"
    );
    assert!(
        err.contains("BadMagic at byte 0") || err.contains("Truncated at byte 0"),
        "{err}"
    );
}

/// `rltop sim` on `plan` (4000 events): the capture and the engines' books.
fn sim_capture(name: &str, plan: &PathBuf) -> (PathBuf, PathBuf) {
    let (cap, oracle) = (
        tmp(&format!("{name}.pcap")),
        tmp(&format!("{name}-oracle.json")),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args(["sim", "--events", "4000", "--quiet-tail", "1", "--out"])
        .arg(&cap)
        .arg("--books")
        .arg(&oracle)
        .arg("--plan")
        .arg(plan)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    (cap, oracle)
}

/// Runs `rltop listen` on loopback with `plan` (None: the draft's) until the end of the
/// session, while `send` runs; returns the books it wrote and its stdout.
fn listen_while(plan: Option<&PathBuf>, name: &str, send: impl FnOnce()) -> (String, String) {
    let books = tmp(&format!("{name}-listen.json"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rltop"));
    cmd.args([
        "listen",
        "--iface",
        "lo",
        "--until-end",
        "--for",
        "30s",
        "--books-out",
    ])
    .arg(&books);
    if let Some(p) = plan {
        cmd.arg("--plan").arg(p);
    }
    let listener = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    send();
    let l = listener.wait_with_output().unwrap();
    let (out, err) = text(&l);
    assert!(l.status.success(), "{out}{err}");
    (std::fs::read_to_string(&books).unwrap(), out)
}

#[test]
fn a_capture_replayed_to_the_groups_rebuilds_the_oracle_books() {
    let plan = loopback_plan(11);
    let (cap, oracle) = sim_capture("replay", &plan);
    let (books, out) = listen_while(Some(&plan), "replay", || {
        let o = rltop(&[
            "replay",
            cap.to_str().unwrap(),
            "--speed",
            "50",
            "--iface",
            "lo",
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        assert!(text(&o).1.contains("datagrams sent"));
    });
    assert!(out.contains(" 0 rejected"), "{out}");
    assert_eq!(books, std::fs::read_to_string(&oracle).unwrap());
}

#[test]
fn a_capture_as_the_source_is_published_anew_with_the_same_books() {
    // Recorded on A and B lines: every message is in the capture twice.
    let ab = plan_file(12, true);
    let (cap, oracle) = sim_capture("source", &ab);
    let plan = loopback_plan(9);
    let source = format!("pcap:{}", cap.display());
    let (books, _) = listen_while(Some(&plan), "source", || {
        let o = Command::new(env!("CARGO_BIN_EXE_rltop"))
            .args([
                "publish", "--iface", "lo", "--flat", "--tail", "0.3", "--source", &source,
                "--plan",
            ])
            .arg(&plan)
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?}", text(&o));
        assert!(!text(&o).1.contains("refused"), "{:?}", text(&o));
    });
    assert_eq!(books, std::fs::read_to_string(&oracle).unwrap());
}

#[test]
fn listen_json_lines_are_events() {
    let plan = loopback_plan(10);
    let listener = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args([
            "listen",
            "--iface",
            "lo",
            "--until-end",
            "--for",
            "30s",
            "--json",
            "--plan",
        ])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let o = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args([
            "publish", "--iface", "lo", "--events", "2000", "--tail", "0.3", "--plan",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let l = listener.wait_with_output().unwrap();
    let (out, err) = text(&l);
    let kinds: std::collections::BTreeSet<String> = out
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            v.as_object().unwrap().keys().next().unwrap().clone()
        })
        .collect();
    assert!(
        kinds.contains("book") && kinds.contains("trade"),
        "{kinds:?}"
    );
    assert!(
        err.contains("rltop listen: ") && err.contains("latency"),
        "the summary goes to stderr: {err}"
    );
}

/// `GET path` on loopback: (status, body), or None if nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some((
        text.get(9..12)?.parse().ok()?,
        text.split_once("\r\n\r\n")?.1.to_string(),
    ))
}

/// Runs `rltop bridge` with `env` on a free port (given as WS_PORT) until `probe` has its
/// answer.
fn bridge_with_env<T>(args: &[&str], env: &[(&str, &str)], probe: impl Fn(u16) -> Option<T>) -> T {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut bridge = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .arg("bridge")
        .args(args)
        .env("WS_PORT", port.to_string())
        .envs(env.iter().copied())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let answer = loop {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(a) = probe(port) {
            break Some(a);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
    };
    let _ = bridge.kill();
    let _ = bridge.wait();
    answer.expect("the bridge answered on WS_PORT")
}

#[test]
fn bridge_takes_seed_002s_environment_variables() {
    // WS_PORT is the port; WS_AUTH_TOKEN is required of clients.
    let (without, with) = bridge_with_env(
        &["--rate", "200"],
        &[("WS_AUTH_TOKEN", "from-env")],
        |port| {
            Some((
                http_get(port, "/api/v3/ping")?.0,
                http_get(port, "/api/v3/ping?token=from-env")?.0,
            ))
        },
    );
    assert_eq!((without, with), (401, 200));
    // REDIS_URL is where `--source redis` listens (nothing there: stale, naming it).
    let health = bridge_with_env(
        &["--source", "redis"],
        &[("REDIS_URL", "redis://127.0.0.1:1")],
        |port| {
            let (_, body) = http_get(port, "/healthz")?;
            body.contains("\"stale\"").then_some(body)
        },
    );
    assert!(health.contains("redis://127.0.0.1:1"), "{health}");
    let o = rltop(&["bridge", "--source", "nonsense"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains(
            "invalid value 'nonsense' for '--source <SOURCE>': expected sim, multicast, pcap:FILE, redis or redis://HOST:PORT"
        ),
        "{err}"
    );
}

#[test]
fn the_bridge_and_the_gateway_take_the_same_simulator_arguments_with_the_same_limits() {
    for command in ["bridge", "gateway"] {
        for (args, want) in [
            (
                &["--rate", "0"][..],
                "invalid value '0' for '--rate <RATE>': must be 1 to 1e7 events a second",
            ),
            (
                &["--instruments", "0"][..],
                "invalid value '0' for '--instruments <INSTRUMENTS>'",
            ),
            (
                &["--symbols", "A,B", "--seed", "x"][..],
                "invalid value 'x' for '--seed <SEED>'",
            ),
        ] {
            let o = rltop(&[&[command][..], args].concat());
            let (_, err) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{command} {args:?}: {err}");
            assert!(err.contains(want), "{command} {args:?}: {err}");
        }
    }
}
