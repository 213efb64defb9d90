//! Schema evolution: what changed between two versions of a schema, and whom it breaks.
//!
//! Policy:
//! - Every difference a reader or a writer can observe, and every rename that changes the
//!   generated code, is one [`Finding`]: a rule of [`rules::RULES`], where it is in the old
//!   schema and in the new, and what it is.
//! - The rule's [`Class`] says whom it breaks. A [`Mode`], as a schema registry's (Avro's),
//!   says which classes fail: `backward` (new readers must read what old writers wrote),
//!   `forward` (old readers must read what new writers write), `full` (both).
//! - Source-only and safe findings never fail a mode; they are reported so that a reviewer
//!   sees them.
//! - Findings are computed from the two checked schemas and their layouts alone
//!   ([`compare()`]); printing them is [`report`]'s job.

mod compare;
pub mod report;
pub mod rules;

use crate::diagnostic::Span;
pub use compare::compare;
pub use rules::{Rule, RuleId, RULES};

/// Whom a change breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Both directions: old readers misread new writers, and new readers old writers.
    Wire,
    /// Old readers cannot read what new writers write (a forward break).
    OldReaders,
    /// New readers cannot read what old writers wrote (a backward break).
    NewReaders,
    /// The generated APIs change (a rename); not one byte does.
    Source,
    /// Neither readers nor writers notice.
    Safe,
}

impl Class {
    /// As the docs and text reports say it.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Wire => "breaks the wire",
            Class::OldReaders => "breaks old readers",
            Class::NewReaders => "breaks new readers",
            Class::Source => "source only",
            Class::Safe => "safe",
        }
    }

    /// As JSON says it.
    pub fn key(self) -> &'static str {
        match self {
            Class::Wire => "wire",
            Class::OldReaders => "old-readers",
            Class::NewReaders => "new-readers",
            Class::Source => "source",
            Class::Safe => "safe",
        }
    }
}

/// Which findings fail a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// New readers read what old writers wrote: fails on wire and new-reader breaks.
    Backward,
    /// Old readers read what new writers write: fails on wire and old-reader breaks.
    Forward,
    /// Both.
    Full,
}

impl Mode {
    pub fn fails(self, class: Class) -> bool {
        match class {
            Class::Wire => true,
            Class::NewReaders => matches!(self, Mode::Backward | Mode::Full),
            Class::OldReaders => matches!(self, Mode::Forward | Mode::Full),
            Class::Source | Class::Safe => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Backward => "backward",
            Mode::Forward => "forward",
            Mode::Full => "full",
        }
    }
}

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: RuleId,
    /// What changed, naming the item (`message `AddOrder`: field `price` moved from 56 to 64`).
    pub message: String,
    /// Where in the old schema: the item, or for a new one what holds it (its enumeration,
    /// record or protocol). Findings of this library always have both places; a report
    /// prints what is given.
    pub old: Option<Span>,
    /// Where in the new schema: the item, or for one that is gone what held it.
    pub new: Option<Span>,
    /// The message or struct whose fields or size it concerns, or the message added, gone
    /// or renamed (its new name): what a C header's `struct` of that name shows.
    pub record: Option<String>,
    pub notes: Vec<String>,
}

impl Finding {
    pub fn class(&self) -> Class {
        self.rule.class()
    }
}

/// How many findings fail `mode`.
pub fn failing(findings: &[Finding], mode: Mode) -> usize {
    findings.iter().filter(|f| mode.fails(f.class())).count()
}
