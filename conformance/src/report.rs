//! A run's report for people (`text`: failures as they come, then `N passed, N failed`) and
//! for programs (`json`: one object; `junit`: the XML that CI systems show per test). Every
//! string in JSON goes through serde_json and every string in XML through [`xml_escape`]:
//! a testee's answer is arbitrary text.

use serde_json::{json, Value};

use crate::run::{CaseResult, Report, Status};

/// The line `text` prints for a case as it finishes, if any (passes are quiet).
pub fn text_line(r: &CaseResult) -> Option<String> {
    match &r.status {
        Status::Fail(why) => Some(format!("FAIL {}: {why}", r.name)),
        Status::KnownFailure(why) => Some(format!("known failure {}: {why}", r.name)),
        Status::Pass | Status::Stale | Status::NotRun => None,
    }
}

/// What `text` prints after the last case: stale list entries, the bad exit, the counts.
pub fn text_summary(report: &Report) -> String {
    let mut out = String::new();
    if let Some(why) = &report.bad_exit {
        out += &format!("FAIL testee exit: {why}\n");
    }
    for r in report.results.iter().filter(|r| r.status == Status::Stale) {
        out += &format!(
            "STALE {}: listed as a known failure but passes; remove it from the failure list\n",
            r.name
        );
    }
    for name in &report.unknown_listed {
        out += &format!("STALE {name}: listed as a known failure but no such case exists\n");
    }
    out += &counts(report);
    out.push('\n');
    out
}

/// `N passed, N failed` (`, N not run` when the run stopped early).
pub fn counts(report: &Report) -> String {
    let mut line = format!("{} passed, {} failed", report.passed(), report.failed());
    if report.not_run() > 0 {
        line += &format!(", {} not run", report.not_run());
    }
    line
}

/// Why the run failed, or None when it passed.
pub fn verdict(report: &Report) -> Option<String> {
    if let Some(why) = &report.stopped {
        return Some(format!("conformance run {why}"));
    }
    (!report.ok()).then(|| {
        let stale = report.stale();
        format!(
            "conformance run failed: {} unexpected failure(s), {stale} stale failure-list entr{}",
            report.unexpected(),
            if stale == 1 { "y" } else { "ies" }
        )
    })
}

fn status_name(s: &Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail(_) => "fail",
        Status::KnownFailure(_) => "known_failure",
        Status::Stale => "stale",
        Status::NotRun => "not_run",
    }
}

fn detail(s: &Status) -> Option<&str> {
    match s {
        Status::Fail(why) | Status::KnownFailure(why) => Some(why),
        Status::Stale => Some("listed as a known failure but passes"),
        Status::Pass | Status::NotRun => None,
    }
}

/// The whole run as one JSON object.
pub fn json(report: &Report) -> Value {
    let cases: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "status": status_name(&r.status),
                "detail": detail(&r.status),
                "seconds": r.time.as_secs_f64(),
            })
        })
        .collect();
    json!({
        "ok": report.ok(),
        "passed": report.passed(),
        "failed": report.failed(),
        "not_run": report.not_run(),
        "unexpected": report.unexpected(),
        "stale": report.stale(),
        "stopped": report.stopped,
        "testee_exit": report.bad_exit,
        "unknown_listed": report.unknown_listed,
        "cases": cases,
    })
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, and characters XML 1.0 cannot hold
/// (control characters other than tab and newlines) written as U+FFFD.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The run as JUnit XML: one `testcase` a case (class: the part of its name before the first
/// `/`); a known failure is `skipped`, a stale entry and the testee's bad exit are failures.
pub fn junit(report: &Report) -> String {
    let mut cases = String::new();
    for r in &report.results {
        let class = r.name.split('/').next().unwrap_or("");
        cases += &format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.6}\"",
            xml_escape(class),
            xml_escape(&r.name),
            r.time.as_secs_f64()
        );
        let inner = match &r.status {
            Status::Pass => None,
            Status::Fail(why) => Some(format!("<failure message=\"{}\"/>", xml_escape(why))),
            Status::Stale => {
                Some("<failure message=\"listed as a known failure but passes\"/>".to_string())
            }
            Status::KnownFailure(why) => Some(format!(
                "<skipped message=\"known failure: {}\"/>",
                xml_escape(why)
            )),
            Status::NotRun => Some("<skipped message=\"not run: the run stopped\"/>".to_string()),
        };
        match inner {
            None => cases += "/>\n",
            Some(i) => cases += &format!(">{i}</testcase>\n"),
        }
    }
    let mut extra = String::new();
    for (name, why) in report
        .bad_exit
        .iter()
        .map(|w| ("testee exit".to_string(), w.clone()))
        .chain(report.unknown_listed.iter().map(|n| {
            (
                n.clone(),
                "listed as a known failure but no such case exists".to_string(),
            )
        }))
    {
        extra += &format!(
            "    <testcase classname=\"run\" name=\"{}\"><failure message=\"{}\"/></testcase>\n",
            xml_escape(&name),
            xml_escape(&why)
        );
    }
    let tests = report.results.len() + report.bad_exit.iter().count() + report.unknown_listed.len();
    let failures = report.unexpected() + report.stale();
    let skipped = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::KnownFailure(_) | Status::NotRun))
        .count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"rltop-conformance\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n{cases}{extra}  </testsuite>\n</testsuites>\n"
    )
}
