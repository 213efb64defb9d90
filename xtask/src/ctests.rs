//! Builds the C header's tests and conformance testee with the system compilers, in every
//! configuration the header promises to work in.

use std::path::{Path, PathBuf};
use std::process::Command;

use rltop_devsupport::root;

const WARNINGS: [&str; 4] = ["-Wall", "-Wextra", "-Werror", "-pedantic"];
const SANITIZE: [&str; 4] = [
    "-g",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
];
/// Byte-by-byte loads (as on a big-endian host) and the table CRC instead of SSE4.2.
const PORTABLE: [&str; 2] = ["-DRLTOP_PORTABLE_ENDIAN", "-DRLTOP_NO_SSE42"];

pub fn out_dir() -> PathBuf {
    root().join("target/c")
}

fn compile(
    compiler: &str,
    std: &str,
    src: &str,
    out: &str,
    extra: &[&str],
) -> Result<PathBuf, String> {
    compile_on("generated/c", compiler, std, src, out, extra)
}

/// [`compile`] on the header in `include` (relative to the root) instead of RLTOP's.
fn compile_on(
    include: &str,
    compiler: &str,
    std: &str,
    src: &str,
    out: &str,
    extra: &[&str],
) -> Result<PathBuf, String> {
    let root = root();
    let out_path = out_dir().join(out);
    std::fs::create_dir_all(out_dir()).map_err(|e| format!("cannot create target/c: {e}"))?;
    let mut cmd = Command::new(compiler);
    cmd.arg(format!("-std={std}"))
        .args(WARNINGS)
        .arg("-I")
        .arg(root.join(include))
        .args(extra);
    if compiler == "g++" {
        cmd.args(["-x", "c++"]);
    }
    cmd.arg(root.join(src)).arg("-o").arg(&out_path);
    eprintln!(
        "$ {compiler} -std={std} {} -I {include} {} {src} -o target/c/{out}",
        WARNINGS.join(" "),
        extra.join(" ")
    );
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {compiler}: {e}"))?;
    if !status.success() {
        return Err(format!("{compiler} failed on {src}\n"));
    }
    Ok(out_path)
}

fn run(bin: &Path) -> Result<(), String> {
    let status = Command::new(bin)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})\n", bin.display()))
    }
}

/// Header tests in C11 and C++17, optimised and sanitized, native and portable.
pub fn header_tests() -> Result<(), String> {
    let src = "tests/c/header_test.c";
    run(&compile("gcc", "c11", src, "header_test", &["-O2"])?)?;
    run(&compile("g++", "c++17", src, "header_test_cpp", &["-O2"])?)?;
    run(&compile(
        "gcc",
        "c11",
        src,
        "header_test_asan",
        &[&["-O1"][..], &SANITIZE].concat(),
    )?)?;
    run(&compile(
        "gcc",
        "c11",
        src,
        "header_test_portable_asan",
        &[&["-O1"][..], &SANITIZE, &PORTABLE].concat(),
    )?)?;
    run(&compile(
        "g++",
        "c++17",
        src,
        "header_test_cpp_asan",
        &[&["-O1"][..], &SANITIZE].concat(),
    )?)?;
    Ok(())
}

/// The C conformance testee, in each configuration the suite runs it: (name, binary).
pub fn testees() -> Result<Vec<(&'static str, PathBuf)>, String> {
    let src = "conformance/testees/c/testee.c";
    Ok(vec![
        ("C (-O2)", compile("gcc", "c11", src, "testee", &["-O2"])?),
        (
            "C (ASan+UBSan)",
            compile(
                "gcc",
                "c11",
                src,
                "testee_asan",
                &[&["-O1"][..], &SANITIZE].concat(),
            )?,
        ),
        (
            "C (ASan+UBSan, portable byte order, table CRC)",
            compile(
                "gcc",
                "c11",
                src,
                "testee_portable_asan",
                &[&["-O1"][..], &SANITIZE, &PORTABLE].concat(),
            )?,
        ),
    ])
}

/// The ITCH testee (`conformance/testees/c/itch_testee.c`, on generated/itch50/c/itch.h),
/// optimised and under the sanitizers.
pub fn itch_testees() -> Result<Vec<(&'static str, PathBuf)>, String> {
    let src = "conformance/testees/c/itch_testee.c";
    let on = "generated/itch50/c";
    Ok(vec![
        (
            "ITCH, C (-O2)",
            compile_on(on, "gcc", "c11", src, "itch_testee", &["-O2"])?,
        ),
        (
            "ITCH, C (ASan+UBSan)",
            compile_on(
                on,
                "gcc",
                "c11",
                src,
                "itch_testee_asan",
                &[&["-O1"][..], &SANITIZE].concat(),
            )?,
        ),
    ])
}

/// RLTOP's testee on version 2's header (generated/rltop-v2/c/rltop.h), under the
/// sanitizers.
pub fn v2_testee() -> Result<PathBuf, String> {
    compile_on(
        "generated/rltop-v2/c",
        "gcc",
        "c11",
        "conformance/testees/c/testee.c",
        "testee_v2_asan",
        &[&["-O1"][..], &SANITIZE].concat(),
    )
}
