//! `cargo xtask bench`: runs the criterion benchmarks, then prints messages/s per codec and
//! the ratios the issues ask for, from criterion's own estimates.

use std::process::Command;

use crate::root;

const GROUPS: [&str; 2] = ["decode", "encode"];
const CODECS: [&str; 4] = ["generated", "handwritten", "binrw", "deku"];
/// Messages per benchmark iteration (benches/codec.rs).
const PER_ITER: f64 = 4096.0;

fn median_ns(group: &str, codec: &str) -> Result<f64, String> {
    let path = root().join(format!(
        "target/criterion/{group}/{codec}/new/estimates.json"
    ));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()))
}

/// The results table (markdown), from the last run's estimates.
pub fn table() -> Result<String, String> {
    let mut out = String::from("| operation | codec | messages/s (one core) | generated is × faster |\n|---|---|---:|---:|\n");
    for g in GROUPS {
        let gen = median_ns(g, "generated")?;
        for c in CODECS {
            let ns = median_ns(g, c)?;
            let rate = PER_ITER / (ns * 1e-9);
            out.push_str(&format!(
                "| {g} + validate | {c} | {:.1} M | {:.2} |\n",
                rate / 1e6,
                ns / gen
            ));
        }
    }
    Ok(out.replace("encode + validate", "encode + checksum"))
}

pub fn run(args: &[String]) -> Result<(), String> {
    if !args.iter().any(|a| a == "--report-only") {
        let status = Command::new(env!("CARGO"))
            .args(["bench", "-p", "rltop-bench", "--bench", "codec"])
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        if !status.success() {
            return Err("cargo bench failed\n".into());
        }
    }
    println!("\n128-byte message mix (40% AddOrder, 10% ModifyOrder, 34% DeleteOrder, 8% ExecuteOrder, 8% Trade):\n");
    print!("{}", table()?);
    Ok(())
}
