//! One schema's generated files, as a map from path to text: what `rltop-codegen gen`,
//! `cargo xtask gen` and the build-script [`Builder`](crate::Builder) all write.
//!
//! Policy: every front end calls [`artifacts()`] with an [`Outputs`] saying where each artifact
//! goes and whose name the "do not edit" banner carries; nothing here reads or writes the
//! disk except [`write()`] and [`drift`], which compare and write a map relative to a root.
//! Files a front end adds of its own (this repository's SPEC.md tables, stream scenarios)
//! are entries it inserts into the same map.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub use crate::banner::Banner;
use crate::{Laid, Model};

/// Where the generated Rust crate goes and how its manifest reads.
#[derive(Debug, Clone)]
pub struct RustCrate {
    /// The crate's directory: `Cargo.toml` and `src/lib.rs` are written under it.
    pub dir: PathBuf,
    /// The package name.
    pub name: String,
    /// `None`: "PROTOCOL codecs, generated from SCHEMA".
    pub description: Option<String>,
    /// Inherit version, edition, rust-version, license and the `rltop-runtime` dependency
    /// from the enclosing workspace (as this repository's generated crate does); otherwise
    /// the manifest states them, with `rltop-runtime` by version.
    pub workspace: bool,
    /// `false` writes `publish = false`: a crate only tests use (a second version of a
    /// protocol, generated to test the two against each other).
    pub publish: bool,
}

/// What to generate, and where. Paths are relative to the root given to [`write()`] and
/// [`drift`] (or absolute).
#[derive(Debug, Clone)]
pub struct Outputs {
    pub banner: Banner,
    pub rust: Option<RustCrate>,
    /// The C header's path.
    pub c: Option<PathBuf>,
    /// The Python package's directory (`pyproject.toml` and the package under it).
    pub python: Option<PathBuf>,
    /// The conformance vectors' directory (`messages/*.json`, `datagrams.json`, `errors.json`,
    /// `encode_errors.json`).
    pub vectors: Option<PathBuf>,
    /// The Wireshark dissector.
    pub lua: Option<LuaDissector>,
}

/// Where the Wireshark dissector goes, and the UDP ports its preference holds by default.
#[derive(Debug, Clone)]
pub struct LuaDissector {
    pub path: PathBuf,
    /// A Wireshark range (`9001-9004`), or empty for the heuristic and Decode As alone.
    pub udp_ports: String,
}

impl Outputs {
    /// No artifact yet; set the fields wanted.
    pub fn new(banner: Banner) -> Self {
        Self {
            banner,
            rust: None,
            c: None,
            python: None,
            vectors: None,
            lua: None,
        }
    }
}

/// The package name a protocol's crate gets by default: its name in lower case, words
/// joined by `-` (`RLTOP` → `rltop`, `MyQuotes` → `my-quotes`, `HTTPFeed` → `http-feed`).
pub fn crate_name(protocol: &str) -> String {
    let chars: Vec<char> = protocol.chars().collect();
    let mut name = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let word_starts = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if word_starts {
            name.push('-');
        }
        name.push(if c == '_' {
            '-'
        } else {
            c.to_ascii_lowercase()
        });
    }
    name
}

/// Every file `outputs` asks for, keyed by path.
pub fn artifacts(model: &Model, outputs: &Outputs) -> Result<BTreeMap<PathBuf, String>, String> {
    let banner = &outputs.banner;
    let mut files = BTreeMap::new();
    if let Some(krate) = &outputs.rust {
        files.insert(
            krate.dir.join("Cargo.toml"),
            cargo_toml(&model.schema.protocol.name, banner, krate, ""),
        );
        files.insert(
            krate.dir.join("src/lib.rs"),
            crate::rust::lib_rs(model, banner, crate::rust::Form::Crate)?,
        );
    }
    if let Some(path) = &outputs.c {
        files.insert(path.clone(), crate::c::header(model, banner));
    }
    if let Some(dir) = &outputs.python {
        for (name, text) in crate::python::package(model, banner) {
            files.insert(dir.join(name), text);
        }
    }
    if let Some(dir) = &outputs.vectors {
        for (name, text) in crate::vectors::build(model) {
            files.insert(dir.join(name), text);
        }
    }
    if let Some(lua) = &outputs.lua {
        files.insert(
            lua.path.clone(),
            crate::lua::dissector(model, banner, &lua.udp_ports),
        );
    }
    Ok(files)
}

/// Every file `outputs` asks for, whatever the protocol's shape: RLTOP's shape through
/// [`artifacts()`], any other through the backends for other protocols, each of which says
/// what it cannot take.
pub fn artifacts_of(laid: &Laid, outputs: &Outputs) -> Result<BTreeMap<PathBuf, String>, String> {
    if let Some(model) = laid.model() {
        return artifacts(&model, outputs);
    }
    let p = &laid.schema.protocol;
    let mut files = BTreeMap::new();
    if let Some(krate) = &outputs.rust {
        files.insert(
            krate.dir.join("Cargo.toml"),
            cargo_toml(&p.name, &outputs.banner, krate, JSON_FEATURE),
        );
        files.insert(
            krate.dir.join("src/lib.rs"),
            crate::rust::general::lib_rs(laid, &outputs.banner, crate::rust::Form::Crate)?,
        );
    }
    if let Some(path) = &outputs.c {
        files.insert(
            path.clone(),
            crate::c::general::header(laid, &outputs.banner)?,
        );
    }
    if let Some(dir) = &outputs.python {
        for (name, text) in crate::python::general::package(laid, &outputs.banner)? {
            files.insert(dir.join(name), text);
        }
    }
    if let Some(dir) = &outputs.vectors {
        for (name, text) in crate::vectors::general::build(laid)? {
            files.insert(dir.join(name), text);
        }
    }
    if let Some(lua) = &outputs.lua {
        files.insert(
            lua.path.clone(),
            crate::lua::general::dissector(laid, &outputs.banner, &lua.udp_ports)?,
        );
    }
    Ok(files)
}

/// The features of a crate for a protocol not of RLTOP's shape: `from_json` and
/// `encode_json` need the runtime's JSON reader.
const JSON_FEATURE: &str = "\n[features]\n# `from_json` and `encode_json`: messages from their canonical JSON.\njson = [\"rltop-runtime/json\"]\n";

/// The generated crate's manifest, `features` (a TOML table, or nothing) at its end.
fn cargo_toml(protocol: &str, banner: &Banner, krate: &RustCrate, features: &str) -> String {
    let description = krate
        .description
        .clone()
        .unwrap_or_else(|| format!("{protocol} codecs, generated from {}", banner.schema));
    let head = format!(
        "# {}\n[package]\nname = \"{}\"\ndescription = \"{}\"\n{}",
        banner.rust_line(protocol),
        krate.name,
        description.replace('\\', "\\\\").replace('"', "\\\""),
        if krate.publish {
            ""
        } else {
            "publish = false\n"
        }
    );
    if krate.workspace {
        format!(
            "{head}version.workspace = true\nedition.workspace = true\nrust-version.workspace = true\n\
             license.workspace = true\n\n[dependencies]\nrltop-runtime.workspace = true\n{features}"
        )
    } else {
        format!(
            "{head}version = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"{}\"\n\n\
             [dependencies]\nrltop-runtime = \"{}\"\n{features}",
            env!("CARGO_PKG_RUST_VERSION"),
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// How a file of the map stands against the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unchanged,
    Differs,
    Missing,
}

/// Each file of `files` that is not on disk under `root` as the map has it, with its state.
pub fn drift(root: &Path, files: &BTreeMap<PathBuf, String>) -> Vec<(PathBuf, State)> {
    files
        .iter()
        .map(|(path, text)| (path, state(&root.join(path), text)))
        .filter(|(_, s)| *s != State::Unchanged)
        .map(|(path, s)| (path.clone(), s))
        .collect()
}

fn state(path: &Path, text: &str) -> State {
    match fs::read(path) {
        Ok(on_disk) if on_disk == text.as_bytes() => State::Unchanged,
        Ok(_) => State::Differs,
        Err(_) => State::Missing,
    }
}

/// Writes every file of `files` under `root` whose content differs (creating directories);
/// a file already as the map has it is left untouched. Returns each path with its state
/// before the write.
pub fn write(
    root: &Path,
    files: &BTreeMap<PathBuf, String>,
) -> Result<Vec<(PathBuf, State)>, String> {
    let mut report = Vec::new();
    for (path, text) in files {
        let full = root.join(path);
        let before = state(&full, text);
        if before != State::Unchanged {
            if let Some(dir) = full.parent() {
                fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            fs::write(&full, text).map_err(|e| format!("cannot write {}: {e}", full.display()))?;
        }
        report.push((path.clone(), before));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crate_names() {
        for (protocol, name) in [
            ("RLTOP", "rltop"),
            ("MyQuotes", "my-quotes"),
            ("HTTPFeed", "http-feed"),
            ("Feed2Go", "feed2-go"),
            ("my_proto", "my-proto"),
        ] {
            assert_eq!(super::crate_name(protocol), name);
        }
    }
}
