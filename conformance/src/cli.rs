//! The command line, shared by the `rltop-conformance` binary and `cargo xtask conformance`.
//! Exit status: 0 when the run passes, 1 when it fails (or stops), 2 for a usage error.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::cases::{self, Vectors};
use crate::judge::FieldMap;
use crate::report;
use crate::run::{self, Options};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Failures as they come, then `N passed, N failed`.
    Text,
    /// One JSON object: counts, and every case with its status.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
}

/// Runs the RLTOP conformance vectors against an implementation under test.
///
/// The testee is run with `sh -c CMD` and speaks line-delimited JSON on stdin/stdout (one
/// request a line, one answer a line; see the crate's README). Each case has a time limit; a
/// testee that crashes or hangs fails that case and is restarted for the next one.
#[derive(Parser, Debug)]
#[command(name = "rltop-conformance", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The implementation under test, run with `sh -c CMD`.
    #[arg(long, value_name = "CMD", required_unless_present = "list")]
    pub testee: Option<String>,
    /// Known failures, one case name a line (`#` comments): the run fails on a failure not
    /// listed, and on a listed case that passes or does not exist.
    #[arg(long, value_name = "FILE")]
    pub failure_list: Option<PathBuf>,
    /// A vector directory (another schema's, from `rltop-codegen gen --vectors`) instead of
    /// the protocol's vectors built into this program.
    #[arg(long, value_name = "DIR")]
    pub vectors: Option<PathBuf>,
    /// Only the cases whose name contains this (an error if none does).
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
    /// Per-case time limit, milliseconds.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Print the case names, one a line, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// How to report: on stdout; with json and junit the counts also go to stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

const AFTER_HELP: &str = "The run also stops when the testee cannot be started, or leaves 3 \
cases in a row without an answer (it crashed or hung each time).";

/// Why a run did not pass: the message, and the exit status it calls for.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn run(message: String) -> Failure {
        Failure { code: 1, message }
    }
}

/// Parses `args` (without the program name) and runs.
pub fn run_args(args: &[String]) -> Result<(), Failure> {
    let argv = std::iter::once("rltop-conformance".to_string()).chain(args.iter().cloned());
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let message = e.render().to_string();
            if code == 0 {
                print!("{message}");
                return Ok(());
            }
            return Err(Failure { code, message });
        }
    };
    run(&args)
}

/// Runs with parsed arguments.
pub fn run(args: &Args) -> Result<(), Failure> {
    let vectors = match &args.vectors {
        Some(dir) => Vectors::Dir(dir.clone()),
        None => Vectors::Embedded,
    };
    let mut cases = cases::load(&vectors).map_err(Failure::run)?;
    if let Some(f) = &args.filter {
        let all = cases.len();
        cases.retain(|c| c.name.contains(f.as_str()));
        if cases.is_empty() {
            return Err(Failure::run(format!(
                "--filter {f:?} matches none of the {all} cases (--list prints their names)"
            )));
        }
    }
    if args.list {
        for case in &cases {
            println!("{}", case.name);
        }
        return Ok(());
    }
    let options = Options {
        testee: args.testee.clone().unwrap_or_default(),
        timeout: Duration::from_millis(args.timeout_ms),
        known: match &args.failure_list {
            Some(p) => cases::read_failure_list(p).map_err(Failure::run)?,
            None => Default::default(),
        },
        filtered: args.filter.is_some(),
    };
    let fields = FieldMap::load_if_any(&vectors).map_err(Failure::run)?;
    let text = matches!(args.format, Format::Text);
    let report = run::run(&cases, fields.as_ref(), &options, &mut |r| {
        if let Some(line) = report::text_line(r).filter(|_| text) {
            println!("{line}");
        }
    });
    match args.format {
        Format::Text => print!("{}", report::text_summary(&report)),
        Format::Json => {
            println!("{}", report::json(&report));
            eprintln!("{}", report::counts(&report));
        }
        Format::Junit => {
            print!("{}", report::junit(&report));
            eprintln!("{}", report::counts(&report));
        }
    }
    match report::verdict(&report) {
        None => Ok(()),
        Some(why) => Err(Failure::run(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_states_the_silence_limit_the_run_applies() {
        let said = format!("leaves {} cases in a row", run::MAX_SILENT_IN_A_ROW);
        assert!(AFTER_HELP.contains(&said), "{AFTER_HELP}");
    }
}
