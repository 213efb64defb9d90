//! `cargo xtask <verb>`: the repository's development automation, thin (as rust-analyzer's
//! is): generating and checking the schema's outputs, packaging, and `test`, the README's
//! test command, which runs everything CI checks in order. The tools it calls are programs
//! of their own, runnable without it: the conformance runner (`conformance/`), its mutants
//! and fuzz harnesses (`conformance/harness`), the benchmark harnesses and load generators
//! (`bench/`), the end-to-end tests (`tests/e2e`).

mod compat;
mod conformance;
mod ctests;
mod evolution;
mod gen;
mod outside;
mod package;
mod test;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rltop_devsupport::process;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "The repository's development automation"
)]
struct Xtask {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Generate generated/ from schema/rltop.rlt.
    Gen {
        /// Change nothing; fail if generated/ has drifted from the schema.
        #[arg(long)]
        check: bool,
    },
    /// Check schema files; print every error and warning.
    Check {
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print each struct's and message's offset table.
    Layout { file: String },
    /// The benchmarks: codecs (default), `publish`, `bridge` (vs a Node ws peer), `gateway`
    /// (vs iperf3) or `itch` (the generated ITCH decoder vs itchy); the rest goes to the
    /// harness (`bench bridge --help`).
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The rltop-conformance runner on this checkout's conformance/vectors (`conformance
    /// --help` for its arguments).
    #[command(disable_help_flag = true)]
    Conformance {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// One mutant of the Python package per rule of conformance/RULES.md: the suite must
    /// catch each (`mutants --help`).
    #[command(disable_help_flag = true)]
    Mutants {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// libFuzzer on the C header against the Rust binding and on the feed handler, then the
    /// Python binding on both corpora (`fuzz --help`).
    #[command(disable_help_flag = true)]
    Fuzz {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// cargo package of every publishable crate, rust-version against the dependencies',
    /// and the README's examples of a protocol of one's own in fresh crates.
    Package,
    /// The end-to-end tests (root): `cargo test -p rltop-e2e -- ARGS` (a name filters,
    /// `--list` lists).
    #[command(disable_help_flag = true)]
    E2e {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// schema/rltop.rlt against its last release (the newest tag, else main) with
    /// `rltop-codegen compat`; with arguments, `rltop-codegen compat ARGS`.
    #[command(disable_help_flag = true)]
    Compat {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Everything CI runs: gen --check, schema checks, all tests.
    Test,
}

fn main() -> ExitCode {
    let result = match Xtask::parse().verb {
        Verb::Gen { check } => gen::run(check),
        Verb::Check { files } => check(&files),
        Verb::Layout { file } => layout(&file),
        Verb::Bench { args } => bench(&args),
        Verb::Conformance { args } => conformance::run(&args),
        Verb::Mutants { args } => tool("rltop-conformance-harness", "mutants", &args),
        Verb::Fuzz { args } => tool("rltop-conformance-harness", "fuzz", &args),
        Verb::Package => package::run(),
        Verb::E2e { args } => e2e(&args),
        Verb::Compat { args } => compat::run(&args),
        Verb::Test => test::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprint!("{msg}");
            if !msg.ends_with('\n') {
                eprintln!();
            }
            ExitCode::FAILURE
        }
    }
}

/// `cargo run -p PACKAGE --bin BIN -- ARGS`: a tool of the workspace, built if it must be.
fn tool(package: &str, bin: &str, args: &[String]) -> Result<(), String> {
    let mut all = vec!["run", "--quiet", "-p", package, "--bin", bin, "--"];
    all.extend(args.iter().map(String::as_str));
    process::cargo(&all)
}

/// `bench [publish | bridge | gateway | itch | wireshark] ARGS`: the harness of that benchmark (bench/).
fn bench(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("bridge") => tool("rltop-bench", "bench-bridge", &args[1..]),
        Some("gateway") => tool("rltop-bench", "bench-gateway", &args[1..]),
        // The decoders (or the capture's simulator) run here, so the harness is in release.
        Some(which @ ("itch" | "wireshark")) => {
            let bin = format!("bench-{which}");
            let mut all = vec!["run", "--quiet", "--release", "-p", "rltop-bench"];
            all.extend(["--bin", bin.as_str(), "--"]);
            all.extend(args[1..].iter().map(String::as_str));
            process::cargo(&all)
        }
        // The publisher's criterion harness, with the DPDK row (Debian's libdpdk-dev).
        Some("publish") => {
            rltop_devsupport::debian::ensure_debian(&[
                ("pkg-config", "pkg-config"),
                ("/usr/include/dpdk/rte_ethdev.h", "libdpdk-dev"),
            ])?;
            let mut all = vec!["bench", "-p", "rltop-bench", "--features", "dpdk"];
            all.extend(["--bench", "publish"]);
            process::cargo(&all)
        }
        _ => tool("rltop-bench", "bench-codecs", args),
    }
}

/// `cargo test -p rltop-e2e --test e2e -- ARGS`.
fn e2e(args: &[String]) -> Result<(), String> {
    let mut all = vec!["test", "-p", "rltop-e2e", "--test", "e2e", "--"];
    all.extend(args.iter().map(String::as_str));
    process::cargo(&all)
}

/// Loads a schema; a path is shown as given, relative to the caller's directory.
pub fn load(file: &str) -> Result<rltop_codegen::Checked, String> {
    rltop_codegen::check_file(Path::new(file), file)
        .map_err(|e| format!("error: cannot read {file}: {e}\n"))
}

fn check(files: &[String]) -> Result<(), String> {
    let mut failed = Vec::new();
    for file in files {
        let checked = load(file)?;
        eprint!("{}", checked.render());
        match &checked.laid {
            Some(m) => println!(
                "{file}: ok: {} ({} warnings)",
                m.summary(),
                checked.diagnostics.len()
            ),
            None => failed.push(file.clone()),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("rejected: {}\n", failed.join(", ")))
    }
}

fn layout(file: &str) -> Result<(), String> {
    let checked = load(file)?;
    eprint!("{}", checked.render());
    let laid = checked
        .laid
        .ok_or_else(|| format!("{file}: no layout: the schema has errors\n"))?;
    print!(
        "{}",
        rltop_codegen::table::render(&laid.schema, &laid.layout)
    );
    Ok(())
}
