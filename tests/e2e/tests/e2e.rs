//! The harness of the end-to-end checks ([`rltop_e2e::checks`]), on libtest-mimic so that
//! `cargo test -p rltop-e2e -- NAME` filters, `--list` lists and the summary is libtest's.
//!
//! The checks run one at a time (they share the machine's two cores and name their
//! namespaces after this process), after one setup: Debian packages, the `rltop` binary.
//! Not as root, every check is reported as ignored, with the reason: they need network
//! namespaces and nftables. A failed setup fails every check with its error.

use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::OnceLock;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let root = rltop_devsupport::is_root();
    let env: &'static OnceLock<Result<rltop_e2e::Env, String>> = Box::leak(Box::default());
    let trials = rltop_e2e::checks()
        .into_iter()
        .map(|check| {
            Trial::test(check.name, move || {
                let env = env
                    .get_or_init(rltop_e2e::setup)
                    .as_ref()
                    .map_err(|e| Failed::from(format!("setup: {e}")))?;
                eprintln!("\n# e2e: {}", check.name);
                let report = (check.run)(env).map_err(Failed::from)?;
                eprintln!("{report}");
                Ok(())
            })
            .with_ignored_flag(!root)
        })
        .collect();
    if !root {
        eprintln!(
            "rltop-e2e: not root: every check needs network namespaces and nftables (ignored)"
        );
    }
    let listing = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !listing {
        // The line CI's log reader counts, after libtest's summary.
        println!(
            "e2e: {} passed, {} failed",
            conclusion.num_passed, conclusion.num_failed
        );
    }
    conclusion.exit();
}
