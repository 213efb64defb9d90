//! ITCH 5.0 over MoldUDP64 in a capture: RITCH's published sample, then the synthetic sample
//! of `bench/src/itch.rs` (for the types RITCH's lacks), packed into
//! MTU-sized MoldUDP64 packets, written as a pcap, read back through `rltop-capture`, walked
//! with the generated crate's `packet()`, and dissected by tshark's own MoldUDP64 dissector,
//! which must agree packet by packet and block by block.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command;

use rltop_capture::{PcapReader, PcapWriter};
use rltop_itch50 as itch;
use rltop_runtime::moldudp64;

/// The feed's port and group (NASDAQ's are per venue; any will do for a capture).
const FEED: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(233, 54, 12, 111), 26_477);
const SOURCE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40_000);
const SESSION: &str = "SAMPLE0001";
/// The largest MoldUDP64 payload that fits a 1 500-byte MTU with IPv4 and UDP headers.
const MAX_PAYLOAD: usize = 1_472;

/// One packet as we walked it: sequence, count, and each block's sequence and length.
type Walked = (u64, u16, Vec<(u64, usize)>);

/// The sample in MoldUDP64 packets, ending with a heartbeat and the end of the session.
fn packets(messages: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let mut writer = moldudp64::Writer::new(SESSION, 1);
    let mut out = Vec::new();
    for m in messages {
        if writer.len() + 2 + m.len() > MAX_PAYLOAD {
            out.push(writer.finish());
        }
        writer.push(m).map_err(|e| e.to_string())?;
    }
    out.push(writer.finish());
    out.push(writer.heartbeat().to_vec());
    out.push(writer.end_of_session().to_vec());
    Ok(out)
}

/// Writes the capture and reads it back through `rltop-capture` and the generated crate:
/// every message back in order, sequence numbers continuous. Returns each packet's walk.
fn write_and_walk(pcap: &Path, messages: &[Vec<u8>]) -> Result<Vec<Walked>, String> {
    let file = std::fs::File::create(pcap).map_err(|e| format!("{}: {e}", pcap.display()))?;
    let mut writer = PcapWriter::new(std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
    for (i, p) in packets(messages)?.iter().enumerate() {
        let t = 1_700_000_000_000_000_000 + i as u64 * 1_000;
        writer
            .write(t, SOURCE, FEED, p)
            .map_err(|e| e.to_string())?;
    }
    drop(writer.into_inner());
    let file = std::fs::File::open(pcap).map_err(|e| e.to_string())?;
    let mut reader = PcapReader::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    let (mut next, mut got, mut walked) = (1u64, 0usize, Vec::new());
    while let Some(datagram) = reader.next_packet().map_err(|e| e.to_string())? {
        let (header, blocks) = itch::packet(&datagram.payload).map_err(|e| e.to_string())?;
        if header.sequence != next {
            return Err(format!(
                "packet at sequence {} after {next}: a gap",
                header.sequence
            ));
        }
        let mut these = Vec::new();
        for block in blocks {
            let (seq, m) = block.map_err(|e| e.to_string())?;
            if m.as_bytes() != messages.get(got).map(Vec::as_slice).unwrap_or_default() {
                return Err(format!("message {seq} differs from the sample's"));
            }
            these.push((seq, m.as_bytes().len()));
            got += 1;
        }
        next = header.next_sequence();
        walked.push((header.sequence, header.count, these));
    }
    if got != messages.len() {
        return Err(format!("{got} of {} messages came back", messages.len()));
    }
    Ok(walked)
}

/// tshark's MoldUDP64 dissector on the capture, as the same per-packet walk.
fn tshark_walk(pcap: &Path) -> Result<Vec<Walked>, String> {
    let decode_as = format!("udp.port=={},moldudp64", FEED.port());
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", &decode_as, "-T", "fields", "-E", "separator=;"])
        .args(["-e", "moldudp64.session", "-e", "moldudp64.sequence"])
        .args(["-e", "moldudp64.count", "-e", "moldudp64.msgseq"])
        .args(["-e", "moldudp64.msglen"])
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    if !out.status.success() {
        return Err(format!("tshark: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let numbers = |s: &str| -> Result<Vec<u64>, String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().map_err(|e| format!("tshark printed `{x}`: {e}")))
            .collect()
    };
    let mut walked = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(';').collect();
        let [session, sequence, count, seqs, lens] = f[..] else {
            return Err(format!("tshark printed `{line}`"));
        };
        if session.trim_end() != SESSION {
            return Err(format!("tshark read session `{session}`"));
        }
        let blocks = numbers(seqs)?
            .into_iter()
            .zip(numbers(lens)?.into_iter().map(|l| l as usize))
            .collect();
        let count = count.parse().map_err(|e| format!("count `{count}`: {e}"))?;
        let sequence = sequence
            .parse()
            .map_err(|e| format!("sequence `{sequence}`: {e}"))?;
        walked.push((sequence, count, blocks));
    }
    Ok(walked)
}

/// The check: our walk of the capture and tshark's agree, packet by packet.
pub fn moldudp64_pcap(dir: &Path) -> Result<String, String> {
    let mut messages = rltop_bench::itch::ritch()?;
    messages.extend(rltop_bench::itch::sample(8_000));
    let pcap = dir.join("itch50-moldudp64.pcap");
    let ours = write_and_walk(&pcap, &messages)?;
    let theirs = tshark_walk(&pcap)?;
    if ours.len() != theirs.len() {
        return Err(format!(
            "{} packets walked, tshark dissected {}",
            ours.len(),
            theirs.len()
        ));
    }
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if a != b {
            return Err(format!("packet {i}: ours {a:?}, tshark {b:?}"));
        }
    }
    let mut report = String::new();
    let _ = write!(
        report,
        "{} messages in {} MoldUDP64 packets ({}): sequence numbers continuous, every message \
         back byte for byte, tshark's dissector agrees on every packet's sequence and count and \
         every block's sequence and length",
        messages.len(),
        ours.len(),
        pcap.display()
    );
    Ok(report)
}
