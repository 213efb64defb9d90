//! Compiles the C decoder shims over generated/c/rltop.h and generated/itch50/c/itch.h, so
//! each C header runs in the same benchmark run as the Rust decoders.

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
    println!("cargo:rerun-if-changed=c/itch.c");
    println!("cargo:rerun-if-changed=../generated/itch50/c/itch.h");
    cc::Build::new()
        .file("c/itch.c")
        .include("../generated/itch50/c")
        .flag("-std=c11")
        .opt_level(2)
        .warnings_into_errors(true)
        .compile("rltop_bench_itch_c");
}
