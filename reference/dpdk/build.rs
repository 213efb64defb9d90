//! Build script: with the `dpdk` feature, compiles the C shim against libdpdk and links
//! libdpdk, both as pkg-config describes Debian's libdpdk-dev; without it, does nothing, so
//! the frame builder builds on machines with no DPDK.
//!
//! pkg-config is run directly rather than through the `pkg-config` crate because the shim
//! needs *all* of DPDK's cflags in order (`-include rte_config.h`, `-march=...`: DPDK's
//! inline functions do not compile without them), which that crate does not hand out.

#[cfg(feature = "dpdk")]
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=shim/shim.c");
    // The feature also gates compiling the DPDK half of this script (its `cc` dependency
    // is optional); the variable is what Cargo documents for build scripts.
    #[cfg(feature = "dpdk")]
    if env::var_os("CARGO_FEATURE_DPDK").is_some() {
        dpdk::build();
    }
}

#[cfg(feature = "dpdk")]
mod dpdk {
    use std::env;
    use std::process::Command;

    const MISSING: &str =
        "the `dpdk` feature needs Debian's libdpdk-dev (apt-get install libdpdk-dev pkg-config)";

    /// Runs `pkg-config <what> libdpdk` and splits its answer into arguments. DPDK's flags
    /// contain no quoted spaces, so whitespace splitting is exact.
    fn pkg_config(what: &str) -> Vec<String> {
        for var in [
            "PKG_CONFIG",
            "PKG_CONFIG_PATH",
            "PKG_CONFIG_LIBDIR",
            "PKG_CONFIG_SYSROOT_DIR",
        ] {
            println!("cargo:rerun-if-env-changed={var}");
        }
        let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
        let out = match Command::new(&program).args([what, "libdpdk"]).output() {
            Ok(out) => out,
            Err(e) => panic!("{MISSING}: running `{program}` failed: {e}"),
        };
        if !out.status.success() {
            panic!(
                "{MISSING}: `{program} {what} libdpdk` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    pub fn build() {
        let cflags = pkg_config("--cflags");
        let libs = pkg_config("--libs");

        let mut shim = cc::Build::new();
        shim.file("shim/shim.c").warnings(true).extra_warnings(true);
        for flag in &cflags {
            match flag.strip_prefix("-I") {
                Some(dir) => {
                    shim.include(dir);
                }
                // `-include rte_config.h` is two arguments; cc keeps their order.
                None => {
                    shim.flag(flag);
                }
            }
        }
        shim.compile("rltop_dpdk_shim");

        for lib in &libs {
            if let Some(dir) = lib.strip_prefix("-L") {
                println!("cargo:rustc-link-search=native={dir}");
            } else if let Some(name) = lib.strip_prefix("-l") {
                println!("cargo:rustc-link-lib=dylib={name}");
            } else if lib == "-Wl,--as-needed" {
                // rustc already links with --as-needed on this target; placed after the
                // libraries (where rustc-link-arg goes) it would be meaningless anyway.
            } else {
                println!("cargo:rustc-link-arg={lib}");
            }
        }
    }
}
