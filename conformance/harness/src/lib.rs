//! Two harnesses that test the conformance suite rather than an implementation, as binaries
//! of their own (`cargo xtask mutants` and `cargo xtask fuzz` run them):
//!
//! - `mutants`: each rule of `conformance/RULES.md` has a mutant of the generated Python
//!   package (`conformance/mutants.toml`) that breaks that rule alone; the suite must catch
//!   every one.
//! - `fuzz`: libFuzzer drives the C header against the Rust binding, and the feed handler;
//!   then every input of both corpora is put to the Python testee.
//!
//! Both use the runner's library (`rltop-conformance`) for cases and judging, so a verdict
//! here is the verdict the installed runner would give.
