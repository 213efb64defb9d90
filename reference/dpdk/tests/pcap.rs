//! End to end through DPDK's net_pcap driver: 1000 datagrams of varied sizes to a few
//! groups, written by the driver to a pcap file, read back by a small independent reader and
//! checked frame by frame (and by tshark, when installed).
//!
//! EAL can be initialised once per process, so this file has exactly one test using it.
#![cfg(feature = "dpdk")]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command;

use rltop_dpdk::{Config, Error, Port};

mod common;

const COUNT: usize = 1000;

/// One record of a classic pcap file.
struct Record {
    data: Vec<u8>,
    orig_len: u32,
}

/// A minimal classic-pcap reader: 24-byte global header, 16-byte record headers; either
/// byte order, micro- or nanosecond magic; Ethernet link type required.
fn read_pcap(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        bytes.len() >= 24,
        "pcap file of {} bytes has no global header",
        bytes.len()
    );
    let magic_le = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let little = match magic_le {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        m => panic!("not a classic pcap file: magic {m:#010x}"),
    };
    let u32_at = |b: &[u8], at: usize| {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(&bytes, 20), 1, "link type must be Ethernet (1)");
    let mut out = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        assert!(
            at + 16 <= bytes.len(),
            "truncated record header at byte {at}"
        );
        let incl = u32_at(&bytes, at + 8) as usize;
        let orig_len = u32_at(&bytes, at + 12);
        at += 16;
        assert!(at + incl <= bytes.len(), "truncated record at byte {at}");
        out.push(Record {
            data: bytes[at..at + incl].to_vec(),
            orig_len,
        });
        at += incl;
    }
    out
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Ones' complement sum of big-endian 16-bit words, folded; odd byte zero-padded.
fn ones_sum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        sum += u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The datagram `i` of the test: its group, its payload.
fn datagram(i: usize) -> (SocketAddrV4, Vec<u8>) {
    let group = SocketAddrV4::new(
        Ipv4Addr::new(239, 255, (i % 3) as u8, 1 + (i % 4) as u8),
        30_001 + (i % 4) as u16,
    );
    let len = 64 + (i * 7919) % (1472 - 64 + 1);
    let payload = (0..len)
        .map(|j| (i as u8).wrapping_mul(13) ^ (j as u8))
        .collect();
    (group, payload)
}

#[test]
fn datagrams_reach_the_pcap_file_intact() {
    let pcap = common::tmp_path("tx.pcap");
    let vdev = format!("net_pcap0,tx_pcap={}", pcap.display());
    let src = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 41_000);
    let (eal_args, mut cleanup) = common::eal_args(
        "pcap",
        &[
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "--log-level=error",
            "--vdev",
            &vdev,
        ],
    );
    cleanup.file(pcap.clone());
    let cfg = Config {
        eal_args,
        src,
        ttl: 3,
        burst: 32,
        ..Config::default()
    };
    let mut port = Port::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let mac = port.mac();
    assert_eq!(mac[0] & 1, 0, "the port's MAC is unicast: {mac:02x?}");

    let all: Vec<(SocketAddrV4, Vec<u8>)> = (0..COUNT).map(datagram).collect();
    // Refused batches send nothing at all, even their valid datagrams.
    let too_long = vec![0u8; 1473];
    let e = port
        .send(&[(all[0].0, &all[0].1), (all[1].0, &too_long)])
        .unwrap_err();
    assert!(
        e.to_string().contains("1473") && e.to_string().contains("nothing of the batch"),
        "{e}"
    );
    let unicast = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 1);
    assert!(matches!(
        port.send(&[(unicast, &all[0].1)]),
        Err(Error::Frame(_))
    ));
    assert_eq!(port.stats().frames, 0);

    // Batches of uneven sizes, across the 32-frame burst boundary.
    let mut next = 0;
    for size in [1usize, 31, 32, 33, 64, 100, 7].into_iter().cycle() {
        if next == COUNT {
            break;
        }
        let end = (next + size).min(COUNT);
        let batch: Vec<(SocketAddrV4, &[u8])> = all[next..end]
            .iter()
            .map(|(g, p)| (*g, p.as_slice()))
            .collect();
        port.send(&batch).unwrap_or_else(|e| panic!("{e}"));
        next = end;
    }
    let payload_bytes: u64 = all.iter().map(|(_, p)| p.len() as u64).sum();
    let live = port.stats();
    assert_eq!(live.frames, COUNT as u64);
    assert_eq!(live.payload_bytes, payload_bytes);
    assert_eq!(live.bytes, payload_bytes + 42 * COUNT as u64);
    assert_eq!(live.dev_opackets, COUNT as u64, "{live:?}");
    assert_eq!(live.dev_oerrors, 0);
    assert!(live.bursts >= (COUNT as u64).div_ceil(32), "{live:?}");
    let closed = port.close().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(closed.frames, COUNT as u64);

    let records = read_pcap(&pcap);
    assert_eq!(records.len(), COUNT, "frames in the pcap file");
    for (i, (rec, (group, payload))) in records.iter().zip(&all).enumerate() {
        let f = &rec.data;
        assert_eq!(rec.orig_len as usize, f.len(), "frame {i} captured whole");
        assert_eq!(f.len(), 42 + payload.len(), "frame {i} length");
        let g = group.ip().octets();
        assert_eq!(
            f[0..6],
            [0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]],
            "frame {i} dst MAC"
        );
        assert_eq!(f[6..12], mac, "frame {i} src MAC");
        assert_eq!(be16(f, 12), 0x0800, "frame {i} ethertype");
        let ip = &f[14..34];
        assert_eq!(ip[0], 0x45, "frame {i} version/IHL");
        assert_eq!(ip[1], 0, "frame {i} DSCP");
        assert_eq!(
            usize::from(be16(ip, 2)),
            28 + payload.len(),
            "frame {i} total length"
        );
        assert_eq!(be16(ip, 4), i as u16, "frame {i} IP id (sequential from 0)");
        assert_eq!(be16(ip, 6), 0x4000, "frame {i} DF");
        assert_eq!(ip[8], 3, "frame {i} TTL");
        assert_eq!(ip[9], 17, "frame {i} protocol");
        assert_eq!(ones_sum(ip), 0xffff, "frame {i} IPv4 header checksum");
        assert_eq!(ip[12..16], src.ip().octets(), "frame {i} src IP");
        assert_eq!(ip[16..20], g, "frame {i} dst IP");
        let udp = &f[34..];
        assert_eq!(be16(udp, 0), src.port(), "frame {i} src port");
        assert_eq!(be16(udp, 2), group.port(), "frame {i} dst port");
        assert_eq!(
            usize::from(be16(udp, 4)),
            8 + payload.len(),
            "frame {i} UDP length"
        );
        assert_ne!(be16(udp, 6), 0, "frame {i} has a UDP checksum");
        let mut pseudo = Vec::with_capacity(12 + udp.len());
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&be16(udp, 4).to_be_bytes());
        pseudo.extend_from_slice(udp);
        assert_eq!(ones_sum(&pseudo), 0xffff, "frame {i} UDP checksum");
        assert!(udp[8..] == payload[..], "frame {i} payload");
    }

    check_with_tshark(&pcap, &all);
}

/// tshark's reading of the file must agree: destinations, UDP lengths, and both checksums
/// verified good.
fn check_with_tshark(pcap: &Path, all: &[(SocketAddrV4, Vec<u8>)]) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-T", "fields", "-E", "separator=,"])
        .args([
            "-e",
            "ip.dst",
            "-e",
            "udp.length",
            "-e",
            "ip.checksum.status",
            "-e",
            "udp.checksum.status",
        ])
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("note: tshark is not installed; its cross-check of the pcap file was skipped");
            return;
        }
        Err(e) => panic!("running tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.len(), "tshark's frame count");
    for (i, (line, (group, payload))) in lines.iter().zip(all).enumerate() {
        // checksum status 1 is "Good" (0 would be "Bad", 2 "Unverified").
        let want = format!("{},{},1,1", group.ip(), 8 + payload.len());
        assert_eq!(*line, want, "tshark on frame {i}");
    }
}
