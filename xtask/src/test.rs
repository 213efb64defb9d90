//! `cargo xtask test`: the README's test command. Everything CI checks, in order, on a
//! fresh Debian machine with the Rust toolchain; what else it needs (Python packages in a
//! venv, Debian packages) it installs.

use std::process::Command;

use rltop_devsupport::process::{cargo, cargo_command, have_nextest};
use rltop_devsupport::{is_root, pyenv, root};

use crate::{conformance, ctests, tool};

/// The conformance suite against one testee, with its list of known failures if any.
fn conform(name: &str, testee: &str, failure_list: Option<&str>) -> Result<(), String> {
    conform_with(name, testee, failure_list, None)
}

/// [`conform`] on another schema's vectors (`--vectors DIR`) when `vectors` is given.
fn conform_with(
    name: &str,
    testee: &str,
    failure_list: Option<&str>,
    vectors: Option<&std::path::Path>,
) -> Result<(), String> {
    let mut args = vec!["--testee".to_string(), testee.to_string()];
    if let Some(list) = failure_list {
        args.extend(["--failure-list".to_string(), list.to_string()]);
    }
    if let Some(dir) = vectors {
        args.extend(["--vectors".to_string(), dir.to_string_lossy().into_owned()]);
    }
    eprintln!("\n$ cargo xtask conformance {}    # {name}", args.join(" "));
    conformance::run(&args).map_err(|e| format!("{name}: {e}"))
}

pub fn run() -> Result<(), String> {
    let root = root();
    // The end-to-end tests need network namespaces and nftables: without root they would
    // only be listed as ignored, and this command would pass without them.
    if !is_root() {
        return Err("cargo xtask test runs the end-to-end tests, which need root\n".into());
    }
    eprintln!("$ cargo xtask gen --check");
    crate::gen::run(true)?;

    eprintln!("\n$ cargo xtask check schema/rltop.rlt");
    crate::check(&["schema/rltop.rlt".to_string()])?;

    // The draft transcription must be rejected (the rejection's details are unit-tested).
    eprintln!("\n$ cargo xtask check schema/examples/seed-draft.rlt   (must be rejected)");
    let draft = crate::load(
        &root
            .join("schema/examples/seed-draft.rlt")
            .to_string_lossy(),
    )?;
    let n = draft.errors().count();
    if draft.model.is_some() || n == 0 {
        return Err(
            "the seed-draft transcription was accepted; the checker must reject it\n".into(),
        );
    }
    eprintln!("rejected with {n} errors, as it must be");

    // No change may break the schema's deployed decoders.
    eprintln!("\n$ cargo xtask compat");
    crate::compat::run(&[])?;

    // Lint-clean, every unsafe block with its SAFETY comment ([workspace.lints]).
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ])?;

    // Every test but the end-to-end ones, which run last, one at a time, as root.
    let e2e = ["--exclude", "rltop-e2e"];
    if have_nextest() {
        cargo(
            &[
                &["nextest", "run", "--workspace", "--no-fail-fast"][..],
                &e2e,
            ]
            .concat(),
        )?;
    } else {
        eprintln!("(cargo-nextest not installed: using cargo test)");
        cargo(&[&["test", "--workspace", "--no-fail-fast"][..], &e2e].concat())?;
    }
    cargo(&["test", "--workspace", "--doc"])?;
    // The crates as an outside user meets them: packaged, and the README's example.
    eprintln!("\n$ cargo xtask package");
    crate::package::run()?;

    // The C header: its own tests, then the conformance suite in every build configuration.
    eprintln!("\n# C header");
    ctests::header_tests()?;
    // The header has no book builder: its testees list the stream scenarios as known failures.
    let c_known = root.join("conformance/testees/c/known-failures.txt");
    for (name, bin) in ctests::testees()? {
        conform(
            name,
            &bin.to_string_lossy(),
            Some(&c_known.to_string_lossy()),
        )?;
    }

    // The generated Rust crate.
    cargo(&["build", "--quiet", "-p", "rltop-conformance-rust"])?;
    conform(
        "Rust",
        &root
            .join("target/debug/rltop-conformance-rust")
            .to_string_lossy(),
        None,
    )?;

    // The runner as an implementer meets it: installed, run from outside the repository.
    installed_runner(&root.join("target/debug/rltop-conformance-rust"))?;

    // The Python package, installed from generated/python into a venv.
    eprintln!("\n# Python package");
    let py = pyenv::python(&["pytest", "numpy", "crc32c"])?;
    let py = py.to_string_lossy();
    let testee = root.join("conformance/testees/python/testee.py");
    let testee = testee.to_string_lossy();
    conform(
        "Python (crc32c accelerator)",
        &format!("{py} {testee}"),
        None,
    )?;
    conform(
        "Python (pure)",
        &format!("RLTOP_PURE_PYTHON=1 {py} {testee}"),
        None,
    )?;
    itch(&py)?;
    versions(&py)?;
    // The README's `pip install ./generated/python` (pyenv did exactly that) must leave the
    // generated tree as the schema makes it.
    eprintln!("\n$ cargo xtask gen --check   (after pip install ./generated/python)");
    crate::gen::run(true)?;
    // Each rule's mutant of the Python package must fail the suite (or be a listed hole).
    eprintln!("\n$ cargo xtask mutants");
    tool("rltop-conformance-harness", "mutants", &[])?;
    // Differential fuzzing, briefly (long runs: cargo xtask fuzz --minutes N).
    eprintln!("\n$ cargo xtask fuzz --seconds 30");
    tool(
        "rltop-conformance-harness",
        "fuzz",
        &["--seconds".into(), "30".into()],
    )?;
    eprintln!("\n$ {py} -m pytest tests/python");
    let status = Command::new(&*py)
        .args(["-m", "pytest", "-q", "tests/python"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run pytest: {e}"))?;
    if !status.success() {
        return Err("pytest tests/python failed\n".into());
    }
    // The network end to end (tests/e2e); its last line, `e2e: N passed, 0 failed`, is
    // the plain form CI's log reader counts.
    crate::e2e(&[])?;
    eprintln!("\nall checks passed");
    Ok(())
}

/// ITCH 5.0 over MoldUDP64: the vectors `cargo xtask gen` writes from
/// schema/examples/itch50.rlt, against the generated Rust crate, Python package and C header.
fn itch(py: &str) -> Result<(), String> {
    eprintln!("\n# ITCH 5.0 (generated/itch50)");
    let root = root();
    let vectors = root.join("generated/itch50/vectors");
    cargo(&["build", "--quiet", "-p", "rltop-conformance-itch50"])?;
    let rust = root.join("target/debug/rltop-conformance-itch50");
    let python = format!(
        "{py} {} {} itch",
        root.join("conformance/testees/python/general.py").display(),
        root.join("generated/itch50/python").display()
    );
    let mut testees = vec![
        ("ITCH, Rust", rust.display().to_string()),
        ("ITCH, Python", python),
    ];
    for (name, bin) in ctests::itch_testees()? {
        testees.push((name, bin.display().to_string()));
    }
    for (name, testee) in testees {
        conform_with(name, &testee, None, Some(&vectors))?;
    }
    Ok(())
}

/// RLTOP version 2 (generated/rltop-v2, from schema/examples/rltop-v2.rlt): its own vectors,
/// and each version's messages as the other version's decoders must read them, through the
/// generated Rust crate, C header and Python package of each version.
fn versions(py: &str) -> Result<(), String> {
    use crate::evolution::{DIR, V1_READ_BY_V2, V2_READ_BY_V1};
    eprintln!("\n# RLTOP version 2 and version 1, each reading the other's messages");
    let root = root();
    cargo(&["build", "--quiet", "-p", "rltop-conformance-rust"])?;
    let testee = root.join("conformance/testees/python/testee.py");
    let v2 = [
        (
            "version 2, Rust",
            root.join("target/debug/rltop-conformance-v2")
                .display()
                .to_string(),
        ),
        (
            "version 2, C (ASan+UBSan)",
            ctests::v2_testee()?.display().to_string(),
        ),
        (
            "version 2, Python (pure)",
            format!(
                "env PYTHONPATH={} RLTOP_PURE_PYTHON=1 {py} {}",
                root.join(DIR).join("python").display(),
                testee.display()
            ),
        ),
    ];
    let v1 = [
        (
            "version 1, Rust",
            root.join("target/debug/rltop-conformance-rust")
                .display()
                .to_string(),
        ),
        (
            "version 1, C (ASan+UBSan)",
            ctests::out_dir().join("testee_asan").display().to_string(),
        ),
        ("version 1, Python", format!("{py} {}", testee.display())),
    ];
    for (name, t) in &v2 {
        conform_with(name, t, None, Some(&root.join(DIR).join("vectors")))?;
        conform_with(name, t, None, Some(&root.join(V1_READ_BY_V2)))?;
    }
    for (name, t) in &v1 {
        conform_with(name, t, None, Some(&root.join(V2_READ_BY_V1)))?;
    }
    Ok(())
}

/// `cargo install --path conformance`, as conformance/README.md tells an implementer, then
/// the installed `rltop-conformance` with its embedded vectors, started in a directory
/// outside the repository, against the Rust testee; and `--format junit` from there too.
fn installed_runner(testee: &std::path::Path) -> Result<(), String> {
    let root = root();
    let install = root.join("target/conformance-install");
    eprintln!(
        "\n$ cargo install --path conformance --root target/conformance-install --debug --locked"
    );
    let status = cargo_command()
        .args([
            "install", "--quiet", "--debug", "--locked", "--force", "--path",
        ])
        .arg(root.join("conformance"))
        .arg("--root")
        .arg(&install)
        // Its own target directory, kept between runs (the workspace's would be locked).
        .env(
            "CARGO_TARGET_DIR",
            root.join("target/conformance-install-build"),
        )
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if !status.success() {
        return Err("cargo install --path conformance failed\n".into());
    }
    let outside = std::env::temp_dir().join(format!("rltop-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&outside).map_err(|e| format!("{}: {e}", outside.display()))?;
    let runner = install.join("bin/rltop-conformance");
    eprintln!(
        "$ cd {} && {} --testee {}",
        outside.display(),
        runner.display(),
        testee.display()
    );
    let result = (|| {
        let status = Command::new(&runner)
            .arg("--testee")
            .arg(testee)
            .current_dir(&outside)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
        if !status.success() {
            return Err(
                "the installed rltop-conformance failed outside the repository\n".to_string(),
            );
        }
        let junit = Command::new(&runner)
            .args([
                "--format",
                "junit",
                "--filter",
                "decode/AddOrder/",
                "--testee",
            ])
            .arg(testee)
            .current_dir(&outside)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
        let xml = String::from_utf8_lossy(&junit.stdout);
        if !junit.status.success() || !xml.contains("<testsuite name=\"rltop-conformance\"") {
            return Err(format!(
                "rltop-conformance --format junit: {}\n{xml}",
                junit.status
            ));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&outside);
    result
}
