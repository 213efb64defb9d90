//! How `compat` prints its findings: text in rustc's style for people, JSON for programs,
//! and GitHub Actions workflow commands for annotations on a pull request. Each format has
//! one writer here; the findings are the same in all three.

use std::fmt::Write as _;

use super::{failing, Class, Finding, Mode};
use crate::diagnostic::{SourceFile, Span};

/// One comparison: the two schemas as read, the mode, and what differs.
pub struct Comparison<'a> {
    pub old: &'a SourceFile,
    pub new: &'a SourceFile,
    pub mode: Mode,
    pub findings: &'a [Finding],
}

/// `error` when the finding fails the mode, `warning` for a break the mode accepts or a
/// source-only change, `note` for a safe one.
fn severity(f: &Finding, mode: Mode) -> &'static str {
    match f.class() {
        c if mode.fails(c) => "error",
        Class::Safe => "note",
        _ => "warning",
    }
}

impl Comparison<'_> {
    pub fn failing(&self) -> usize {
        failing(self.findings, self.mode)
    }

    /// rustc's style: the finding, its place in the new schema, then in the old.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in self.findings {
            let _ = writeln!(
                out,
                "{}[{}]: {}",
                severity(f, self.mode),
                f.rule.name(),
                f.message
            );
            let mut arrow = "-->";
            if let Some(span) = f.new {
                out.push_str(&self.new.snippet(span, "new", arrow));
                arrow = ":::";
            }
            if let Some(span) = f.old {
                out.push_str(&self.old.snippet(span, "old", arrow));
            }
            let verdict = if self.mode.fails(f.class()) {
                "fails"
            } else {
                "passes"
            };
            let _ = writeln!(
                out,
                "   = {}: {verdict} {} mode",
                f.class().describe(),
                self.mode.name()
            );
            for note in &f.notes {
                let _ = writeln!(out, "   = note: {note}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{} → {} ({} mode): {} findings, {} breaking",
            self.old.name,
            self.new.name,
            self.mode.name(),
            self.findings.len(),
            self.failing()
        );
        out
    }

    /// One object: the files, the mode, the count that fails it, and every finding with
    /// its rule, class, whether it fails, and its places as file, line and column.
    pub fn json(&self) -> serde_json::Value {
        let place = |file: &SourceFile, span: Option<Span>| {
            span.map(|s| {
                let (line, column) = file.line_col(s.start);
                serde_json::json!({ "file": file.name, "line": line, "column": column })
            })
        };
        let findings: Vec<_> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "rule": f.rule.name(),
                    "class": f.class().key(),
                    "fails": self.mode.fails(f.class()),
                    "message": f.message,
                    "record": f.record,
                    "old": place(self.old, f.old),
                    "new": place(self.new, f.new),
                    "notes": f.notes,
                })
            })
            .collect();
        serde_json::json!({
            "old": self.old.name,
            "new": self.new.name,
            "mode": self.mode.name(),
            "breaking": self.failing(),
            "findings": findings,
        })
    }

    /// GitHub Actions workflow commands (`::error file=…,line=…,col=…,title=…::…`), one a
    /// finding, placed in the new schema (an item that is gone: where the new schema
    /// names its container), so they annotate the pull request's diff.
    pub fn github(&self) -> String {
        let mut out = String::new();
        for f in self.findings {
            let level = match severity(f, self.mode) {
                "error" => "error",
                "warning" => "warning",
                _ => "notice",
            };
            let mut message = format!("{} ({})", f.message, f.class().describe());
            if let Some(span) = f.old {
                let (l, c) = self.old.line_col(span.start);
                let _ = write!(message, "\nwas at {}:{l}:{c}", self.old.name);
            }
            for note in &f.notes {
                let _ = write!(message, "\n{note}");
            }
            let mut props = format!("title={}", property(f.rule.name()));
            if let Some(span) = f.new {
                let (l, c) = self.new.line_col(span.start);
                props = format!("file={},line={l},col={c},{props}", property(&self.new.name));
            }
            let _ = writeln!(out, "::{level} {props}::{}", data(&message));
        }
        out
    }
}

/// A workflow command's message, escaped as the runner unescapes it.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: its message escapes, and `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_what_the_runner_unescapes() {
        assert_eq!(data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
