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
