//! `cargo xtask mutants`: proves the conformance suite catches every broken rule.
//!
//! Passing the suite says an implementation agrees with the vectors; it says as much about
//! the implementation as the vectors test. So each rule of `conformance/RULES.md` gets a
//! mutant (`conformance/mutants.toml`): a copy of the generated Python package with one
//! edit that breaks that rule alone, as an implementer might. Each mutant runs as a testee
//! (the Python testee with the copy first on `PYTHONPATH`), and the suite must fail at least
//! one case. A mutant that passes everything is a rule no vector tests.
//!
//! Why the Python package: its source is plain text with no build, so a mutant costs a copy
//! and one Python process, and its book builder is short enough that one edit is one rule.
//! Why source edits checked for exactly one match: a mutant whose code moved must fail
//! loudly, not silently test the unmutated package.
//!
//! The run fails on a mutant that survives and is not listed in
//! `conformance/mutants-surviving.txt`, on a listed one that is caught now (the list must
//! shrink as vectors are added), on a rule without a mutant, a mutant without a rule, and when
//! the unmutated copy does not pass every case (then the route itself is broken).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use rltop_conformance::{self as conformance, Case, FieldMap, Vectors};
use rltop_devsupport::{pyenv, root, VECTORS};

/// One mutant of the Python package per rule of conformance/RULES.md: the conformance suite
/// must catch each.
#[derive(clap::Parser)]
#[command(name = "mutants", about)]
struct Args {
    /// Only the mutants whose rule id contains this.
    #[arg(long, value_name = "SUBSTRING")]
    filter: Option<String>,
    /// Mutants run at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

const MUTANTS: &str = "conformance/mutants.toml";
const RULES: &str = "conformance/RULES.md";
const SURVIVING: &str = "conformance/mutants-surviving.txt";
const PACKAGE: &str = "generated/python/rltop";
const TESTEE: &str = "conformance/testees/python/testee.py";

#[derive(Debug, Deserialize)]
struct MutantFile {
    mutant: Vec<Mutant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mutant {
    rule: String,
    /// Relative to the package directory.
    file: String,
    find: String,
    replace: String,
}

/// What became of one mutant.
enum Verdict {
    Caught { case: String, why: String },
    Survived,
}

/// The rule ids of RULES.md: the first column of its tables, in backticks.
fn rule_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(id, _)| id.to_string())
        .collect()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A copy of the package in `dir` with `mutant`'s edit (none for the baseline).
fn prepare(dir: &Path, mutant: Option<&Mutant>) -> Result<(), String> {
    let package = root().join(PACKAGE);
    let copy = dir.join("rltop");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).map_err(|e| format!("{}: {e}", copy.display()))?;
    let entries = std::fs::read_dir(&package).map_err(|e| format!("{}: {e}", package.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "py" || x == "typed") {
            std::fs::copy(&path, copy.join(entry.file_name()))
                .map_err(|e| format!("copy {}: {e}", path.display()))?;
        }
    }
    let Some(m) = mutant else { return Ok(()) };
    let target = copy.join(&m.file);
    let text = read(&target)?;
    match text.matches(m.find.as_str()).count() {
        1 => {}
        n => {
            return Err(format!(
                "mutant {}: its `find` occurs {n} times in {PACKAGE}/{} (exactly once needed): \
                 the code moved, update {MUTANTS}",
                m.rule, m.file
            ))
        }
    }
    std::fs::write(&target, text.replacen(m.find.as_str(), &m.replace, 1))
        .map_err(|e| format!("{}: {e}", target.display()))
}

struct Suite {
    python: PathBuf,
    cases: Vec<Case>,
    fields: FieldMap,
    work: PathBuf,
}

impl Suite {
    /// Runs the suite against the package copy in `dir`.
    fn judge(&self, dir: &Path) -> Result<Verdict, String> {
        // A mutant may crash the testee: the case it crashed on is the verdict, and the
        // traceback is noise in the run's log.
        let testee = format!(
            "PYTHONPATH={} {} {} 2>/dev/null",
            dir.display(),
            self.python.display(),
            root().join(TESTEE).display()
        );
        let first = conformance::first_failure(
            &testee,
            &self.cases,
            &self.fields,
            Duration::from_secs(10),
        )?;
        Ok(match first {
            Some((case, why)) => Verdict::Caught { case, why },
            None => Verdict::Survived,
        })
    }
}

fn read_surviving(path: &Path) -> Result<BTreeSet<String>, String> {
    Ok(read(path)?
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn main() -> std::process::ExitCode {
    rltop_devsupport::exit(run(<Args as clap::Parser>::parse()))
}

fn run(args: Args) -> Result<(), String> {
    let filter = args.filter;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        usize::from,
    );
    let root = root();
    let file: MutantFile =
        toml::from_str(&read(&root.join(MUTANTS))?).map_err(|e| format!("{MUTANTS}: {e}"))?;
    let rules = rule_ids(&read(&root.join(RULES))?);
    let surviving = read_surviving(&root.join(SURVIVING))?;

    every_rule_mutated(&rules, &file, &surviving)?;

    let mutants: Vec<Mutant> = file
        .mutant
        .into_iter()
        .filter(|m| filter.as_deref().is_none_or(|f| m.rule.contains(f)))
        .collect();
    if mutants.is_empty() {
        return Err(format!("--filter {filter:?} matches no mutant\n"));
    }
    let python = pyenv::python(&["pytest", "numpy", "crc32c"])?;
    let suite = Suite {
        python,
        cases: conformance::cases::load(&Vectors::Dir(root.join(VECTORS)))?,
        fields: FieldMap::load(&Vectors::Dir(root.join(VECTORS)))?,
        work: root.join("target/mutants"),
    };
    let started = Instant::now();

    // The unmutated copy must pass: otherwise every mutant is "caught" by a broken route.
    let baseline = suite.work.join("baseline");
    prepare(&baseline, None)?;
    if let Verdict::Caught { case, why } = suite.judge(&baseline)? {
        return Err(format!(
            "the unmutated package fails {case} through this route: {why}\n"
        ));
    }
    eprintln!(
        "mutants: the unmutated package passes all {} cases; {} mutants, {jobs} at a time",
        suite.cases.len(),
        mutants.len()
    );

    let verdicts = suite.judge_all(&mutants, jobs)?;
    report(&mutants, verdicts, &surviving, started)
}

impl Suite {
    /// Each mutant's verdict, in order, `jobs` at a time.
    fn judge_all(
        &self,
        mutants: &[Mutant],
        jobs: usize,
    ) -> Result<Vec<Option<Result<Verdict, String>>>, String> {
        let next = AtomicUsize::new(0);
        let verdicts: Mutex<Vec<Option<Result<Verdict, String>>>> =
            Mutex::new((0..mutants.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(mutants.len()) {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = mutants.get(k) else { break };
                    let dir = self.work.join(&m.rule);
                    let verdict = prepare(&dir, Some(m)).and_then(|()| self.judge(&dir));
                    if let Ok(mut all) = verdicts.lock() {
                        all[k] = Some(verdict);
                    }
                });
            }
        });
        verdicts
            .into_inner()
            .map_err(|_| "a mutant's thread panicked".to_string())
    }
}

/// The verdicts printed, one line each, then the totals; an error for an unlisted
/// survivor and for a listed one that is caught now.
fn report(
    mutants: &[Mutant],
    verdicts: Vec<Option<Result<Verdict, String>>>,
    surviving: &BTreeSet<String>,
    started: Instant,
) -> Result<(), String> {
    let (mut caught, mut unlisted, mut stale) = (0, Vec::new(), Vec::new());
    for (m, verdict) in mutants.iter().zip(verdicts) {
        match verdict.unwrap_or_else(|| Err("not run".into())) {
            Ok(Verdict::Caught { case, why }) => {
                caught += 1;
                let why: String = why.lines().next().unwrap_or("").chars().take(120).collect();
                println!("caught   {:<34} by {case}: {why}", m.rule);
                if surviving.contains(&m.rule) {
                    stale.push(m.rule.clone());
                }
            }
            Ok(Verdict::Survived) => {
                let listed = surviving.contains(&m.rule);
                println!(
                    "SURVIVED {:<34} every case passes{}",
                    m.rule,
                    if listed {
                        " (listed: a known hole)"
                    } else {
                        ""
                    }
                );
                if !listed {
                    unlisted.push(m.rule.clone());
                }
            }
            Err(e) => return Err(format!("mutant {}: {e}\n", m.rule)),
        }
    }
    let total = mutants.len();
    println!(
        "mutants: {caught} of {total} caught ({:.0} %), {} survived, in {:.0} s",
        100.0 * caught as f64 / total as f64,
        total - caught,
        started.elapsed().as_secs_f64()
    );
    // The plain closing line: a caught mutant passes, an unlisted survivor fails, a listed
    // one (a known hole) is neither.
    println!(
        "{caught} passed, {} failed, {} skipped",
        unlisted.len(),
        total - caught - unlisted.len()
    );
    let mut errors = Vec::new();
    for r in &unlisted {
        errors.push(format!(
            "mutant {r} survived: no case tests rule {r} (add a vector or scenario, or list it in {SURVIVING})"
        ));
    }
    for r in &stale {
        errors.push(format!(
            "mutant {r} is caught now: remove it from {SURVIVING}"
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n") + "\n")
    }
}

/// Every rule has a mutant, every mutant a rule, every listed survivor a mutant.
fn every_rule_mutated(
    rules: &[String],
    file: &MutantFile,
    surviving: &BTreeSet<String>,
) -> Result<(), String> {
    let ruled: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
    let mutated: BTreeSet<&str> = file.mutant.iter().map(|m| m.rule.as_str()).collect();
    let mut problems: Vec<String> = Vec::new();
    for r in ruled.difference(&mutated) {
        problems.push(format!("rule {r} ({RULES}) has no mutant in {MUTANTS}"));
    }
    for r in mutated.difference(&ruled) {
        problems.push(format!("mutant {r} ({MUTANTS}) names no rule of {RULES}"));
    }
    for r in surviving.iter().filter(|r| !mutated.contains(r.as_str())) {
        problems.push(format!("{SURVIVING} lists {r}, which is no mutant"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n") + "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_the_first_column_in_backticks() {
        let text = "| id | rule |\n|---|---|\n| `a-b` | x |\n* `not-a-row`\n| `c` | y `z` |\n";
        assert_eq!(rule_ids(text), ["a-b", "c"]);
    }
}
