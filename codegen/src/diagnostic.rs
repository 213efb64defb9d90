//! Errors and warnings about a schema, rendered in rustc's style:
//!
//! ```text
//! error: message `AddOrder` declares 128 bytes but its fields sum to 120 (8 bytes short)
//!   --> schema/examples/seed-draft.rlt:72:31
//!    |
//! 72 | message AddOrder type 0x78 size 128 channel Incremental {
//!    |                               ^^^ declared here
//!    = note: header 40 + order_book_seq 8 + ...
//! ```

use std::fmt::Write as _;

/// A byte range in a schema source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Text under the caret.
    pub label: String,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
        }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(span, message)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A schema's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// `file:line:col` of a byte offset.
    pub fn location(&self, offset: usize) -> String {
        let (l, c) = self.line_col(offset);
        format!("{}:{l}:{c}", self.name)
    }

    /// Renders one diagnostic with its source line and caret.
    pub fn render(&self, d: &Diagnostic) -> String {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let (line, _) = self.line_col(d.span.start);
        let pad = " ".repeat(line.to_string().len());
        let mut out = format!("{kind}: {}\n", d.message);
        out.push_str(&self.snippet(d.span, &d.label, "-->"));
        for note in &d.notes {
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        out
    }

    /// `--> file:line:col`, the source line and a caret under `span` with `label`: the
    /// body of a diagnostic. `arrow` is `-->` for the first place a report names, `:::` for
    /// the others, as rustc writes them.
    pub fn snippet(&self, span: Span, label: &str, arrow: &str) -> String {
        let (line, col) = self.line_col(span.start);
        let text = self.line_text(line);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut out = String::new();
        let _ = writeln!(out, "{pad}{arrow} {}:{line}:{col}", self.name);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {text}");
        // The caret covers the span on its first line, at least one character.
        let line_end = self.line_starts[line - 1] + text.len();
        let span_chars = self
            .text
            .get(span.start..span.end.min(line_end))
            .map_or(1, |s| s.chars().count())
            .max(1);
        let lead: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let label = if label.is_empty() {
            String::new()
        } else {
            format!(" {label}")
        };
        let _ = writeln!(out, "{pad} | {lead}{}{label}", "^".repeat(span_chars));
        out
    }

    /// Renders every diagnostic, in source order, with a closing count of errors.
    pub fn render_all(&self, diags: &[Diagnostic]) -> String {
        let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
        sorted.sort_by_key(|d| (d.span.start, d.severity));
        let mut out = String::new();
        for d in &sorted {
            out.push_str(&self.render(d));
            out.push('\n');
        }
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let warnings = diags.len() - errors;
        if errors > 0 {
            let _ = writeln!(
                out,
                "error: {} rejected: {errors} error{}{}",
                self.name,
                if errors == 1 { "" } else { "s" },
                if warnings > 0 {
                    format!(
                        ", {warnings} warning{}",
                        if warnings == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let f = SourceFile::new("s.rlt", "a\nmessage Foo type 0x78 size 12 {\n}\n");
        let start = f.text.find("12").unwrap();
        let d = Diagnostic::error(Span::new(start, start + 2), "bad size")
            .label("declared here")
            .note("fields: x");
        let out = f.render(&d);
        assert_eq!(
            out,
            "error: bad size\n --> s.rlt:2:28\n  |\n2 | message Foo type 0x78 size 12 {\n  |                            ^^ declared here\n  = note: fields: x\n"
        );
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(f.text.len()), (4, 1));
    }
}
