//! `cargo xtask bench wireshark [--messages N] [--rounds R] [--json]`: the generated Lua
//! dissector (`generated/wireshark/rltop.lua`) against Wireshark's own C dissectors for
//! MoldUDP64 and Nasdaq ITCH, per message, in the same run.
//!
//! * RLTOP: a simulator capture of about `--messages` messages, dissected by the generated
//!   dissector: `tshark -X lua_script:rltop.lua -r rltop.pcap -T fields -e rltop.type`.
//! * ITCH: the generated ITCH dissector (`generated/itch50/wireshark/itch.lua`) on the peer's
//!   capture, the like-for-like row.
//! * The peer: the ITCH 5.0 sample of `bench/src/itch.rs`, `--messages` messages in MTU-sized
//!   MoldUDP64 packets, dissected by Wireshark's `moldudp64` and `nasdaq_itch` (Decode As):
//!   `tshark -r itch.pcap -d udp.port==26477,moldudp64 -d moldudp64.payload,nasdaq_itch -T
//!   fields -e nasdaq-itch.message_type`. (Wireshark 4.0's nasdaq_itch predates ITCH 5.0 and
//!   reads these messages with its older layouts; what is timed is its work per message.)
//!
//! Each side's time per message is its run's wall time less tshark's start-up (the same
//! command on an empty capture), over its messages; best of `--rounds`. Both count the
//! messages they dissected, which must be the messages written. tshark runs as `nobody`:
//! Wireshark refuses Lua scripts as root.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;
use rltop_capture::PcapWriter;
use rltop_runtime::moldudp64;

#[derive(clap::Parser)]
#[command(name = "bench-wireshark", about)]
struct Args {
    /// Messages in each capture (about, for the simulator's).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..))]
    messages: u64,
    /// Rounds per dissector.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// The issue's target: the generated dissector within this many times the C dissectors' time
/// per message (judged on the like-for-like row: ITCH on the same capture).
const TARGET: f64 = 3.0;

const ITCH_PORT: u16 = 26_477;

/// A directory `nobody` can read and write into, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("rltop-bench-wireshark-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        Ok(Scratch(dir))
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.0.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| e.to_string())?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A simulator capture of about `messages` messages, and how many it holds.
fn rltop_capture(messages: u64) -> Result<(Vec<u8>, u64), String> {
    // The simulator publishes about 1.4 messages an order-flow event.
    let cfg = rltop_sim::Config {
        events: messages * 5 / 7,
        quiet_tail_s: 1,
        ..rltop_sim::Config::default()
    };
    let (datagrams, _) = rltop_sim::Simulation::new(cfg).run();
    let source = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40_000);
    let mut w = PcapWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    let mut count = 0;
    for d in &datagrams {
        count += rltop::messages(&d.bytes).count() as u64;
        w.write(d.time_ns, source, d.dst, &d.bytes)
            .map_err(|e| e.to_string())?;
    }
    Ok((w.into_inner(), count))
}

/// The ITCH sample in MoldUDP64 packets of at most 1 472 bytes, as a capture.
fn itch_capture(messages: u64) -> Result<Vec<u8>, String> {
    let source = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40_000);
    let feed = SocketAddrV4::new(Ipv4Addr::new(233, 54, 12, 111), ITCH_PORT);
    let mut w = PcapWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    let mut writer = moldudp64::Writer::new("BENCH00001", 1);
    let mut t = 1_700_000_000_000_000_000u64;
    for m in rltop_bench::itch::sample(messages as usize) {
        if writer.len() + 2 + m.len() > 1_472 {
            t += 1_000;
            w.write(t, source, feed, &writer.finish())
                .map_err(|e| e.to_string())?;
        }
        writer.push(&m).map_err(|e| e.to_string())?;
    }
    w.write(t + 1_000, source, feed, &writer.finish())
        .map_err(|e| e.to_string())?;
    Ok(w.into_inner())
}

/// tshark as nobody in `dir`; its wall time and stdout.
fn tshark(dir: &Path, args: &[String]) -> Result<(f64, String), String> {
    let start = Instant::now();
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--", "tshark"])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() || String::from_utf8_lossy(&out.stderr).contains("Lua") {
        return Err(format!(
            "tshark {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((secs, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Messages a `-T fields -e X` run printed: one value a message, comma-joined per packet
/// (a value may itself be a quoted comma: ITCH's type code ',' never occurs in the sample).
fn counted(fields: &str) -> u64 {
    fields
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').count() as u64)
        .sum()
}

/// One side: best seconds per message over the rounds, after start-up is taken off.
fn per_message(
    dir: &Path,
    args: &[String],
    empty: &[String],
    messages: u64,
    rounds: u64,
) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let (startup, _) = tshark(dir, empty)?;
        let (secs, out) = tshark(dir, args)?;
        let n = counted(&out);
        if n != messages {
            return Err(format!(
                "tshark {} dissected {n} messages of {messages}",
                args.join(" ")
            ));
        }
        best = best.min((secs - startup).max(0.0) / messages as f64);
    }
    Ok(best)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn run(args: &Args) -> Result<(), String> {
    rltop_devsupport::debian::ensure_debian(&[("tshark", "tshark")])?;
    let scratch = Scratch::new()?;
    for (name, path) in [
        ("rltop.lua", "generated/wireshark/rltop.lua"),
        ("itch.lua", "generated/itch50/wireshark/itch.lua"),
    ] {
        let lua = rltop_devsupport::root().join(path);
        scratch.put(
            name,
            &std::fs::read(&lua).map_err(|e| format!("{}: {e}", lua.display()))?,
        )?;
    }
    let (rltop, rltop_messages) = rltop_capture(args.messages)?;
    scratch.put("rltop.pcap", &rltop)?;
    scratch.put("itch.pcap", &itch_capture(args.messages)?)?;
    scratch.put(
        "empty.pcap",
        &PcapWriter::new(Vec::new())
            .map_err(|e| e.to_string())?
            .into_inner(),
    )?;
    let lua_args = |pcap: &str| {
        strings(&[
            "-X",
            "lua_script:rltop.lua",
            "-r",
            pcap,
            "-T",
            "fields",
            "-e",
            "rltop.type",
        ])
    };
    let decode_as = format!("udp.port=={ITCH_PORT},moldudp64");
    let c_args = |pcap: &str| {
        strings(&[
            "-r",
            pcap,
            "-d",
            &decode_as,
            "-d",
            "moldudp64.payload,nasdaq_itch",
            "-T",
            "fields",
            "-e",
            "nasdaq-itch.message_type",
        ])
    };
    let lua = per_message(
        &scratch.0,
        &lua_args("rltop.pcap"),
        &lua_args("empty.pcap"),
        rltop_messages,
        args.rounds,
    )?;
    let itch_decode_as = format!("udp.port=={ITCH_PORT},itch");
    let itch_args = |pcap: &str| {
        strings(&[
            "-X",
            "lua_script:itch.lua",
            "-r",
            pcap,
            "-d",
            &itch_decode_as,
            "-T",
            "fields",
            "-e",
            "itch.type",
        ])
    };
    let itch = per_message(
        &scratch.0,
        &itch_args("itch.pcap"),
        &itch_args("empty.pcap"),
        args.messages,
        args.rounds,
    )?;
    let c = per_message(
        &scratch.0,
        &c_args("itch.pcap"),
        &c_args("empty.pcap"),
        args.messages,
        args.rounds,
    )?;
    let ratio = itch / c;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "rltop_messages": rltop_messages,
                "itch_messages": args.messages,
                "rltop_lua_us_per_message": lua * 1e6,
                "itch_lua_us_per_message": itch * 1e6,
                "c_us_per_message": c * 1e6,
                "ratio": ratio,
                "target": TARGET,
                "met": ratio <= TARGET,
            })
        );
        return Ok(());
    }
    println!(
        "tshark -T fields, time per message after start-up, best of {} rounds\n",
        args.rounds
    );
    println!("| dissector | capture | messages | µs per message | vs C |");
    println!("|---|---|---:|---:|---:|");
    println!(
        "| generated Lua (itch.lua) | ITCH 5.0 over MoldUDP64 | {} | {:.2} | {ratio:.2}× |",
        args.messages,
        itch * 1e6
    );
    println!(
        "| generated Lua (rltop.lua) | simulator, RLTOP | {rltop_messages} | {:.2} | {:.2}× |",
        lua * 1e6,
        lua / c
    );
    println!(
        "| Wireshark's C moldudp64 + nasdaq_itch | ITCH 5.0 over MoldUDP64 | {} | {:.2} | 1.00× |",
        args.messages,
        c * 1e6
    );
    println!(
        "\ntarget ≤ {TARGET}× the C dissectors: {}",
        if ratio <= TARGET { "met" } else { "NOT met" }
    );
    Ok(())
}

fn main() -> ExitCode {
    rltop_devsupport::exit(run(&Args::parse()))
}
