//! RLTOP protocol codegen: a plain library, driven by the `rltop-codegen` command, by
//! `cargo xtask gen`, by build scripts ([`Builder`]) and by the `rltop-derive` macros alike
//! (one implementation, four front ends).
//!
//! Pipeline, as in google/pdl: [`parser`] (text → [`ast`]) → [`analyze`] (names, ranges →
//! [`model`]) → [`layout`] (the one pass that computes offsets) → one backend per artifact
//! ([`rust`], [`c`], [`python`], [`table`], [`vectors`], [`streams`]). Every stage reports [`Diagnostic`]s instead of stopping at the first.
//! [`artifacts()`] maps a model and the wanted [`Outputs`] to files; every command writes
//! through it.

pub mod analyze;
pub mod artifacts;
pub mod ast;
pub mod banner;
pub mod builder;
pub mod c;
pub mod case;
pub mod compat;
pub mod diagnostic;
pub mod encode;
pub mod id;
pub mod layout;
pub mod lua;
pub mod model;
pub mod parser;
pub mod python;
pub mod rust;
pub mod streams;
pub mod table;
pub mod vectors;

use std::path::Path;

pub use artifacts::{artifacts, artifacts_of, Banner, Outputs, RustCrate};
pub use builder::{BuildError, Builder};
pub use diagnostic::{Diagnostic, Severity, SourceFile, Span};
pub use layout::Layout;
pub use model::Schema;

/// A checked schema and the layout computed from it, whatever the protocol's shape: what
/// `check` and `layout` read.
#[derive(Debug, Clone)]
pub struct Laid {
    pub schema: Schema,
    pub layout: Layout,
}

/// A checked schema of RLTOP's shape ([`model::Framed`]) and its layout: what every
/// generator of this version reads.
#[derive(Debug, Clone)]
pub struct Model {
    pub schema: Schema,
    pub layout: Layout,
    pub framed: model::Framed,
}

impl Model {
    /// A message's channel: every message of a framed schema has one.
    pub fn channel_of(&self, record: &model::Record) -> model::ChannelId {
        record
            .message
            .and_then(|m| m.channel)
            .expect("every message of a Model names its channel (Schema::framed)")
    }

    /// `N messages, N structs, N enums, N flag sets`.
    pub fn summary(&self) -> String {
        summary(&self.schema)
    }

    /// The schema and layout alone, as the passes that take any shape read them
    /// ([`compat::compare`]).
    pub fn laid(&self) -> Laid {
        Laid {
            schema: self.schema.clone(),
            layout: self.layout.clone(),
        }
    }
}

impl Laid {
    /// The model RLTOP's generators read, if the schema has RLTOP's shape.
    pub fn model(&self) -> Option<Model> {
        let framed = self.schema.framed().ok()?;
        Some(Model {
            schema: self.schema.clone(),
            layout: self.layout.clone(),
            framed,
        })
    }

    /// `N messages, N structs, N enums, N flag sets`.
    pub fn summary(&self) -> String {
        summary(&self.schema)
    }

    /// Whether the C and Python backends for protocols of another shape take this schema:
    /// flat records (no nested structs) and the type code in the first byte. `what` names
    /// the artifact in the error ("the C header").
    pub fn flat_first_byte(&self, what: &str) -> Result<(), String> {
        let p = &self.schema.protocol;
        if !matches!(p.type_code, model::TypeCodeAt::FirstByte { .. }) {
            return Err(format!(
                "{what} of `{}`: this version takes a type code in the first byte only",
                p.name
            ));
        }
        if let Some(r) = self.schema.structs.iter().next() {
            return Err(format!(
                "{what} of `{}`: this version emits no nested records (`{}`)",
                p.name, r.name
            ));
        }
        Ok(())
    }
}

fn summary(s: &Schema) -> String {
    format!(
        "{} messages, {} structs, {} enums, {} flag sets",
        s.messages.len(),
        s.structs.len(),
        s.enums.len(),
        s.flags.len()
    )
}

/// The outcome of checking one schema file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub file: SourceFile,
    /// Present when there is no error (warnings allowed) and the generators can emit it.
    pub model: Option<Model>,
    /// Present when there is no error, whatever the shape.
    pub laid: Option<Laid>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Every diagnostic in rustc's style, in source order.
    pub fn render(&self) -> String {
        self.file.render_all(&self.diagnostics)
    }

    /// RLTOP's model (what its stream scenarios, SPEC.md tables and extension messages need),
    /// or the rendered diagnostics: the schema's errors, or (for a valid schema of another
    /// shape) why it is not RLTOP's. [`artifacts_of`] takes either shape.
    pub fn into_model(self) -> Result<Model, String> {
        if let Some(m) = self.model {
            return Ok(m);
        }
        let Some(laid) = &self.laid else {
            return Err(self.render());
        };
        let reasons = laid.schema.framed().err().unwrap_or_default();
        let d = Diagnostic::error(
            laid.schema.protocol.span,
            format!(
                "this needs a protocol of RLTOP's shape, and `{}` is not: {}",
                laid.schema.protocol.name,
                reasons.join("; ")
            ),
        )
        .label("checked and laid out, of another shape")
        .note("`rltop-codegen gen`, the build script and `include_schema!` take it; RLTOP's stream scenarios, SPEC.md tables and extension messages do not");
        Err(self.file.render_all(&[d]))
    }
}

/// Parses, analyzes and lays out a schema given as text; `name` is used in diagnostics.
pub fn check(name: &str, text: &str) -> Checked {
    let file = SourceFile::new(name, text);
    let (ast, mut diagnostics) = parser::parse(text);
    let (schema, more) = analyze::analyze(&ast);
    diagnostics.extend(more);
    // Syntax errors drop items; analysing the rest is still worth reporting, but no model
    // is produced from a schema that did not parse whole.
    let parse_ok = !diagnostics.iter().any(Diagnostic::is_error);
    let laid = match schema {
        Some(schema) if parse_ok => {
            let (layout, more) = layout::compute(&schema);
            let ok = !more.iter().any(Diagnostic::is_error);
            diagnostics.extend(more);
            ok.then_some(Laid { schema, layout })
        }
        _ => None,
    };
    let model = laid.as_ref().and_then(Laid::model);
    Checked {
        file,
        model,
        laid,
        diagnostics,
    }
}

/// [`check`] on a file; diagnostics name it as `display_name`.
pub fn check_file(path: &Path, display_name: &str) -> std::io::Result<Checked> {
    let text = std::fs::read_to_string(path)?;
    Ok(check(display_name, &text))
}
