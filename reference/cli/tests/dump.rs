//! `rltop dump` and `python -m rltop dump` print the same bytes: labels with the capture's
//! nanosecond timestamps, and canonical JSON in the one key order conformance/README.md
//! states, which is the order of the vectors' `json` objects.
//!
//! The Python side is the generated package as checked in (`generated/python` on
//! `PYTHONPATH`), run by `python3`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn rltop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rltop"))
        .args(args)
        .output()
        .expect("rltop runs")
}

fn python_dump(file: &Path) -> Output {
    Command::new("python3")
        .args(["-m", "rltop", "dump"])
        .arg(file)
        .env("PYTHONPATH", repo().join("generated/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("python3 runs (the README's test command needs it)")
}

/// Both dumps of `file`, each checked to have succeeded.
fn both_dumps(file: &Path) -> (String, String) {
    let rust = rltop(&["dump", file.to_str().unwrap()]);
    let python = python_dump(file);
    for (who, o) in [("rltop dump", &rust), ("python -m rltop dump", &python)] {
        assert!(
            o.status.success(),
            "{who} {}: {}\n{}",
            file.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let text = |o: Output| String::from_utf8(o.stdout).expect("UTF-8 output");
    (text(rust), text(python))
}

/// The first line where `a` and `b` differ, both sides shown under their `names`; `None`
/// when the bytes agree.
fn first_differing_line(a: &str, b: &str, names: [&str; 2]) -> Option<String> {
    if a == b {
        return None;
    }
    let (mut la, mut lb) = (a.split_inclusive('\n'), b.split_inclusive('\n'));
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                return Some(format!(
                    "line {n} differs:\n  {}: {}\n  {}: {}",
                    names[0],
                    x.map_or("(no more lines)".into(), |s| format!("{s:?}")),
                    names[1],
                    y.map_or("(no more lines)".into(), |s| format!("{s:?}")),
                ))
            }
        }
    }
    unreachable!("one of the two differs somewhere")
}

/// A simulator capture of a few hundred events, written once per test.
fn sim_capture(name: &str) -> PathBuf {
    let cap = tmp(name);
    let o = rltop(&[
        "sim",
        "--out",
        cap.to_str().unwrap(),
        "--events",
        "300",
        "--quiet-tail",
        "1",
    ]);
    assert!(
        o.status.success(),
        "rltop sim: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    cap
}

#[test]
fn rust_and_python_dumps_of_a_simulator_capture_are_the_same_bytes() {
    let cap = sim_capture("same-bytes.pcap");
    let (rust, python) = both_dumps(&cap);
    assert!(rust.lines().count() > 300, "{} lines", rust.lines().count());
    for t in ["OrderBookSnapshot", "TradeSnapshot"] {
        assert!(
            rust.contains(&format!(r#"{{"type":"{t}","#)),
            "no {t}: counted arrays are where the key orders have differed"
        );
    }
    if let Some(d) = first_differing_line(&rust, &python, ["rltop dump", "python -m rltop dump"]) {
        panic!("the dumps of {} differ; {d}", cap.display());
    }
}

/// Every record's timestamp in nanoseconds, read from the pcap's own bytes.
fn pcap_timestamps_ns(bytes: &[u8]) -> Vec<u64> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let ns_per_unit = match u32_at(0) {
        0xA1B2_3C4D => 1,
        0xA1B2_C3D4 => 1_000,
        m => panic!("not a little-endian pcap: magic {m:#x}"),
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let (sec, frac, caplen) = (u32_at(at), u32_at(at + 4), u32_at(at + 8));
        out.push(u64::from(sec) * 1_000_000_000 + u64::from(frac) * ns_per_unit);
        at += 16 + caplen as usize;
    }
    out
}

#[test]
fn dump_labels_carry_the_captures_timestamps_to_the_nanosecond() {
    let cap = sim_capture("timestamps.pcap");
    let stamps = pcap_timestamps_ns(&std::fs::read(&cap).unwrap());
    let o = rltop(&["dump", cap.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut seen = 0;
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let mut words = line.split(' ');
        let index: usize = words.next().unwrap()[1..].parse().expect("#<packet>");
        let ns = stamps[index];
        let want = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
        assert_eq!(words.next(), Some(want.as_str()), "{line}");
        seen += 1;
    }
    assert!(
        stamps.iter().any(|ns| ns % 1000 != 0),
        "sub-microsecond digits, which a double loses at this magnitude, are exercised"
    );
    assert!(seen > 300, "{seen} lines");
}

/// Every message vector's bytes back to back, and the dump line each must give: the file's
/// name, then the vector's `json` written compactly in the vector file's key order.
fn message_vectors(label: &str) -> (Vec<u8>, String) {
    let dir = repo().join("conformance/vectors/messages");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut raw, mut lines) = (Vec::new(), String::new());
    for file in files {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for case in v["cases"].as_array().unwrap() {
            raw.extend(rltop_runtime::canonical::from_hex(case["hex"].as_str().unwrap()).unwrap());
            let json = serde_json::to_string(&case["json"]).unwrap();
            lines.push_str(&format!("{label} {json}\n"));
        }
    }
    (raw, lines)
}

#[test]
fn both_dumps_of_the_message_vectors_are_their_canonical_json_bytes() {
    let raw_path = tmp("vectors.bin");
    let (raw, want) = message_vectors(raw_path.to_str().unwrap());
    assert!(want.lines().count() > 200, "{} cases", want.lines().count());
    std::fs::write(&raw_path, &raw).unwrap();
    let (rust, python) = both_dumps(&raw_path);
    for (who, got) in [("rltop dump", &rust), ("python -m rltop dump", &python)] {
        if let Some(d) = first_differing_line(got, &want, [who, "vectors"]) {
            panic!("{who} does not print the vectors' canonical JSON; {d}");
        }
    }
}

/// Both dumps of `file` whatever their exit status, with the statuses.
fn both_dumps_any_status(file: &Path) -> ((String, i32), (String, i32)) {
    let rust = rltop(&["dump", file.to_str().unwrap()]);
    let python = python_dump(file);
    let text = |o: Output| {
        (
            String::from_utf8(o.stdout).expect("UTF-8 output"),
            o.status.code().expect("exited"),
        )
    };
    (text(rust), text(python))
}

/// The time of the test capture's record `i`: below the microsecond, so both dumps must
/// print the nanoseconds.
fn at(i: u64) -> u64 {
    1_700_000_000_000_000_007 + i * 1_000_000
}

/// The label of a test capture's UDP record `i`.
fn udp_label(i: u64) -> String {
    let ns = at(i);
    format!(
        "#{i} {}.{:09} 10.0.0.1:40000 > 239.255.1.1:9002",
        ns / 1_000_000_000,
        ns % 1_000_000_000
    )
}

/// The label of a test capture's record `i` that holds no datagram.
fn skip_label(i: u64) -> String {
    let ns = at(i);
    format!("#{i} {}.{:09} SKIP", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// An AddOrder, sequence number `seq`, its CRC-32C filled by the encoder.
fn add_order(seq: u64) -> Vec<u8> {
    let mut m = rltop::AddOrder::new();
    m.set_order_book_seq(seq);
    m.set_order_id(1000 + seq);
    m.set_symbol_id(7);
    m.set_side(rltop::Side::Sell);
    m.set_price(-25);
    m.set_quantity(3);
    m.encode(1, seq, 1_700_000_000_000_000_000).to_vec()
}

/// The canonical JSON of [`add_order`], written out by hand (64-bit integers as strings).
fn add_order_json(seq: u64) -> String {
    format!(
        r#"{{"type":"AddOrder","header":{{"session_id":"1","seq_num":"{seq}","timestamp":"1700000000000000000"}},"order_book_seq":"{seq}","order_id":"{}","symbol_id":7,"side":"Sell","flags":0,"price":"-25","quantity":"3","level_quantity":"0","level_order_count":0}}"#,
        1000 + seq
    )
}

/// The CRC-32C field of an encoded message (bytes 32..36, little-endian).
fn checksum_field(msg: &[u8]) -> u32 {
    u32::from_le_bytes(msg[32..36].try_into().unwrap())
}

/// A capture of what a dump meets outside simulator captures, built here record by record,
/// and the lines both dumps must print for it, written out in full.
fn odd_capture() -> (Vec<u8>, String) {
    use rltop_capture::{frame, PcapWriter};
    let src: std::net::SocketAddrV4 = "10.0.0.1:40000".parse().unwrap();
    let dst: std::net::SocketAddrV4 = "239.255.1.1:9002".parse().unwrap();
    // A whole Ethernet/IPv4/UDP frame of `payload`, for the records edited by hand.
    let udp_frame = |payload: &[u8]| {
        let spec = frame::FrameSpec {
            src_mac: [2, 0, 10, 0, 0, 1],
            src,
            ttl: 1,
        };
        let mut f = vec![0u8; frame::frame_len(payload.len())];
        frame::write_frame(&spec, dst, 0, payload, &mut f).unwrap();
        f
    };
    let set_ipv4 = |f: &mut Vec<u8>, at: usize, v: u16| {
        f[14 + at..14 + at + 2].copy_from_slice(&v.to_be_bytes());
        f[24..26].fill(0);
        let sum = frame::ipv4_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
    };

    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut lines = String::new();
    let mut line = |s: String| {
        lines.push_str(&s);
        lines.push('\n');
    };

    // #0: ARP, who has 10.0.0.2.
    let mut arp = vec![0xFF; 6];
    arp.extend([2, 0, 10, 0, 0, 1, 0x08, 0x06]);
    arp.extend([0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    arp.extend([2, 0, 10, 0, 0, 1, 10, 0, 0, 1]);
    arp.extend([0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    w.write_frame(at(0), &arp, arp.len()).unwrap();
    line(format!("{} ethertype 0x0806 is not IPv4", skip_label(0)));

    // #1: a good message.
    w.write(at(1), src, dst, &add_order(1)).unwrap();
    line(format!("{} {}", udp_label(1), add_order_json(1)));

    // #2 and #3: the two pieces of a fragmented datagram (more fragments; offset 1480).
    let mut first = udp_frame(&[0x11; 64]);
    set_ipv4(&mut first, 6, 0x2000);
    w.write_frame(at(2), &first, first.len()).unwrap();
    line(format!(
        "{} IPv4 fragment at offset 0, more follow: fragments are not reassembled",
        skip_label(2)
    ));
    let mut last = udp_frame(&[0x22; 64]);
    set_ipv4(&mut last, 6, 1480 / 8);
    w.write_frame(at(3), &last, last.len()).unwrap();
    line(format!(
        "{} IPv4 fragment at offset 1480, the last: fragments are not reassembled",
        skip_label(3)
    ));

    // #4: a bad checksum (the field overwritten; the CRC the encoder wrote is the one the
    // decoder computes).
    let mut bad_crc = add_order(4);
    let crc = checksum_field(&bad_crc);
    bad_crc[32..36].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    w.write(at(4), src, dst, &bad_crc).unwrap();
    line(format!(
        "{} ERROR BadChecksum offset=32: checksum 0xdeadbeef, computed {crc:#010x}",
        udp_label(4)
    ));

    // #5: a good message, then one whose side (byte 60) is 7, its CRC made right again: the
    // error's offset counts from the datagram's start, and names the field.
    let mut bad_enum = add_order(6);
    bad_enum[60] = 7;
    let crc = rltop_runtime::crc::checksum_with_hole(&bad_enum, 32).unwrap();
    bad_enum[32..36].copy_from_slice(&crc.to_le_bytes());
    w.write(at(5), src, dst, &[add_order(5), bad_enum].concat())
        .unwrap();
    line(format!("{} {}", udp_label(5), add_order_json(5)));
    line(format!(
        "{} ERROR BadEnum offset=188 field=AddOrder.side: invalid value 7",
        udp_label(5)
    ));

    // #6: IGMP, not UDP.
    let mut igmp = udp_frame(&[0; 8]);
    igmp[23] = 2;
    w.write_frame(at(6), &igmp, igmp.len()).unwrap();
    line(format!("{} IP protocol 2 is not UDP", skip_label(6)));

    // #7: a message cut short in the datagram.
    w.write(at(7), src, dst, &add_order(7)[..100]).unwrap();
    line(format!(
        "{} ERROR Truncated offset=0: message needs 128 bytes, 100 available",
        udp_label(7)
    ));

    // #8: a good message and 12 bytes after it, too few for a header.
    w.write(at(8), src, dst, &[&add_order(8)[..], &[0xAB; 12]].concat())
        .unwrap();
    line(format!("{} {}", udp_label(8), add_order_json(8)));
    line(format!(
        "{} ERROR Truncated offset=128: message needs 40 bytes, 12 available",
        udp_label(8)
    ));

    // #9: a frame the capture cut at 64 bytes (a snap length), of 170 on the wire.
    let whole = udp_frame(&add_order(9));
    w.write_frame(at(9), &whole[..64], whole.len()).unwrap();
    line(format!(
        "{} packet cut short in the capture: IPv4 total length 156, 50 bytes captured",
        skip_label(9)
    ));

    // #10: an unknown type whose length is shorter than a header (framing: the datagram
    // ends there), after a good message.
    let mut short = add_order(10);
    short[6] = 0x05;
    short[4..6].copy_from_slice(&12u16.to_le_bytes());
    w.write(at(10), src, dst, &[add_order(10), short].concat())
        .unwrap();
    line(format!("{} {}", udp_label(10), add_order_json(10)));
    line(format!(
        "{} ERROR BadLength offset=132: length 12 for type 0x05, shorter than a header",
        udp_label(10)
    ));

    // #11: a good message after all that, numbered by its record.
    w.write(at(11), src, dst, &add_order(11)).unwrap();
    line(format!("{} {}", udp_label(11), add_order_json(11)));

    (w.into_inner(), lines)
}

#[test]
fn both_dumps_of_a_capture_with_odd_frames_and_errors_are_the_expected_bytes() {
    let (bytes, want) = odd_capture();
    let cap = tmp("odd.pcap");
    std::fs::write(&cap, bytes).unwrap();
    let ((rust, rust_status), (python, python_status)) = both_dumps_any_status(&cap);
    for (who, got) in [("rltop dump", &rust), ("python -m rltop dump", &python)] {
        if let Some(d) = first_differing_line(got, &want, [who, "expected"]) {
            panic!("{who} of {}; {d}", cap.display());
        }
    }
    // Decoding errors were met: both say so in their exit status (rltop's is 2 for any
    // failure, as every subcommand's).
    assert_eq!((rust_status, python_status), (2, 1));
}

/// Every case of conformance/vectors/errors.json as one datagram of a capture: every kind
/// of error, each detail worded by both bindings (the same bytes), and each line's kind,
/// offset and field those the vector expects.
#[test]
fn both_dumps_of_the_error_vectors_are_the_same_bytes_and_the_vectors_errors() {
    let file = repo().join("conformance/vectors/errors.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let src = "10.0.0.1:40000".parse().unwrap();
    let dst = "239.255.1.1:9002".parse().unwrap();
    let mut w = rltop_capture::PcapWriter::new(Vec::new()).unwrap();
    let mut want_prefixes = Vec::new();
    for (i, case) in v["cases"].as_array().unwrap().iter().enumerate() {
        let i = i as u64;
        let payload = rltop_runtime::canonical::from_hex(case["hex"].as_str().unwrap()).unwrap();
        w.write(at(i), src, dst, &payload).unwrap();
        for item in case["expect"].as_array().unwrap() {
            want_prefixes.push(match (&item["error"], &item["message"]) {
                (e, _) if e.is_object() => format!(
                    "{} ERROR {} offset={}{}: ",
                    udp_label(i),
                    e["kind"].as_str().unwrap(),
                    e["offset"],
                    e["field"]
                        .as_str()
                        .map_or(String::new(), |f| format!(" field={f}"))
                ),
                (_, m) => format!("{} {}\n", udp_label(i), serde_json::to_string(m).unwrap()),
            });
        }
    }
    let cap = tmp("error-vectors.pcap");
    std::fs::write(&cap, w.into_inner()).unwrap();
    let ((rust, _), (python, _)) = both_dumps_any_status(&cap);
    if let Some(d) = first_differing_line(&rust, &python, ["rltop dump", "python -m rltop dump"]) {
        panic!("the dumps of {} differ; {d}", cap.display());
    }
    let lines: Vec<&str> = rust.split_inclusive('\n').collect();
    assert_eq!(
        lines.len(),
        want_prefixes.len(),
        "one line per expected item"
    );
    let mut kinds = std::collections::BTreeSet::new();
    for (line, want) in lines.iter().zip(&want_prefixes) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} does not start {want:?}"
        );
        if let Some(rest) = line.split(" ERROR ").nth(1) {
            kinds.insert(rest.split(' ').next().unwrap().to_owned());
            assert!(
                rest.trim_end()
                    .split(": ")
                    .nth(1)
                    .is_some_and(|d| !d.is_empty()),
                "{line:?}"
            );
        }
    }
    assert!(
        kinds.len() >= 9,
        "every kind of error a datagram can hold: {kinds:?}"
    );
}

#[test]
fn a_dump_whose_reader_goes_away_ends_quietly() {
    use std::io::BufRead;
    let file = sim_capture("broken-pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rltop"))
        .arg("dump")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `rltop dump … | head -1`: one line read, then the pipe closed; the dump (hundreds of
    // kilobytes, past what the pipe holds) meets a closed pipe.
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("#0 "), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
