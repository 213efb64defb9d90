//! `cargo xtask gen [--check]`: every artifact under generated/ from schema/rltop.rlt, and
//! the crates of the example protocols (schema/examples/) the tests and benches use.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rltop_codegen::artifacts::State;

use rltop_devsupport::root;

/// The canonical schema, relative to the workspace root.
pub const SCHEMA: &str = "schema/rltop.rlt";

/// Every generated file, keyed by its path relative to the workspace root: the library's
/// artifacts for RLTOP, and this repository's own pieces (SPEC.md's tables, the derive's
/// copy of the schema, the stream scenarios' vectors).
pub fn artifacts() -> Result<BTreeMap<PathBuf, String>, String> {
    let root = root();
    let checked = rltop_codegen::check_file(&root.join(SCHEMA), SCHEMA)
        .map_err(|e| format!("cannot read {SCHEMA}: {e}"))?;
    let warnings = checked.render();
    let model = checked.into_model()?;
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    let mut out = rltop_codegen::artifacts(&model, &outputs())?;
    out.insert(PathBuf::from(SPEC), spec_with_tables(&root, &model)?);
    out.insert(PathBuf::from(DERIVE_CANONICAL), derive_canonical(&root)?);
    out.insert(
        Path::new(VECTORS).join("streams.json"),
        rltop_codegen::streams::build(&model, &scenario_sources(&root)?)?,
    );
    out.extend(crate::evolution::artifacts(&root, &model)?);
    for (schema, dir, name, c_header) in EXAMPLES {
        out.extend(example(&root, schema, dir, name, c_header)?);
    }
    Ok(out)
}

/// Example protocols generated into the workspace: schema, crate directory, package name,
/// C header (beside the crate, in `c/`; the Python package in `python/`, the conformance
/// vectors in `vectors/`, the Wireshark dissector in `wireshark/`, named as the header).
pub const EXAMPLES: [(&str, &str, &str, &str); 1] = [(
    "schema/examples/itch50.rlt",
    "generated/itch50/rust",
    "rltop-itch50",
    "itch.h",
)];

/// One example protocol's crate, through the same library call as `rltop-codegen gen`.
fn example(
    root: &Path,
    schema: &str,
    dir: &str,
    name: &str,
    c_header: &str,
) -> Result<BTreeMap<PathBuf, String>, String> {
    let checked = rltop_codegen::check_file(&root.join(schema), schema)
        .map_err(|e| format!("cannot read {schema}: {e}"))?;
    let Some(laid) = checked.laid else {
        return Err(checked.render());
    };
    let mut outputs =
        rltop_codegen::Outputs::new(rltop_codegen::Banner::new("cargo xtask gen", schema));
    outputs.rust = Some(rltop_codegen::RustCrate {
        dir: PathBuf::from(dir),
        name: name.into(),
        description: None,
        workspace: true,
        publish: true,
    });
    outputs.c = Some(PathBuf::from(dir).with_file_name("c").join(c_header));
    outputs.python = Some(PathBuf::from(dir).with_file_name("python"));
    outputs.vectors = Some(PathBuf::from(dir).with_file_name("vectors"));
    outputs.lua = Some(rltop_codegen::artifacts::LuaDissector {
        path: PathBuf::from(dir)
            .with_file_name("wireshark")
            .join(c_header.replace(".h", ".lua")),
        udp_ports: String::new(),
    });
    rltop_codegen::artifacts_of(&laid, &outputs)
}

/// Where RLTOP's artifacts go, and the banner they carry.
fn outputs() -> rltop_codegen::Outputs {
    let mut outputs =
        rltop_codegen::Outputs::new(rltop_codegen::Banner::new("cargo xtask gen", SCHEMA));
    outputs.rust = Some(rltop_codegen::RustCrate {
        dir: PathBuf::from("generated/rust"),
        name: "rltop".into(),
        description: Some(format!("RLTOP market-data codecs, generated from {SCHEMA}")),
        workspace: true,
        publish: true,
    });
    outputs.c = Some(PathBuf::from("generated/c/rltop.h"));
    outputs.python = Some(PathBuf::from("generated/python"));
    outputs.vectors = Some(PathBuf::from(VECTORS));
    outputs.lua = Some(rltop_codegen::artifacts::LuaDissector {
        path: PathBuf::from("generated/wireshark/rltop.lua"),
        udp_ports: plan_ports(),
    });
    outputs
}

/// The UDP ports of the draft's channel plan, as a Wireshark range (`9001-9004`).
fn plan_ports() -> String {
    let s = rltop_net::plan::Plan::default().streams;
    let ports = [
        s.full_book,
        s.top_of_book,
        s.incremental,
        s.trades,
        s.statistics,
    ]
    .map(|p| p.port);
    let (lo, hi) = (ports.iter().min(), ports.iter().max());
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo != hi => format!("{lo}-{hi}"),
        (Some(lo), _) => lo.to_string(),
        _ => String::new(),
    }
}

/// Hand-written stream scenarios, one JSON file each.
pub const SCENARIOS: &str = "conformance/scenarios";

fn scenario_sources(root: &Path) -> Result<Vec<(String, String)>, String> {
    let dir = root.join(SCENARIOS);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {SCENARIOS}: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = format!(
                "{SCENARIOS}/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            );
            fs::read_to_string(p)
                .map(|t| (name.clone(), t))
                .map_err(|e| format!("cannot read {name}: {e}"))
        })
        .collect()
}

/// Where the conformance vectors go (generated, checked in, covered by `--check`).
use rltop_devsupport::VECTORS;

/// Directories whose every file must be one the schema produces.
const GENERATED_DIRS: [&str; 2] = ["generated", VECTORS];

/// The derive's copy of the canonical schema: inside its package, so `cargo package` (and a
/// user's build from crates.io) has it; the header and composites a hand-written message
/// uses are this schema's.
const DERIVE_CANONICAL: &str = "rltop-derive/src/canonical.rlt";

fn derive_canonical(root: &Path) -> Result<String, String> {
    let schema =
        fs::read_to_string(root.join(SCHEMA)).map_err(|e| format!("cannot read {SCHEMA}: {e}"))?;
    Ok(format!(
        "// @generated by `cargo xtask gen`: a copy of {SCHEMA} for rltop-derive — do not edit.\n{schema}"
    ))
}

/// SPEC.md, whose layout section is the layout pass's tables.
const SPEC: &str = "schema/SPEC.md";
const BEGIN: &str =
    "<!-- layout:begin (generated by `cargo xtask gen` from schema/rltop.rlt; do not edit) -->";
const END: &str = "<!-- layout:end -->";

fn spec_with_tables(root: &Path, model: &rltop_codegen::Model) -> Result<String, String> {
    let spec =
        fs::read_to_string(root.join(SPEC)).map_err(|e| format!("cannot read {SPEC}: {e}"))?;
    let (head, rest) = spec
        .split_once(BEGIN)
        .ok_or_else(|| format!("{SPEC} lacks the line {BEGIN}"))?;
    let (_, tail) = rest
        .split_once(END)
        .ok_or_else(|| format!("{SPEC} lacks the line {END}"))?;
    let tables = rltop_codegen::table::render(&model.schema, &model.layout);
    Ok(format!(
        "{head}{BEGIN}\n\n```text\n{}```\n\n{END}{tail}",
        tables.trim_end().to_string() + "\n"
    ))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            // Not artifacts, and git-ignored: Python's byte-code caches, and what
            // `pip install ./generated/python` (the README's command) leaves in the tree
            // (setuptools' `build/` and `rltop.egg-info/`).
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                matches!(n, "__pycache__" | "build" | "dist") || n.ends_with(".egg-info")
            }) {
                continue;
            }
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// How the tree differs from `artifacts`: files that differ, are missing, or are not
/// produced by the schema; empty when generated/ is up to date.
fn drift(root: &Path, artifacts: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mut drift: Vec<String> = rltop_codegen::artifacts::drift(root, artifacts)
        .into_iter()
        .map(|(path, state)| match state {
            State::Missing => format!("  {} is missing", path.display()),
            _ => format!("  {} differs from what the schema produces", path.display()),
        })
        .collect();
    let mut present = Vec::new();
    for dir in GENERATED_DIRS {
        files_under(&root.join(dir), &mut present);
    }
    for p in present {
        let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
        if !artifacts.contains_key(&rel) {
            drift.push(format!(
                "  {} is not produced by the schema (stale?)",
                rel.display()
            ));
        }
    }
    drift
}

pub fn run(check: bool) -> Result<(), String> {
    let root = root();
    let artifacts = artifacts()?;
    if check {
        let drift = drift(&root, &artifacts);
        if drift.is_empty() {
            println!(
                "generated/ is up to date with {SCHEMA} ({} files)",
                artifacts.len()
            );
            return Ok(());
        }
        return Err(format!(
            "generated/ has drifted from {SCHEMA}; run `cargo xtask gen`:\n{}\n",
            drift.join("\n")
        ));
    }
    for (path, before) in rltop_codegen::artifacts::write(&root, &artifacts)? {
        println!(
            "{} {} ({} lines)",
            if before == State::Unchanged {
                "unchanged"
            } else {
                "wrote    "
            },
            path.display(),
            artifacts[&path].lines().count()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain `cargo test` fails when a generated file is stale, not only `cargo xtask gen
    /// --check`.
    #[test]
    fn generated_files_are_what_the_schema_produces() {
        let artifacts = artifacts().unwrap();
        let drift = drift(&root(), &artifacts);
        assert!(
            drift.is_empty(),
            "generated/ has drifted from {SCHEMA}; run `cargo xtask gen`:\n{}",
            drift.join("\n")
        );
    }
}
