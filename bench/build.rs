//! Compiles the C decoder shim over generated/c/rltop.h, so the C header runs in the same
//! criterion benchmark as the Rust decoders.

fn main() {
    println!("cargo:rerun-if-changed=c/decode.c");
    println!("cargo:rerun-if-changed=../generated/c/rltop.h");
    cc::Build::new()
        .file("c/decode.c")
        .include("../generated/c")
        .flag("-std=c11")
        .opt_level(2)
        .warnings_into_errors(true)
        .compile("rltop_bench_c");
}
