//! `cargo xtask bench`: runs the criterion benchmarks (Rust and the C header, same run), then
//! the Python benchmark (generated package vs `construct`, numpy bulk), and prints
//! messages/s and the ratios the issues ask for. The publisher, the bridge and the gateway
//! have harnesses of their own (`benches/publish.rs`, `bench-bridge`, `bench-gateway`).

use std::process::{Command, ExitCode};

use clap::Parser;
use rltop_devsupport::process::cargo;
use rltop_devsupport::{pyenv, root};

/// Messages per benchmark iteration (benches/codec.rs).
const PER_ITER: f64 = 4096.0;

/// A value from one of criterion's result files for the last run of `group/codec`.
fn criterion_value(group: &str, codec: &str, file: &str, pointer: &str) -> Result<f64, String> {
    let path = rltop_devsupport::target_dir().join(format!("criterion/{group}/{codec}/new/{file}"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v.pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| format!("{}: no {pointer}", path.display()))
}

fn median_ns(group: &str, codec: &str) -> Result<f64, String> {
    criterion_value(group, codec, "estimates.json", "/median/point_estimate")
}

/// Messages per second of `group/codec` in the last run.
fn rate(group: &str, codec: &str) -> Result<f64, String> {
    Ok(PER_ITER / (median_ns(group, codec)? * 1e-9))
}

/// The Rust/C results table (markdown), from the last run's estimates, then the datagram
/// decoders against the per-message ones and the checksum floor, as ratios.
pub fn table() -> Result<String, String> {
    let mut out = String::from("| operation | codec | messages/s (one core) | generated Rust is × faster |\n|---|---|---:|---:|\n");
    let groups: [(&str, &str, &[&str]); 3] = [
        (
            "decode",
            "decode + validate",
            &[
                "generated",
                "c_header",
                "handwritten",
                "binrw",
                "deku",
                "generated_datagram",
                "c_header_datagram",
            ],
        ),
        (
            "encode",
            "encode + checksum",
            &["generated", "handwritten", "binrw", "deku"],
        ),
        ("crc", "CRC-32C alone (floor)", &["per_message", "datagram"]),
    ];
    let generated = median_ns("decode", "generated")?;
    for (group, what, codecs) in groups {
        let reference = if group == "encode" {
            median_ns(group, "generated")?
        } else {
            generated
        };
        for c in codecs {
            let ns = median_ns(group, c)?;
            out.push_str(&format!(
                "| {what} | {c} | {:.1} M | {:.2} |\n",
                PER_ITER / (ns * 1e-9) / 1e6,
                ns / reference
            ));
        }
    }
    let datagram = rate("decode", "generated_datagram")?;
    out.push_str(&format!(
        "\nDatagrams of 11 messages: the Rust datagram decoder is {:.2}× the hand-written per-message decoder \
         and {:.2}× the generated per-message one; the C header's datagram iterator runs at {:.2}× the Rust \
         one (per message: C at {:.2}× Rust); the bare CRC-32C of the same bytes, a datagram's messages \
         four at a time, runs at {:.1} M/s ({:.1} M/s message by message): the decoder reaches {:.0} % of it.\n",
        datagram / rate("decode", "handwritten")?,
        datagram / rate("decode", "generated")?,
        rate("decode", "c_header_datagram")? / datagram,
        rate("decode", "c_header")? / rate("decode", "generated")?,
        rate("crc", "datagram")? / 1e6,
        rate("crc", "per_message")? / 1e6,
        100.0 * datagram / rate("crc", "datagram")?,
    ));
    let one_type = |codec| -> Result<f64, String> {
        Ok(elements("decode_one_type", codec)? / (median_ns("decode_one_type", codec)? * 1e-9))
    };
    out.push_str(&format!(
        "\nAddOrders alone (no type dispatch mispredicted): the Rust datagram decoder at {:.1} M/s, \
         the hand-written per-message decoder at {:.1} M/s ({:.2}×).\n",
        one_type("generated_datagram")? / 1e6,
        one_type("handwritten")? / 1e6,
        one_type("generated_datagram")? / one_type("handwritten")?,
    ));
    Ok(out)
}

/// Elements per iteration, as the benchmark declared its throughput.
fn elements(group: &str, codec: &str) -> Result<f64, String> {
    criterion_value(group, codec, "benchmark.json", "/throughput/Elements")
}

/// Decode → feed handler → book, against the draft's sample book.
fn feed_table() -> Result<String, String> {
    let mut out = String::from(
        "\nDecode → feed handler → book apply, simulator capture (8 instruments, 200 000 events), one core:\n\n\
         | books | pipeline | messages/s | rltop is × faster |\n|---|---|---:|---:|\n",
    );
    for (group, books) in [
        ("feed", "~500 orders each"),
        ("feed_deep", "~5 000 orders each"),
    ] {
        let ours = median_ns(group, "rltop_feed")?;
        for (codec, name) in [
            ("rltop_feed", "rltop-feed + rltop-book"),
            (
                "seed_style_book",
                "draft's BTreeMap<i64, Vec<Order>>, linear id search",
            ),
        ] {
            let ns = median_ns(group, codec)?;
            let rate = elements(group, codec)? / (ns * 1e-9);
            out.push_str(&format!(
                "| {books} | {name} | {:.1} M | {:.2} |\n",
                rate / 1e6,
                ns / ours
            ));
        }
    }
    out.push_str(&format!(
        "\nMemory per resting order (order slot + index entry): {} bytes\n",
        rltop_book::Book::bytes_per_order()
    ));
    Ok(out)
}

fn python_table(r: &serde_json::Value) -> Result<String, String> {
    let get = |k: &str| {
        r[k].as_f64()
            .ok_or_else(|| format!("python benchmark: no {k} in {r}"))
    };
    let ours = get("rltop_per_message")?;
    let mut out = format!(
        "\nPython, same mix, per-message decode + validate (CRC: {}):\n\n",
        r["crc"].as_str().unwrap_or("?")
    );
    out.push_str("| decoder | messages/s | rltop is × faster |\n|---|---:|---:|\n");
    for (name, key) in [
        ("rltop (generated)", "rltop_per_message"),
        ("construct", "construct_per_message"),
        ("construct, compiled", "construct_compiled_per_message"),
    ] {
        let v = get(key)?;
        out.push_str(&format!(
            "| {name} | {:.0} k | {:.2} |\n",
            v / 1e3,
            ours / v
        ));
    }
    out.push_str(&format!(
        "\nnumpy bulk decode (rltop.bulk.decode_array, 1M AddOrder, vectorised checks): {:.1} M messages/s; with every CRC-32C verified ({}): {:.1} M/s\n",
        get("numpy_bulk")? / 1e6,
        r["bulk_crc"].as_str().unwrap_or("?"),
        get("numpy_bulk_with_checksum")? / 1e6
    ));
    Ok(out)
}

/// The codec and feed benchmarks (criterion, Rust and the C header in the same run) and
/// the Python one, then the tables.
#[derive(clap::Parser)]
#[command(name = "bench-codecs", about)]
struct Args {
    /// Print the tables from the last run's results, without running anything.
    #[arg(long)]
    report_only: bool,
}

fn main() -> ExitCode {
    rltop_devsupport::exit(run(Args::parse()))
}

fn run(args: Args) -> Result<(), String> {
    let report_only = args.report_only;
    if !report_only {
        cargo(&[
            "bench",
            "-p",
            "rltop-bench",
            "--bench",
            "codec",
            "--bench",
            "feed",
        ])?;
    }
    let py_result = root().join("target/bench-python.json");
    if !report_only {
        let py = pyenv::python(&["numpy", "construct", "crc32c"])?;
        let out = Command::new(py)
            .arg(root().join("bench/python/bench_decode.py"))
            .output()
            .map_err(|e| format!("cannot run the Python benchmark: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "Python benchmark failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&py_result, &out.stdout)
            .map_err(|e| format!("cannot write {}: {e}", py_result.display()))?;
    }
    println!("\n128-byte message mix (40% AddOrder, 10% ModifyOrder, 34% DeleteOrder, 8% ExecuteOrder, 8% Trade):\n");
    print!("{}", table()?);
    print!("{}", feed_table()?);
    let text = std::fs::read_to_string(&py_result)
        .map_err(|e| format!("cannot read {}: {e}", py_result.display()))?;
    let r: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", py_result.display()))?;
    print!("{}", python_table(&r)?);
    Ok(())
}
