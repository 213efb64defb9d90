//! The RLTOP conformance runner, as a library and as the `rltop-conformance` binary: the
//! protocol's language-neutral vectors (generated from the schema, embedded at build time)
//! against any implementation that speaks line-delimited JSON on stdin/stdout, as protobuf's
//! `conformance_test_runner` does. The protocol between runner and testee, the vector files
//! and what each case checks are in the crate's README.
//!
//! Modules: [`cases`] (the vectors as requests and expectations), [`judge`] (an answer
//! against its case), [`testee`] (the process under test), [`run`] (a run and its failure
//! list), [`report`] (text, JSON, JUnit), [`cli`] (the command line); [`serve`] is the
//! testee's side, for testees written in Rust.

pub mod cases;
pub mod cli;
pub mod judge;
pub mod report;
pub mod run;
pub mod serve;
pub mod testee;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use cases::{Case, Vectors};
pub use judge::FieldMap;
pub use testee::{answers, first_failure};
