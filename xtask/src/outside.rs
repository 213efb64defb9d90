//! The README's examples for a protocol of one's own, each built verbatim in a fresh crate
//! outside this workspace (part of `cargo xtask package`).
//!
//! Policy: the code, manifests, schema and commands are copied from the README's fenced
//! blocks, never restated here; the only edit is the README's `rltop/` checkout path,
//! pointed at this repository. Each crate is its own workspace (no setting of ours helps
//! it), shares the workspace's lock file (the same versions, so the build reuses target/),
//! and is compiled with `-D warnings`. The routes:
//!
//! 1. **derive and `include_schema!`**: the `[dependencies]` block with the `derive` feature
//!    and the block holding `include_schema!`, as a library.
//! 2. **`rltop-codegen`**: the `rltop-codegen` lines of the README's shell block, run with
//!    the workspace's build of the binary on the README's schema; the crate `--rust` names
//!    is built with the README's `[patch.crates-io]` block, the C header compiled with `cc`,
//!    and the Python package imported; the `compat --against` line runs in a git repository
//!    of the schema, and must fail once the schema breaks.
//! 3. **the build script**: the `[build-dependencies]` block, the `build.rs` block and the
//!    `src/main.rs` block, as a program that is run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rltop_devsupport::root;

/// Where the README's examples expect this repository.
const README_CHECKOUT: &str = "path = \"rltop/";

pub fn run() -> Result<(), String> {
    let readme = fs::read_to_string(root().join("README.md"))
        .map_err(|e| format!("cannot read README.md: {e}"))?;
    let schema = Schema::from_readme(&readme)?;
    derive_and_include_schema(&readme, &schema)?;
    codegen_command(&readme, &schema)?;
    build_script(&readme, &schema)
}

/// The README's schema of one's own: its ```rlt block, whose first line names its path.
struct Schema {
    path: String,
    text: String,
}

impl Schema {
    fn from_readme(readme: &str) -> Result<Self, String> {
        let text = fenced_block(readme, "rlt", "protocol ")?;
        let path = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// "))
            .filter(|p| p.ends_with(".rlt"))
            .ok_or("README.md: the ```rlt block's first line must be `// <path>.rlt`")?;
        Ok(Self {
            path: path.to_string(),
            text: text.to_string(),
        })
    }
}

/// The first fenced block of `lang` in `readme` whose text contains `marker`.
fn fenced_block<'a>(readme: &'a str, lang: &str, marker: &str) -> Result<&'a str, String> {
    let fence = format!("```{lang}\n");
    let mut rest = readme;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body
            .find("```")
            .ok_or_else(|| format!("README.md: a ```{lang} block is not closed"))?;
        if body[..end].contains(marker) {
            return Ok(&body[..end]);
        }
        rest = &body[end..];
    }
    Err(format!(
        "README.md has no ```{lang} block containing `{marker}`"
    ))
}

/// `block` with the README's checkout path pointed at this repository.
fn here(block: &str) -> Result<String, String> {
    if !block.contains(README_CHECKOUT) {
        return Err(format!(
            "README.md: an example's manifest no longer uses `{README_CHECKOUT}…`; update xtask/src/outside.rs"
        ));
    }
    Ok(block.replace(README_CHECKOUT, &format!("path = \"{}/", root().display())))
}

/// A fresh directory under the system's temporary one, holding the schema and the lock file.
fn fresh_crate(name: &str, schema: &Schema) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(name);
    let _ = fs::remove_dir_all(&dir);
    write(&dir, &schema.path, &schema.text)?;
    fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    Ok(dir)
}

fn write(dir: &Path, rel: &str, text: &str) -> Result<(), String> {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap_or(dir))
        .and_then(|()| fs::write(&path, text))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn manifest(name: &str, dependencies: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         # Its own workspace: nothing is inherited from the repository's.\n[workspace]\n\n{dependencies}"
    )
}

/// Runs `program args` in `dir`, with the workspace's target directory; fails on failure.
fn run_in(dir: &Path, program: &Path, args: &[&str], what: &str) -> Result<(), String> {
    eprintln!(
        "$ {} {}   (in {})",
        program.display(),
        args.join(" "),
        dir.display()
    );
    let status = Command::new(program)
        .args(args)
        .env("CARGO_TARGET_DIR", root().join("target"))
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} ({}): {status}\n", dir.display()))
    }
}

fn cargo(dir: &Path, args: &[&str], what: &str) -> Result<(), String> {
    run_in(dir, Path::new(env!("CARGO")), args, what)
}

fn derive_and_include_schema(readme: &str, schema: &Schema) -> Result<(), String> {
    eprintln!(
        "\n# the README's derive and include_schema! example, in a crate outside the workspace"
    );
    let dependencies = fenced_block(readme, "toml", "features = [\"derive\"]")?;
    let code = fenced_block(readme, "rust", "include_schema!")?;
    let included = format!("include_schema!(\"{}\")", schema.path);
    if !code.contains(&included) {
        return Err(format!(
            "README.md: the include_schema! example does not expand the README's schema ({included})"
        ));
    }
    let dir = fresh_crate("rltop-outside-crate", schema)?;
    write(
        &dir,
        "Cargo.toml",
        &manifest("outside-user", &here(dependencies)?),
    )?;
    write(&dir, "src/lib.rs", code)?;
    cargo(
        &dir,
        &["rustc", "--quiet", "--lib", "--", "-D", "warnings"],
        "the README's derive / include_schema! example does not build in a fresh crate",
    )
}

fn codegen_command(readme: &str, schema: &Schema) -> Result<(), String> {
    eprintln!(
        "\n# the README's rltop-codegen commands, and what they write, outside the workspace"
    );
    let lines: Vec<Vec<&str>> = fenced_block(readme, "sh", "rltop-codegen gen ")?
        .lines()
        .filter_map(|l| l.strip_prefix("rltop-codegen "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let target = root().join("target");
    let target_dir = target.to_string_lossy();
    rltop_devsupport::process::cargo(&[
        "build",
        "--quiet",
        "-p",
        "rltop-codegen-cli",
        "--target-dir",
        &target_dir,
    ])?;
    let binary = target.join("debug/rltop-codegen");
    let dir = fresh_crate("rltop-outside-codegen", schema)?;
    for args in &lines {
        run_in(&dir, &binary, args, "a README rltop-codegen command fails")?;
    }
    let gen = lines
        .iter()
        .find(|args| args.first() == Some(&"gen"))
        .ok_or("README.md: no `rltop-codegen gen` line")?;
    let output = |flag: &str| -> Result<PathBuf, String> {
        let at = gen.iter().position(|a| *a == flag);
        let value = at.and_then(|i| gen.get(i + 1)).ok_or_else(|| {
            format!("README.md: the rltop-codegen gen line has no {flag} (xtask/src/outside.rs builds it)")
        })?;
        Ok(dir.join(value))
    };
    generated_crate(readme, &output("--rust")?)?;
    generated_header(&output("--c")?)?;
    generated_package(&output("--python")?)?;
    compat_command(readme, schema, &binary)
}

/// The README's one line for a user's CI (`rltop-codegen compat --against origin/main …`),
/// verbatim, in a git repository holding the README's schema with `origin/main` at its
/// commit: it passes on the schema as committed, and fails (exit 1) once an enumeration
/// value is renumbered in the working tree.
fn compat_command(readme: &str, schema: &Schema, binary: &Path) -> Result<(), String> {
    eprintln!("\n# the README's rltop-codegen compat line, in a git repository of its own");
    let line = fenced_block(readme, "sh", "rltop-codegen compat --against ")?
        .lines()
        .find_map(|l| l.strip_prefix("rltop-codegen compat --against "))
        .ok_or("README.md: no `rltop-codegen compat --against` line")?;
    let args: Vec<&str> = ["compat", "--against"]
        .into_iter()
        .chain(line.split_whitespace())
        .collect();
    let dir = std::env::temp_dir().join("rltop-outside-compat");
    let _ = fs::remove_dir_all(&dir);
    write(&dir, &schema.path, &schema.text)?;
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=outside",
                "-c",
                "user.email=outside@example.com",
            ])
            .args(args)
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(())
            .ok_or_else(|| format!("git {}", args.join(" ")))
    };
    git(&["init", "-q"])?;
    git(&["add", "."])?;
    git(&["commit", "-q", "-m", "schema"])?;
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"])?;
    run_in(
        &dir,
        binary,
        &args,
        "the README's compat line fails on an unchanged schema",
    )?;
    let renumbered = schema.text.replacen("Bid = 1", "Bid = 3", 1);
    if renumbered == schema.text {
        return Err(
            "README.md: the schema has no `Bid = 1` for xtask/src/outside.rs to renumber".into(),
        );
    }
    write(&dir, &schema.path, &renumbered)?;
    eprintln!(
        "$ {} {}   (Bid renumbered: must exit 1)",
        binary.display(),
        args.join(" ")
    );
    let status = Command::new(binary)
        .args(&args)
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let _ = fs::remove_dir_all(&dir);
    if status.code() == Some(1) {
        Ok(())
    } else {
        Err(format!(
            "the README's compat line on a renumbered enumeration: {status}, not exit 1"
        ))
    }
}

/// Builds the crate `rltop-codegen gen --rust` wrote, with the README's `[patch.crates-io]`.
fn generated_crate(readme: &str, krate: &Path) -> Result<(), String> {
    let patch = here(fenced_block(readme, "toml", "[patch.crates-io]")?)?;
    let manifest = krate.join("Cargo.toml");
    let mut text = fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    text.push_str(&format!("\n[workspace]\n\n{patch}"));
    fs::write(&manifest, text).map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    cargo(
        krate,
        &["rustc", "--quiet", "--lib", "--", "-D", "warnings"],
        "the crate rltop-codegen generates from the README's schema does not build",
    )
}

fn generated_header(header: &Path) -> Result<(), String> {
    let header = header.to_string_lossy();
    run_in(
        Path::new("."),
        Path::new("cc"),
        &[
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-x",
            "c",
            &header,
        ],
        "the C header rltop-codegen generates from the README's schema does not compile",
    )
}

fn generated_package(dir: &Path) -> Result<(), String> {
    let dir = dir.to_string_lossy();
    run_in(
        Path::new("."),
        Path::new("python3"),
        &[
            "-c",
            &format!("import sys; sys.path.insert(0, {dir:?}); import rltop; rltop.decode(rltop.encode(rltop.MESSAGE_TYPES[0]()))"),
        ],
        "the Python package rltop-codegen generates from the README's schema does not work",
    )
}

fn build_script(readme: &str, schema: &Schema) -> Result<(), String> {
    eprintln!("\n# the README's build script and program, in a crate outside the workspace");
    let dependencies = fenced_block(readme, "toml", "[build-dependencies]")?;
    let build_rs = fenced_block(readme, "rust", "rltop_codegen::Builder")?;
    let main_rs = fenced_block(readme, "rust", "include!(concat!(env!(\"OUT_DIR\")")?;
    if !build_rs.contains(&format!(".schema(\"{}\")", schema.path)) {
        return Err(format!(
            "README.md: the build script does not compile the README's schema ({})",
            schema.path
        ));
    }
    let dir = fresh_crate("rltop-outside-build-script", schema)?;
    write(
        &dir,
        "Cargo.toml",
        &manifest("outside-build-script", &here(dependencies)?),
    )?;
    write(&dir, "build.rs", build_rs)?;
    write(&dir, "src/main.rs", main_rs)?;
    let what = "the README's build-script example does not build and run in a fresh crate";
    cargo(&dir, &["rustc", "--quiet", "--", "-D", "warnings"], what)?;
    cargo(&dir, &["run", "--quiet"], what)?;
    eprintln!("the README's three routes build outside the workspace");
    Ok(())
}
