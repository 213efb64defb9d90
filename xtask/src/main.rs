//! `cargo xtask <verb>`: the project's automation, in Rust (as rust-analyzer does it).

mod bench;
mod bridge_e2e;
mod conformance;
mod ctests;
mod debian;
mod e2e;
mod fuzz;
mod gen;
mod mutants;
mod outside;
mod package;
mod process;
mod pyenv;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <verb>

  gen [--check]        generate generated/ from schema/rltop.rlt (--check: fail on drift)
  check FILE...        check schema files; print every error and warning
  layout FILE          print each struct's and message's offset table
  bench [--report-only] run the codec benchmarks; print messages/s and ratios
  bench publish        the publisher: kernel (sendto, packed, sendmmsg) and DPDK net_null
  bench bridge [--clients N,...] [--seconds S] [--rate R]
                       the WebSocket bridge vs a Node ws peer, same stream, same clients
  bench gateway [--seconds S] [--clients N]
                       the TCP gateway: replay vs iperf3 on loopback, live fan-out to N
                       clients, gap-to-repair vs snapshot-only under loss (that part: root)
  conformance ARGS...  the rltop-conformance runner (crate conformance/) on this checkout's
                       conformance/vectors; ARGS are its own (conformance --help)
  mutants [--filter S] one mutant of the Python package per rule of conformance/RULES.md:
                       the conformance suite must catch each
  fuzz [--seconds N | --minutes N]
                       libFuzzer on the C header = Rust binding and on the feed handler,
                       then the Python binding on both corpora
  package              cargo package of every publishable crate, rust-version against the
                       dependencies', and the README's examples of a protocol of one's own
                       (rltop-codegen, build script, derive and include_schema!) in fresh crates
  e2e [bridge|gateway] publisher and subscriber in network namespaces under loss (root)
  test                 everything CI runs: gen --check, schema checks, all tests
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => gen::run(&args[1..]),
        Some("check") if args.len() > 1 => check(&args[1..]),
        Some("layout") if args.len() == 2 => layout(&args[1]),
        Some("bench") => bench::run(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        Some("mutants") => mutants::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("package") => package::run(&args[1..]),
        Some("test") if args.len() == 1 => test::run(),
        Some("e2e") => e2e::run(&args[1..]).map(|n| println!("e2e: {n} passed, 0 failed")),
        _ => Err(USAGE.to_string()),
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

/// The workspace root (xtask lives one level below it).
/// A verb's arguments parsed by clap: None when `--help` was asked (and printed).
pub fn parse_args<T: clap::Parser>(verb: &str, args: &[String]) -> Result<Option<T>, String> {
    let argv = std::iter::once(format!("cargo xtask {verb}")).chain(args.iter().cloned());
    match T::try_parse_from(argv) {
        Ok(t) => Ok(Some(t)),
        Err(e) if !e.use_stderr() => {
            print!("{e}");
            Ok(None)
        }
        Err(e) => Err(e.render().to_string()),
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
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
