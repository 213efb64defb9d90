//! One run: every case against the testee, in order, each outcome weighed against the list of
//! known failures. A run passes when nothing fails that is not listed, nothing listed passes
//! or is missing (the list stays honest), and the testee exits cleanly once its input closes
//! (a sanitizer reports leaks at exit). A testee that cannot be started, or leaves
//! [`MAX_SILENT_IN_A_ROW`] cases in a row without an answer, stops the run: it should cost
//! seconds, not the time limit on every case.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cases::Case;
use crate::judge::{judge, FieldMap};
use crate::testee::{Silence, Testee};

/// Cases in a row without an answer (crash or timeout) after which the run stops.
pub const MAX_SILENT_IN_A_ROW: usize = 3;

/// How one run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The testee, run with `sh -c`.
    pub testee: String,
    pub timeout: Duration,
    /// Cases expected to fail.
    pub known: BTreeSet<String>,
    /// Only some cases run: a listed case that is not among them is not called stale.
    pub filtered: bool,
}

/// A case's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Failed, and not in the failure list: why.
    Fail(String),
    /// Failed, as the failure list says: why.
    KnownFailure(String),
    /// In the failure list, but passed.
    Stale,
    /// Not run: the run stopped before it.
    NotRun,
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub status: Status,
    pub time: Duration,
}

/// Everything a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub results: Vec<CaseResult>,
    /// Failure-list entries that name no case.
    pub unknown_listed: Vec<String>,
    /// The testee's exit after the last case, when it was not a success.
    pub bad_exit: Option<String>,
    /// Why the run stopped early.
    pub stopped: Option<String>,
}

impl Report {
    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.status)).count()
    }

    pub fn passed(&self) -> usize {
        self.count(|s| matches!(s, Status::Pass | Status::Stale))
    }

    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Fail(_) | Status::KnownFailure(_)))
    }

    pub fn not_run(&self) -> usize {
        self.count(|s| *s == Status::NotRun)
    }

    /// Failures not in the list (a bad exit counts as one).
    pub fn unexpected(&self) -> usize {
        self.count(|s| matches!(s, Status::Fail(_))) + usize::from(self.bad_exit.is_some())
    }

    /// Listed cases that pass or do not exist.
    pub fn stale(&self) -> usize {
        self.count(|s| *s == Status::Stale) + self.unknown_listed.len()
    }

    pub fn ok(&self) -> bool {
        self.stopped.is_none() && self.unexpected() == 0 && self.stale() == 0
    }
}

/// Runs `cases`; `on_case` sees each result as it comes (a long run shows progress).
pub fn run(
    cases: &[Case],
    fields: Option<&FieldMap>,
    o: &Options,
    on_case: &mut dyn FnMut(&CaseResult),
) -> Report {
    let mut report = Report::default();
    let mut testee = Testee::new(&o.testee);
    let mut silent_in_a_row = 0;
    for (k, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let mut request = case.request.clone();
        request["id"] = json!(case.name);
        let answer = testee.ask(&request, o.timeout);
        match &answer {
            Err(Silence::CannotStart(why)) => {
                report.stopped = Some(format!("stopped at {}: {why}", case.name));
            }
            Err(Silence::NoAnswer(_)) => silent_in_a_row += 1,
            _ => silent_in_a_row = 0,
        }
        if report.stopped.is_some() {
            not_run(&mut report, &cases[k..]);
            return report;
        }
        let outcome = answer.map_err(|s| s.to_string()).and_then(|response| {
            match response.get("id") {
                Some(id) if *id != json!(case.name) => {
                    return Err(format!(
                        "response for {id}, not for this case (out of step)"
                    ))
                }
                _ => {}
            }
            judge(case, &response, fields)
        });
        let listed = o.known.contains(&case.name);
        let status = match (outcome, listed) {
            (Ok(()), false) => Status::Pass,
            (Ok(()), true) => Status::Stale,
            (Err(why), false) => Status::Fail(why),
            (Err(why), true) => Status::KnownFailure(why),
        };
        let result = CaseResult {
            name: case.name.clone(),
            status,
            time: started.elapsed(),
        };
        on_case(&result);
        report.results.push(result);
        if silent_in_a_row == MAX_SILENT_IN_A_ROW && k + 1 < cases.len() {
            report.stopped = Some(format!(
                "the testee left {MAX_SILENT_IN_A_ROW} cases in a row without an answer (it \
                 crashed or hung each time)"
            ));
            not_run(&mut report, &cases[k + 1..]);
            return report;
        }
    }
    if let Some(status) = testee.finish(o.timeout) {
        if !status.success() {
            report.bad_exit = Some(format!(
                "after the last case the testee exited with {status}"
            ));
        }
    }
    if !o.filtered {
        let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        report.unknown_listed = o
            .known
            .iter()
            .filter(|k| !names.contains(k.as_str()))
            .cloned()
            .collect();
    }
    report
}

fn not_run(report: &mut Report, cases: &[Case]) {
    report.results.extend(cases.iter().map(|c| CaseResult {
        name: c.name.clone(),
        status: Status::NotRun,
        time: Duration::ZERO,
    }));
}
