//! `cargo xtask fuzz [--seconds N | --minutes N]`: coverage-guided differential fuzzing of
//! the Rust, C and Python decoders and of the feed handler, on the stable toolchain.
//!
//! How, and why this way:
//!
//! * libFuzzer (Debian's clang 14 and its `libclang-rt-14-dev`) drives two C harnesses,
//!   `conformance/fuzz/decode.c` and `feed.c`, built with `-fsanitize=fuzzer,address,undefined`.
//!   The Rust side (`conformance/fuzz`, crate `rltop-fuzz`) is a static library compiled with
//!   sanitizer-coverage instrumentation through stable codegen flags (`-C passes=sancov-module`,
//!   as cargo-fuzz does, without its nightly-only address sanitizer), so coverage of both
//!   the header and the Rust code guides the search. `--target` keeps the flags off build
//!   scripts and proc macros.
//! * **decode**: every input is decoded by the C header and by the Rust binding, as is and
//!   with every framed message's checksum recomputed (else random bytes stop at the CRC);
//!   the two answers, in the conformance form, must be equal byte for byte. The sanitizers
//!   watch the header.
//! * **feed**: inputs are sequences of datagrams for the Rust feed handler, which must not
//!   panic and must keep every live book sorted, positive and uncrossed.
//! * **Python** is not in-process: after the fuzzing, every input of both corpora is put to
//!   the Python testee as a conformance case whose expectation is the Rust testee's answer
//!   (decode: results; feed: events and books), judged as the vectors are.
//!
//! Seeds: every decode vector and a simulator capture's datagrams (decode); every stream
//! scenario and runs of the capture's datagrams (feed). The corpora grow in
//! `target/fuzz/corpus/` from run to run. A finding (crash, disagreement, broken invariant)
//! is saved in `target/fuzz/findings/` and fails the run with the input in hex; it becomes a
//! vector once its right answer has been decided from SPEC.md (conformance/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use rltop_conformance::{self as conformance, Case, FieldMap, Vectors};
use rltop_devsupport::{pyenv, root, VECTORS};

/// libFuzzer on the C header = Rust binding and on the feed handler, then the Python binding
/// on both corpora.
#[derive(clap::Parser)]
#[command(name = "fuzz", about)]
struct Args {
    /// How long each of the two fuzzers runs, seconds (default 30).
    #[arg(long, value_name = "N", conflicts_with = "minutes", value_parser = clap::value_parser!(u64).range(1..))]
    seconds: Option<u64>,
    /// The same in minutes, for long runs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    minutes: Option<u64>,
}

/// Codegen flags for libFuzzer's coverage callbacks, the ones cargo-fuzz passes.
const SANCOV: &[&str] = &[
    "-C passes=sancov-module",
    "-C llvm-args=-sanitizer-coverage-level=4",
    "-C llvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-C llvm-args=-sanitizer-coverage-pc-table",
    "-C llvm-args=-sanitizer-coverage-trace-compares",
    "-C debug-assertions",
    "-C overflow-checks",
];

/// Corpus inputs put to the Python testee at most, per fuzzer (the newest kept by libFuzzer
/// are all small; this bounds the pass on a corpus grown by long runs).
const PYTHON_MAX: usize = 4000;

fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV names no host".to_string())
}

/// Builds the instrumented Rust library and both harnesses; their paths.
fn build(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    rltop_devsupport::debian::ensure_debian(&[
        ("clang", "clang"),
        ("clang", "libclang-rt-14-dev"),
    ])?;
    let root = root();
    let triple = host_triple()?;
    let target_dir = root.join("target/fuzz-build");
    rltop_devsupport::process::run(
        rltop_devsupport::process::cargo_command()
            .args([
                "build",
                "--release",
                "-p",
                "rltop-fuzz",
                "--target",
                &triple,
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", SANCOV.join(" "))
            .current_dir(&root),
        &format!("RUSTFLAGS='<sancov>' cargo build --release -p rltop-fuzz --target {triple} (target/fuzz-build)"),
    )?;
    let lib = target_dir.join(&triple).join("release/librltop_fuzz.a");
    let mut built = Vec::new();
    for name in ["decode", "feed"] {
        let out = dir.join(name);
        rltop_devsupport::process::run(
            Command::new("clang")
                .args([
                    "-std=c11",
                    "-O1",
                    "-g",
                    "-fsanitize=fuzzer,address,undefined",
                ])
                .arg("-fno-sanitize-recover=undefined")
                .arg("-I")
                .arg(root.join("generated/c"))
                .arg(root.join(format!("conformance/fuzz/{name}.c")))
                .arg(&lib)
                .args(["-lpthread", "-ldl", "-lm", "-o"])
                .arg(&out),
            &format!("clang -fsanitize=fuzzer,address,undefined conformance/fuzz/{name}.c librltop_fuzz.a -o target/fuzz/{name}"),
        )?;
        built.push(out);
    }
    Ok((built.remove(0), built.remove(0)))
}

/// A simulator capture: datagrams with every message type.
fn capture() -> Vec<Vec<u8>> {
    let (datagrams, _) = rltop_sim::Simulation::new(rltop_sim::Config {
        seed: 11,
        instruments: 3,
        events: 3000,
        ..rltop_sim::Config::default()
    })
    .run();
    datagrams.into_iter().map(|d| d.bytes).collect()
}

/// One feed input: each datagram with its flags byte (`line` B: bit 0; checksums kept as
/// they are: bit 1) and its 2-byte length.
fn feed_input(datagrams: &[(bool, Vec<u8>)], keep_checksums: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (line_b, d) in datagrams {
        let len = d.len().min(usize::from(u16::MAX));
        out.push(u8::from(*line_b) | if keep_checksums { 2 } else { 0 });
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&d[..len]);
    }
    out
}

fn hex_bytes(v: &Value) -> Option<Vec<u8>> {
    rltop_runtime::canonical::from_hex(v.as_str()?).ok()
}

fn write_seeds(dir: &Path, prefix: &str, seeds: &[Vec<u8>]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (k, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("{prefix}-{k:05}")), seed)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Fuzzer inputs, one a file.
type Inputs = Vec<Vec<u8>>;

/// The seed corpora: (decode, feed).
fn seeds() -> Result<(Inputs, Inputs), String> {
    let vectors = root().join(VECTORS);
    let mut decode: Inputs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors.join("messages"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.push(vectors.join("datagrams.json"));
    files.push(vectors.join("errors.json"));
    for f in &files {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(f).map_err(|e| e.to_string())?)
                .map_err(|e| format!("{}: {e}", f.display()))?;
        decode.extend(
            v["cases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| hex_bytes(&c["hex"])),
        );
    }
    let sim = capture();
    decode.extend(sim.iter().step_by(7).cloned());
    let streams: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors.join("streams.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("streams.json: {e}"))?;
    let mut feed: Inputs = Vec::new();
    for case in streams["cases"].as_array().into_iter().flatten() {
        let datagrams: Vec<(bool, Vec<u8>)> = case["datagrams"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| Some((d["line"] == "B", hex_bytes(&d["hex"])?)))
            .collect();
        // The scenarios spoil some checksums on purpose: keep them as written.
        feed.push(feed_input(&datagrams, true));
    }
    for run in sim.chunks(48) {
        let datagrams: Vec<(bool, Vec<u8>)> = run.iter().map(|d| (false, d.clone())).collect();
        feed.push(feed_input(&datagrams, false));
    }
    Ok((decode, feed))
}

/// What one libFuzzer run reported.
struct Stats {
    executions: u64,
    coverage: u64,
    features: u64,
    corpus: u64,
    seconds: f64,
}

/// Runs one fuzzer for `seconds` on `corpus`; its statistics, or the finding.
fn fuzz(binary: &Path, corpus: &Path, findings: &Path, seconds: u64) -> Result<Stats, String> {
    let name = binary
        .file_name()
        .map_or("fuzzer".into(), |n| n.to_string_lossy().into_owned());
    let log = findings.with_file_name(format!("{name}.log"));
    eprintln!(
        "$ target/fuzz/{name} -max_total_time={seconds} target/fuzz/corpus/{name}   (log: target/fuzz/{name}.log)"
    );
    let started = Instant::now();
    let out = Command::new(binary)
        .arg(format!("-max_total_time={seconds}"))
        .args([
            "-print_final_stats=1",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-max_len=8192",
        ])
        .arg(format!("-artifact_prefix={}/{name}-", findings.display()))
        .arg(corpus)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::write(&log, &text);
    if !out.status.success() {
        let excerpt: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains("rltop-fuzz")
                    || l.contains("ERROR")
                    || l.contains("C:")
                    || l.contains("Rust:")
                    || l.contains("Test unit written")
                    || l.contains("panicked")
                    || l.contains("Base64")
            })
            .take(12)
            .collect();
        return Err(format!(
            "fuzz {name}: a finding ({}); the input is in {}:\n{}\n",
            out.status,
            findings.display(),
            excerpt.join("\n")
        ));
    }
    let stat = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    // The last progress line: "#N DONE cov: C ft: F corp: K/…".
    let done = text
        .lines()
        .rev()
        .find(|l| l.contains("DONE") || l.contains("cov:"))
        .unwrap_or("");
    let after = |key: &str| {
        done.split_whitespace()
            .skip_while(|w| *w != key)
            .nth(1)
            .and_then(|v| v.split('/').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(Stats {
        executions: stat("stat::number_of_executed_units:"),
        coverage: after("cov:"),
        features: after("ft:"),
        corpus: after("corp:"),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The corpus's inputs, smallest first, at most `max`.
fn corpus_inputs(dir: &Path, max: usize) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), bytes))
        })
        .collect();
    inputs.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(&b.0)));
    inputs.truncate(max);
    Ok(inputs)
}

/// Puts every input to the Python testee, expecting the Rust testee's answer: how many
/// agreed (all of them), or the first disagreement.
fn python_agrees(
    requests: Vec<(String, Value)>,
    rust: &str,
    python: &str,
    fields: &FieldMap,
) -> Result<usize, String> {
    let timeout = Duration::from_secs(20);
    let answers = conformance::answers(rust, &requests, timeout)?;
    let cases: Vec<Case> = requests
        .into_iter()
        .zip(&answers)
        .map(|((name, request), answer)| Case::from_answer(name, request, answer))
        .collect::<Result<_, _>>()?;
    match conformance::first_failure(python, &cases, fields, timeout)? {
        None => Ok(cases.len()),
        Some((case, why)) => Err(format!(
            "the Python binding disagrees with the Rust one on {case}: {why}\n"
        )),
    }
}

fn main() -> std::process::ExitCode {
    rltop_devsupport::exit(run(<Args as clap::Parser>::parse()))
}

fn run(args: Args) -> Result<(), String> {
    let seconds = args.minutes.map_or(args.seconds.unwrap_or(30), |m| 60 * m);
    let root = root();
    let dir = root.join("target/fuzz");
    let findings = dir.join("findings");
    std::fs::create_dir_all(&findings).map_err(|e| format!("{}: {e}", findings.display()))?;
    let (decode_bin, feed_bin) = build(&dir)?;
    let (decode_seeds, feed_seeds) = seeds()?;
    let (decode_corpus, feed_corpus) = (dir.join("corpus/decode"), dir.join("corpus/feed"));
    write_seeds(&decode_corpus, "seed", &decode_seeds)?;
    write_seeds(&feed_corpus, "seed", &feed_seeds)?;

    let decode = fuzz(&decode_bin, &decode_corpus, &findings, seconds)?;
    let feed = fuzz(&feed_bin, &feed_corpus, &findings, seconds)?;

    // Python: every corpus input, expecting what the Rust testee answers.
    rltop_devsupport::process::cargo(&["build", "--quiet", "-p", "rltop-conformance-rust"])?;
    let rust = root
        .join("target/debug/rltop-conformance-rust")
        .display()
        .to_string();
    let py = pyenv::python(&["pytest", "numpy", "crc32c"])?;
    let python = format!(
        "{} {}",
        py.display(),
        root.join("conformance/testees/python/testee.py").display()
    );
    let fields = FieldMap::load(&Vectors::Dir(root.join(VECTORS)))?;
    let mut decode_requests = Vec::new();
    for (name, bytes) in corpus_inputs(&decode_corpus, PYTHON_MAX / 2)? {
        let mut sealed = bytes.clone();
        rltop_fuzz::reseal(&mut sealed);
        for (form, b) in [("as-is", bytes), ("resealed", sealed)] {
            decode_requests.push((
                format!("fuzz/decode/{name}/{form}"),
                json!({ "op": "decode", "hex": rltop_runtime::canonical::to_hex(&b) }),
            ));
        }
    }
    let feed_requests: Vec<(String, Value)> = corpus_inputs(&feed_corpus, PYTHON_MAX)?
        .into_iter()
        .map(|(name, bytes)| {
            let datagrams: Vec<Value> = rltop_fuzz::datagrams(&bytes)
                .into_iter()
                .map(|(line, d)| {
                    json!({
                        "line": if line == rltop_feed::Line::B { "B" } else { "A" },
                        "hex": rltop_runtime::canonical::to_hex(&d),
                    })
                })
                .collect();
            (
                format!("fuzz/feed/{name}"),
                json!({ "op": "stream", "depth": 10, "datagrams": datagrams }),
            )
        })
        .collect();
    eprintln!(
        "$ the Python testee on {} decode and {} feed corpus inputs, expecting the Rust testee's answers",
        decode_requests.len(),
        feed_requests.len()
    );
    let decoded = python_agrees(decode_requests, &rust, &python, &fields)?;
    let followed = python_agrees(feed_requests, &rust, &python, &fields)?;

    for (name, s) in [
        ("decode (C header = Rust binding)", &decode),
        ("feed (Rust feed handler invariants)", &feed),
    ] {
        println!(
            "fuzz {name}: {} executions in {:.0} s ({:.0}/s), coverage {} edges, {} features, corpus {}",
            s.executions,
            s.seconds,
            s.executions as f64 / s.seconds.max(1e-9),
            s.coverage,
            s.features,
            s.corpus
        );
    }
    println!(
        "fuzz python: {decoded} decode inputs and {followed} feed inputs, each answered as the Rust testee answers"
    );
    Ok(())
}
