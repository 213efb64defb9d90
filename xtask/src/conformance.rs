//! `cargo xtask conformance …`: the `rltop-conformance` runner (crate `conformance/`) on
//! this checkout's vectors, `conformance/vectors`, read from disk so a vector just generated
//! is used without rebuilding the runner. Every argument is the runner's (`--help`).

use rltop_devsupport::{root, VECTORS};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut args = args.to_vec();
    if !args
        .iter()
        .any(|a| a == "--vectors" || a.starts_with("--vectors="))
    {
        let vectors = root().join(VECTORS);
        args.extend([
            "--vectors".to_string(),
            vectors.to_string_lossy().into_owned(),
        ]);
    }
    rltop_conformance::cli::run_args(&args).map_err(|f| f.message)
}
