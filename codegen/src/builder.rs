//! The build-script API, as prost-build's: `build.rs` turns schemas into Rust under
//! `$OUT_DIR`, for the crate to `include!`.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), rltop_codegen::BuildError> {
//!     rltop_codegen::Builder::new().schema("schemas/quotes.rlt").compile()
//! }
//! ```
//!
//! ```ignore
//! // src/main.rs
//! mod quotes {
//!     include!(concat!(env!("OUT_DIR"), "/quotes.rs"));
//! }
//! ```
//!
//! Policy: each schema becomes `<file stem>.rs`, the Rust emitter's [`Form::Module`] (items
//! only, valid inside a module), written only when its text changes; Cargo is told to rerun
//! the script when a schema changes. A schema with errors fails the build: the error's
//! `Display` and `Debug` are the checker's `file:line:col` report, so `?` in `main` and
//! `.unwrap()` both show it as rustc would. Warnings become `cargo:warning=` lines.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::banner::Banner;
use crate::rust::Form;

/// Generates Rust from schemas in a build script. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    schemas: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
}

/// Why [`Builder::compile`] failed. `Display` and `Debug` both give the full report (for a
/// schema error, every diagnostic in rustc's style), so the build log shows it whether the
/// script uses `?` or `.unwrap()`.
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a schema; a relative path is relative to the build script's working directory,
    /// the package root. Diagnostics name the file as given.
    pub fn schema(mut self, path: impl AsRef<Path>) -> Self {
        self.schemas.push(path.as_ref().to_path_buf());
        self
    }

    /// Writes into `dir` instead of `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Checks every schema and writes `<out dir>/<file stem>.rs` for each; prints
    /// `cargo:rerun-if-changed=` for each schema and `cargo:warning=` for each warning line.
    pub fn compile(&self) -> Result<(), BuildError> {
        let stdout = std::io::stdout();
        self.compile_to(&mut stdout.lock())
    }

    /// [`compile`](Self::compile), with Cargo's directives written to `directives`.
    pub fn compile_to(&self, directives: &mut dyn std::io::Write) -> Result<(), BuildError> {
        if self.schemas.is_empty() {
            return Err(BuildError(
                "rltop_codegen::Builder: no schema given (call .schema(\"path.rlt\"))".into(),
            ));
        }
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                BuildError(
                    "rltop_codegen::Builder: OUT_DIR is not set (run from a build script, or call .out_dir(..))"
                        .into(),
                )
            })?,
        };
        let mut say = |line: String| {
            writeln!(directives, "{line}")
                .map_err(|e| BuildError(format!("cannot write Cargo directives: {e}")))
        };
        for schema in &self.schemas {
            compile_one(schema, &out_dir, &mut say)?;
        }
        Ok(())
    }
}

/// Checks one schema and writes its module; `directive` takes each `cargo:` line.
fn compile_one(
    schema: &Path,
    out_dir: &Path,
    directive: &mut dyn FnMut(String) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let shown = schema.display().to_string();
    directive(format!("cargo:rerun-if-changed={shown}"))?;
    let stem = schema
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| BuildError(format!("{shown}: the file name has no usable stem")))?;
    let checked = crate::check_file(schema, &shown)
        .map_err(|e| BuildError(format!("cannot read schema {shown}: {e}")))?;
    let report = checked.render();
    let Some(laid) = checked.laid else {
        return Err(BuildError(format!("schema {shown} is rejected:\n{report}")));
    };
    for line in report.lines() {
        directive(format!("cargo:warning={line}"))?;
    }
    let mut banner = Banner::new("rltop-codegen", &shown);
    banner.regenerate = "cargo build".into();
    let text = match laid.model() {
        Some(model) => crate::rust::lib_rs(&model, &banner, Form::Module),
        None => crate::rust::general::lib_rs(&laid, &banner, Form::Module),
    }
    .map_err(BuildError)?;
    let path = out_dir.join(format!("{stem}.rs"));
    let files = std::iter::once((path, text)).collect();
    crate::artifacts::write(Path::new(""), &files).map_err(BuildError)?;
    Ok(())
}
