//! AST → [`model`](crate::model): resolves names and checks every rule that does not need
//! offsets (those are the [layout pass](crate::layout)'s). Reports all it finds.

use std::collections::HashMap;

use crate::ast::{self, Item, Setting, TypeExpr};
use crate::diagnostic::{Diagnostic, Span};
use crate::model::*;

#[derive(Clone, Copy)]
enum Named {
    Alias(AliasId),
    Enum(EnumId),
    Flags(FlagsId),
    Struct(StructId),
    Message,
}

struct Analyzer<'a> {
    ast: &'a ast::SchemaAst,
    diags: Vec<Diagnostic>,
    names: HashMap<String, (Named, Span)>,
    /// The protocol's byte order: fields without one of their own take it.
    order: ByteOrder,
}

/// A built-in scalar type name: `u32`, `i48`, `char`, and the multi-byte integers with a byte
/// order of their own (`u32be`, `u16le`), which overrides the protocol's.
fn scalar_name(name: &str) -> Option<(Prim, Option<ByteOrder>)> {
    if let Some(p) = Prim::from_name(name) {
        return Some((p, None));
    }
    let (stem, order) = match name.split_at(name.len().checked_sub(2)?) {
        (stem, "be") => (stem, ByteOrder::Big),
        (stem, "le") => (stem, ByteOrder::Little),
        _ => return None,
    };
    Prim::from_name(stem)
        .filter(|p| p.size() > 1)
        .map(|p| (p, Some(order)))
}

/// Names every backend must be able to emit as identifiers (Rust's keywords; C's and
/// Python's few extra ones are rejected too, for the backends to come).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "char", "int",
    "long", "short", "signed", "unsigned", "void", "default", "switch", "case", "def", "class",
    "from", "import", "pass", "lambda", "None", "True", "False", "not", "and", "or", "is",
    "global", "with", "del", "raise", "except",
];

fn keyword_error(id: &ast::Ident, what: &str) -> Option<Diagnostic> {
    KEYWORDS.contains(&id.name.as_str()).then(|| {
        Diagnostic::error(
            id.span,
            format!(
                "{what} `{}` is a keyword in a target language (Rust, C or Python)",
                id.name
            ),
        )
        .label("reserved word")
    })
}

fn doc(d: &[String]) -> Vec<String> {
    d.to_vec()
}

/// The messages' declared channel must hold its type code; ranges may not overlap.
fn check_channels(channels: &[(Channel, &ast::Channel)], diags: &mut Vec<Diagnostic>) {
    for (i, (a, ast_a)) in channels.iter().enumerate() {
        for (b, ast_b) in &channels[..i] {
            if a.id == b.id {
                diags.push(
                    Diagnostic::error(
                        ast_a.id.span,
                        format!(
                            "channel `{}` reuses id {} of channel `{}`",
                            a.name, a.id, b.name
                        ),
                    )
                    .label("duplicate id"),
                );
            }
            if a.first <= b.last && b.first <= a.last {
                diags.push(
                    Diagnostic::error(
                        Span::new(ast_a.first.span.start, ast_a.last.span.end),
                        format!(
                            "type codes {:#04x}..={:#04x} of channel `{}` overlap {:#04x}..={:#04x} of channel `{}`",
                            a.first, a.last, a.name, b.first, b.last, b.name
                        ),
                    )
                    .label("overlapping range")
                    .note(format!("channel `{}` is declared at byte {}", b.name, ast_b.name.span.start)),
                );
            }
        }
    }
}

impl<'a> Analyzer<'a> {
    fn err(&mut self, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(span, msg));
        self.diags.last_mut().expect("just pushed")
    }

    fn number_in(&mut self, n: &ast::Number, min: i128, max: i128, what: &str) -> Option<i128> {
        if n.value < min || n.value > max {
            self.err(
                n.span,
                format!("{what} {} does not fit {min}..={max}", n.value),
            )
            .label = "out of range".into();
            None
        } else {
            Some(n.value)
        }
    }

    fn declare(&mut self, id: &ast::Ident, what: Named) {
        if let Some(d) = keyword_error(id, "the name") {
            self.diags.push(d);
        }
        if scalar_name(&id.name).is_some() || matches!(id.name.as_str(), "text" | "reserved") {
            self.err(
                id.span,
                format!("`{}` is a built-in type and cannot be redefined", id.name),
            )
            .label = "reserved name".into();
            return;
        }
        if let Some((_, prev)) = self.names.get(&id.name) {
            let prev = *prev;
            let d = self.err(id.span, format!("the name `{}` is defined twice", id.name));
            d.label = "redefined here".into();
            d.notes
                .push(format!("first defined at byte offset {}", prev.start));
            return;
        }
        self.names.insert(id.name.clone(), (what, id.span));
    }

    /// An integer type (or `char`) named as the underlying type of something; `ordered`
    /// allows a byte-order suffix (an alias's), which is returned.
    fn int_prim(
        &mut self,
        id: &ast::Ident,
        what: &str,
        ordered: bool,
    ) -> Option<(Prim, Option<ByteOrder>)> {
        let p = scalar_name(&id.name);
        match p {
            None => {
                self.err(
                    id.span,
                    format!(
                        "{what} must be an integer type (u8, u16, u24, u32, u48, u64, their \
                         signed i…, or char), not `{}`",
                        id.name
                    ),
                )
                .label = "not an integer type".into();
            }
            Some((_, Some(_))) if !ordered => {
                self.err(
                    id.span,
                    format!("{what} takes no byte order: the field's (or the protocol's) applies"),
                )
                .label = "no byte order here".into();
            }
            _ => {}
        }
        p
    }

    fn enum_def(&mut self, e: &ast::Enum, flags: bool) -> Enum {
        let kind = if flags { "flags" } else { "enum" };
        let repr = self
            .int_prim(
                &e.repr,
                &format!("the underlying type of {kind} `{}`", e.name.name),
                false,
            )
            .map_or(Prim::U8, |(p, _)| p);
        if flags && (repr.signed() || repr == Prim::Char) {
            self.err(
                e.repr.span,
                format!("flags `{}` need an unsigned integer type", e.name.name),
            );
        }
        if e.variants.is_empty() {
            self.err(
                e.name.span,
                format!("{kind} `{}` has no variants", e.name.name),
            );
        }
        let (min, max, what) = if flags {
            (0, repr.size() as i128 * 8 - 1, "bit number")
        } else if repr == Prim::Char {
            (repr.min(), repr.max(), "character (printable ASCII)")
        } else {
            (repr.min(), repr.max(), "value")
        };
        let mut variants: Vec<Variant> = Vec::new();
        for v in &e.variants {
            let value = self.number_in(
                &v.value,
                min,
                max,
                &format!(
                    "{kind} `{}`, variant `{}`: {what}",
                    e.name.name, v.name.name
                ),
            );
            if let Some(d) = keyword_error(
                &v.name,
                &format!("{kind} `{}`: the variant name", e.name.name),
            ) {
                self.diags.push(d);
            }
            if variants.iter().any(|o| o.name == v.name.name) {
                self.err(
                    v.name.span,
                    format!(
                        "{kind} `{}` has two variants named `{}`",
                        e.name.name, v.name.name
                    ),
                );
            }
            if let Some(value) = value {
                if let Some(o) = variants.iter().find(|o| i128::from(o.value) == value) {
                    let msg = format!(
                        "{kind} `{}`: variants `{}` and `{}` share the {what} {value}",
                        e.name.name, o.name, v.name.name
                    );
                    self.err(v.value.span, msg);
                }
            }
            variants.push(Variant {
                name: v.name.name.clone(),
                doc: doc(&v.doc),
                value: value.unwrap_or(0) as i64,
                span: v.name.span,
            });
        }
        let reserved = self.reserved_values(e, kind, &variants, (min, max, what));
        Enum {
            name: e.name.name.clone(),
            doc: doc(&e.doc),
            repr,
            variants,
            reserved,
            span: e.name.span,
        }
    }

    /// `reserved 3, 5;` of an enum or flags: each in the type's range, none taken by a variant.
    fn reserved_values(
        &mut self,
        e: &ast::Enum,
        kind: &str,
        variants: &[Variant],
        (min, max, what): (i128, i128, &str),
    ) -> Vec<(i64, Span)> {
        let mut out: Vec<(i64, Span)> = Vec::new();
        for n in &e.reserved {
            let ctx = format!("{kind} `{}`: reserved {what}", e.name.name);
            let Some(v) = self.number_in(n, min, max, &ctx) else {
                continue;
            };
            let v = v as i64;
            if let Some(taken) = variants.iter().find(|x| x.value == v) {
                let d = Diagnostic::error(
                    taken.span,
                    format!(
                        "{kind} `{}`: variant `{}` takes the value {v}, which is reserved (retired)",
                        e.name.name, taken.name
                    ),
                )
                .label("reserved value")
                .note(format!("`reserved {v};` in `{}` retires it: a retired value is never reused, so no reader takes it for its old meaning", e.name.name));
                self.diags.push(d);
            }
            if out.iter().any(|(o, _)| *o == v) {
                self.err(
                    n.span,
                    format!("{kind} `{}`: {v} is reserved twice", e.name.name),
                );
            }
            out.push((v, n.span));
        }
        out
    }

    /// A field's type, and the byte order its name gives it (`u32be`, or an alias's own).
    fn resolve_ty(
        &mut self,
        t: &TypeExpr,
        ctx: &str,
        schema: &Schema,
    ) -> Option<(Ty, Option<ByteOrder>)> {
        let ty = |t| Some((t, None));
        match t {
            TypeExpr::Named(id) => {
                if let Some((p, order)) = scalar_name(&id.name) {
                    return Some((Ty::Prim(p), order));
                }
                match self.names.get(&id.name).map(|(n, _)| *n) {
                    Some(Named::Alias(i)) => Some((Ty::Alias(i), schema.aliases[i].order)),
                    Some(Named::Enum(i)) => ty(Ty::Enum(i)),
                    Some(Named::Flags(i)) => ty(Ty::Flags(i)),
                    Some(Named::Struct(i)) => ty(Ty::Struct(i)),
                    Some(Named::Message) => {
                        self.err(
                            id.span,
                            format!(
                                "{ctx}: message `{}` cannot be a field type (use a struct)",
                                id.name
                            ),
                        );
                        None
                    }
                    None => {
                        let d = self.err(id.span, format!("{ctx}: unknown type `{}`", id.name));
                        d.label = "not declared".into();
                        let candidates: Vec<String> = self
                            .names
                            .keys()
                            .cloned()
                            .chain(Prim::ALL.iter().map(|p| p.name().to_string()))
                            .collect();
                        if let Some(close) = candidates.into_iter().find(|k| similar(k, &id.name)) {
                            self.diags
                                .last_mut()
                                .expect("pushed")
                                .notes
                                .push(format!("did you mean `{close}`?"));
                        }
                        None
                    }
                }
            }
            TypeExpr::Array { elem, len, .. } => {
                let n = self.len(len, ctx, "array")?;
                let (e, order) = self.resolve_ty(elem, ctx, schema)?;
                match e {
                    Ty::Prim(_) | Ty::Alias(_) | Ty::Struct(_) => {
                        Some((Ty::Array(Box::new(e), n), order))
                    }
                    _ => {
                        let msg = format!(
                            "{ctx}: arrays may hold integers and structs, not `{}`",
                            schema.type_name(&e)
                        );
                        self.err(elem.span(), msg);
                        None
                    }
                }
            }
            TypeExpr::Text { len, .. } => self.len(len, ctx, "text").and_then(|n| ty(Ty::Text(n))),
            TypeExpr::Reserved { len, .. } => self
                .len(len, ctx, "reserved")
                .and_then(|n| ty(Ty::Reserved(n))),
        }
    }

    /// `pad space|nul`, on text only.
    fn padding(&mut self, f: &ast::Field, ty: &Ty, ctx: &str) -> Padding {
        let Some(how) = &f.pad else {
            return Padding::Nul;
        };
        if !matches!(ty, Ty::Text(_)) {
            self.err(
                how.span,
                format!("{ctx}: only text is padded (`pad` after `text[N]`)"),
            )
            .label = "not text".into();
        }
        match how.name.as_str() {
            "space" => Padding::Space,
            "nul" => Padding::Nul,
            other => {
                self.err(
                    how.span,
                    format!("{ctx}: padding `{other}`: use `space` or `nul`"),
                )
                .label = "unknown padding".into();
                Padding::Nul
            }
        }
    }

    fn len(&mut self, len: &ast::Number, ctx: &str, what: &str) -> Option<usize> {
        if len.value == 0 {
            self.err(len.span, format!("{ctx}: {what} of zero length"))
                .label = "must be at least 1".into();
            return None;
        }
        self.number_in(len, 1, 65535, &format!("{ctx}: {what} length"))
            .map(|n| n as usize)
    }

    fn fields(
        &mut self,
        owner: &str,
        fields: &[ast::Field],
        is_message: bool,
        version: u8,
        schema: &Schema,
    ) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        for f in fields {
            let ctx = format!("{owner}, field `{}`", f.name.name);
            if let Some(d) = keyword_error(&f.name, &format!("{owner}: the field name")) {
                self.diags.push(d);
            }
            if out.iter().any(|o| o.name == f.name.name) {
                self.err(
                    f.name.span,
                    format!("{owner} has two fields named `{}`", f.name.name),
                )
                .label = "duplicate field".into();
            }
            let (ty, order) = self
                .resolve_ty(&f.ty, &ctx, schema)
                .unwrap_or((Ty::Reserved(1), None));
            let pad = self.padding(f, &ty, &ctx);
            let since = match &f.since {
                None => 1,
                Some(n) if !is_message => {
                    self.err(
                        n.span,
                        format!("{ctx}: `since` applies to message fields only"),
                    );
                    1
                }
                Some(n) => {
                    let v = self
                        .number_in(
                            n,
                            1,
                            i128::from(version),
                            &format!("{ctx}: `since` version"),
                        )
                        .unwrap_or(1) as u8;
                    if v > 1 && matches!(ty, Ty::Reserved(_)) {
                        self.err(n.span, format!("{ctx}: reserved bytes cannot be versioned"));
                    }
                    v
                }
            };
            out.push(Field {
                name: f.name.name.clone(),
                doc: doc(&f.doc),
                ty,
                since,
                count_of: None,
                order: order.unwrap_or(self.order),
                pad,
                span: f.name.span,
            });
        }
        // `count(x)` refers to a field of the same record, which must be an array.
        for (i, f) in fields.iter().enumerate() {
            let Some(target) = &f.count_of else { continue };
            let ctx = format!("{owner}, field `{}`", f.name.name);
            let Some(t) = out.iter().position(|o| o.name == target.name) else {
                self.err(
                    target.span,
                    format!(
                        "{ctx}: counts `{}`, which is not a field of {owner}",
                        target.name
                    ),
                )
                .label = "no such field".into();
                continue;
            };
            let Ty::Array(_, max) = out[t].ty else {
                self.err(
                    target.span,
                    format!("{ctx}: counts `{}`, which is not an array", target.name),
                )
                .label = "not an array".into();
                continue;
            };
            match schema.scalar_prim(&out[i].ty) {
                Some(p)
                    if !p.signed()
                        && p != Prim::Char
                        && matches!(out[i].ty, Ty::Prim(_) | Ty::Alias(_)) =>
                {
                    if p.max() < max as i128 {
                        self.err(
                            f.ty.span(),
                            format!("{ctx}: `{}` cannot count up to {max}", p.name()),
                        );
                    }
                }
                _ => {
                    self.err(
                        f.ty.span(),
                        format!("{ctx}: a count must be an unsigned integer"),
                    );
                }
            }
            out[i].count_of = Some(t);
        }
        out
    }
}

/// Names one edit apart (or differing only in case) are suggested.
fn similar(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 || a.len().max(b.len()) < 2 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()] <= 1
}

/// Checks the AST and builds the model. Returns `None` for the model when an error makes
/// one impossible; the diagnostics say why.
pub fn analyze(ast: &ast::SchemaAst) -> (Option<Schema>, Vec<Diagnostic>) {
    let mut a = Analyzer {
        ast,
        diags: Vec::new(),
        names: HashMap::new(),
        order: ByteOrder::Little,
    };
    let mut schema = Schema {
        protocol: Protocol {
            name: String::new(),
            doc: Vec::new(),
            span: Span::default(),
            version: 1,
            min_version: 1,
            magic: None,
            byte_order: ByteOrder::Little,
            checksum: Checksum::None,
            framing: Framing::Packed,
            type_code: TypeCodeAt::Header,
            header: None,
            reserved_types: Vec::new(),
            at: SettingSpans::default(),
        },
        aliases: Table::new(),
        enums: Table::new(),
        flags: Table::new(),
        channels: Table::new(),
        channel_enum: None,
        structs: Table::new(),
        messages: Table::new(),
    };
    let channels = a.declare_all(&mut schema);
    let protocols = a.definitions(&mut schema);
    a.channels(&mut schema, &channels);
    let settings = a.protocol(&mut schema, &protocols);
    a.structs(&mut schema);
    check_struct_cycles(&schema, &mut a.diags);
    if let Some(p) = protocols.first() {
        a.header(&mut schema, p, &settings);
    }
    a.messages(&mut schema);
    let ok = !a.diags.iter().any(|d| d.is_error());
    (ok.then_some(schema), a.diags)
}

/// `header T { role = field; … }`: the struct's name, the roles, the setting's span.
type HeaderAst<'a> = (&'a ast::Ident, &'a Vec<(ast::Ident, ast::Ident)>, Span);

/// What the protocol block says beyond the model's fields, for the checks that need the
/// structs: the header and its roles, the magic and type-code settings.
#[derive(Default)]
struct Settings<'a> {
    header: Option<HeaderAst<'a>>,
    magic: Option<Span>,
    checksum: Option<Span>,
    type_code: Option<Span>,
}

impl<'a> Analyzer<'a> {
    /// Pass 1: declares every name, so items may refer to each other in any order.
    fn declare_all(&mut self, schema: &mut Schema) -> Vec<&'a ast::Channel> {
        let (mut n_alias, mut n_enum, mut n_flags, mut n_struct) = (0, 0, 0, 0);
        let ast = self.ast;
        let channels: Vec<&ast::Channel> = ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Channel(c) => Some(c),
                _ => None,
            })
            .collect();
        for item in &ast.items {
            match item {
                Item::Alias(x) => {
                    self.declare(&x.name, Named::Alias(AliasId::new(n_alias)));
                    n_alias += 1;
                }
                Item::Enum(x) => {
                    self.declare(&x.name, Named::Enum(EnumId::new(n_enum)));
                    n_enum += 1;
                }
                Item::Flags(x) => {
                    self.declare(&x.name, Named::Flags(FlagsId::new(n_flags)));
                    n_flags += 1;
                }
                Item::Struct(x) => {
                    self.declare(&x.name, Named::Struct(StructId::new(n_struct)));
                    n_struct += 1;
                }
                Item::Message(x) => self.declare(&x.name, Named::Message),
                Item::Protocol(_) | Item::Channel(_) => {}
            }
        }
        if let Some(first) = channels.first() {
            // Channels form one enumeration, `Channel`, usable as a field type.
            let name = ast::Ident {
                name: "Channel".into(),
                span: first.name.span,
            };
            self.declare(&name, Named::Enum(EnumId::new(n_enum)));
            schema.channel_enum = Some(EnumId::new(n_enum));
        }
        channels
    }

    /// Pass 2: the definitions that need no other definition; the protocol blocks.
    fn definitions(&mut self, schema: &mut Schema) -> Vec<&'a ast::Protocol> {
        let mut protocols = Vec::new();
        let ast = self.ast;
        for item in &ast.items {
            match item {
                Item::Alias(x) => {
                    let alias = self.alias(x);
                    schema.aliases.push(alias);
                }
                Item::Enum(x) => {
                    let e = self.enum_def(x, false);
                    schema.enums.push(e);
                }
                Item::Flags(x) => {
                    let e = self.enum_def(x, true);
                    schema.flags.push(e);
                }
                Item::Protocol(p) => protocols.push(p),
                _ => {}
            }
        }
        protocols
    }

    fn alias(&mut self, x: &ast::Alias) -> Alias {
        let what = format!("type `{}`", x.name.name);
        let (prim, order) = self
            .int_prim(&x.target, &what, true)
            .unwrap_or((Prim::U8, None));
        let scale = x.scale.as_ref().and_then(|n| {
            if prim == Prim::Char {
                self.err(n.span, format!("{what}: a character has no decimal places"));
                return None;
            }
            self.number_in(n, 0, 18, &format!("{what}: scale"))
                .map(|v| v as u8)
        });
        Alias {
            name: x.name.name.clone(),
            doc: doc(&x.doc),
            prim,
            scale,
            order,
            span: x.name.span,
        }
    }

    fn channels(&mut self, schema: &mut Schema, channels: &[&ast::Channel]) {
        let mut checked: Vec<(Channel, &ast::Channel)> = Vec::new();
        for c in channels {
            let name = &c.name.name;
            let id = self
                .number_in(&c.id, 0, 255, &format!("channel `{name}`: id"))
                .unwrap_or(0) as u8;
            let first = self
                .number_in(
                    &c.first,
                    0,
                    255,
                    &format!("channel `{name}`: first type code"),
                )
                .unwrap_or(0) as u8;
            let last = self
                .number_in(
                    &c.last,
                    0,
                    255,
                    &format!("channel `{name}`: last type code"),
                )
                .unwrap_or(255) as u8;
            if first > last {
                self.err(
                    c.first.span,
                    format!("channel `{name}`: range {first:#04x}..={last:#04x} is empty"),
                );
            }
            if checked.iter().any(|(o, _)| o.name == *name) {
                self.err(
                    c.name.span,
                    format!("the channel `{name}` is defined twice"),
                );
            }
            let channel = Channel {
                name: name.clone(),
                doc: doc(&c.doc),
                id,
                first,
                last,
                span: c.name.span,
            };
            checked.push((channel, *c));
        }
        check_channels(&checked, &mut self.diags);
        if schema.channel_enum.is_some() {
            schema.enums.push(Enum {
                name: "Channel".into(),
                doc: vec![
                    "The feed's channels: each carries one range of message type codes.".into(),
                ],
                repr: Prim::U8,
                variants: checked
                    .iter()
                    .map(|(c, _)| Variant {
                        name: c.name.clone(),
                        doc: c.doc.clone(),
                        value: c.id.into(),
                        span: c.span,
                    })
                    .collect(),
                reserved: Vec::new(),
                span: checked.first().map_or(Span::default(), |(c, _)| c.span),
            });
        }
        schema.channels = checked.into_iter().map(|(c, _)| c).collect();
    }
}

impl<'a> Analyzer<'a> {
    /// The protocol block (exactly one): version, byte order, magic, checksum, framing, where
    /// the type code sits. The header's roles are checked once the structs exist.
    fn protocol(&mut self, schema: &mut Schema, protocols: &[&'a ast::Protocol]) -> Settings<'a> {
        let mut s = Settings::default();
        match protocols {
            [] => {
                self.err(
                    Span::default(),
                    "the schema has no `protocol` block (byte_order, checksum, header or type_code)",
                );
                return s;
            }
            [_, extra, ..] => {
                self.err(extra.name.span, "a schema has one `protocol` block");
            }
            _ => {}
        }
        let p = protocols[0];
        schema.protocol.name = p.name.name.clone();
        schema.protocol.doc = doc(&p.doc);
        schema.protocol.span = p.name.span;
        let mut byte_order = false;
        for (setting, span) in &p.settings {
            self.setting_span(&mut schema.protocol.at, setting, *span);
            match setting {
                Setting::ReservedTypes(codes) => {
                    for n in codes {
                        if let Some(c) = self.number_in(n, 0, 255, "a reserved type code") {
                            schema.protocol.reserved_types.push((c as u8, n.span));
                        }
                    }
                }
                Setting::Version(n) => {
                    schema.protocol.version =
                        self.number_in(n, 1, 255, "protocol version").unwrap_or(1) as u8;
                }
                Setting::MinVersion(n) => {
                    schema.protocol.min_version = self
                        .number_in(n, 1, 255, "protocol min_version")
                        .unwrap_or(1) as u8;
                }
                Setting::Magic(n) => {
                    s.magic = Some(*span);
                    schema.protocol.magic = self
                        .number_in(n, 0, u32::MAX.into(), "magic")
                        .map(|m| m as u32);
                }
                Setting::ByteOrder(id) => {
                    byte_order = true;
                    schema.protocol.byte_order = match id.name.as_str() {
                        "little" => ByteOrder::Little,
                        "big" => ByteOrder::Big,
                        other => {
                            self.err(
                                id.span,
                                format!("byte order `{other}`: use `little` or `big`"),
                            )
                            .label = "unknown byte order".into();
                            ByteOrder::Little
                        }
                    };
                }
                Setting::Checksum { algorithm, covers } => {
                    s.checksum = Some(*span);
                    schema.protocol.checksum = self.checksum(algorithm, covers.as_ref());
                }
                Setting::Framing(id) => {
                    schema.protocol.framing = match id.name.as_str() {
                        "packed" => Framing::Packed,
                        "moldudp64" => Framing::MoldUdp64,
                        "soupbintcp" => Framing::SoupBinTcp,
                        other => {
                            self.err(
                                id.span,
                                format!(
                                    "framing `{other}`: use `packed`, `moldudp64` or `soupbintcp`"
                                ),
                            )
                            .label = "unknown framing".into();
                            Framing::Packed
                        }
                    };
                }
                Setting::TypeCode(id) => {
                    s.type_code = Some(*span);
                    let char_code = match id.name.as_str() {
                        "u8" => false,
                        "char" => true,
                        other => {
                            self.err(id.span, format!("type_code `{other}`: the first byte of each message, `u8` or `char`"))
                                .label = "not u8 or char".into();
                            false
                        }
                    };
                    schema.protocol.type_code = TypeCodeAt::FirstByte { char_code };
                }
                Setting::Header { ty, roles } => {
                    if s.header.is_some() {
                        self.err(*span, "the protocol names its header twice");
                    }
                    s.header = Some((ty, roles, *span));
                }
            }
        }
        for (seen, what) in [
            (byte_order, "byte_order"),
            (s.checksum.is_some(), "checksum"),
        ] {
            if !seen {
                self.err(
                    p.name.span,
                    format!("protocol `{}` does not declare its `{what}`", p.name.name),
                );
            }
        }
        if schema.protocol.min_version > schema.protocol.version {
            self.err(p.name.span, "protocol min_version is above its version");
        }
        self.order = schema.protocol.byte_order;
        s
    }

    fn checksum(&mut self, algorithm: &ast::Ident, covers: Option<&ast::Ident>) -> Checksum {
        let c = match algorithm.name.as_str() {
            "none" => Checksum::None,
            "crc32c" => Checksum::Crc32c,
            "crc32" => Checksum::Crc32,
            other => {
                self.err(
                    algorithm.span,
                    format!(
                        "checksum `{other}`: use `none`, `crc32c` (Castagnoli) or `crc32` (IEEE)"
                    ),
                )
                .label = "unknown checksum".into();
                return Checksum::None;
            }
        };
        match (c, covers) {
            (Checksum::None, Some(over)) => {
                self.err(over.span, "`checksum none` covers nothing: drop `over …`");
            }
            (Checksum::None, None) => {}
            (_, None) => {
                self.err(
                    algorithm.span,
                    format!("checksum `{}` needs `over message`", algorithm.name),
                );
            }
            (_, Some(over)) if over.name != "message" => {
                self.err(over.span, format!("a checksum over `{}` is not supported: it covers the whole `message`, its own field as zero", over.name));
            }
            _ => {}
        }
        c
    }

    /// Pass 3: the structs (they may use each other in any order).
    fn structs(&mut self, schema: &mut Schema) {
        let version = schema.protocol.version;
        let ast = self.ast;
        for item in &ast.items {
            let Item::Struct(s) = item else { continue };
            let owner = format!("struct `{}`", s.name.name);
            let fields = self.fields(&owner, &s.fields, false, version, schema);
            let declared_size = s
                .size
                .as_ref()
                .and_then(|n| self.number_in(n, 1, 65535, &format!("{owner}: size")))
                .map(|n| n as usize);
            schema.structs.push(Record {
                name: s.name.name.clone(),
                doc: doc(&s.doc),
                declared_size,
                fields,
                span: s.name.span,
                size_span: s.size.map(|n| n.span),
                message: None,
            });
        }
    }

    /// The header and its roles, and what depends on them: a magic and a magic role go
    /// together, so do a checksum and a checksum role; the type code is the header's `type`
    /// role or the first byte (`type_code`), one of the two.
    fn header(&mut self, schema: &mut Schema, p: &ast::Protocol, s: &Settings) {
        if let Some((ty, roles, _)) = s.header {
            match self.names.get(&ty.name).map(|(n, _)| *n) {
                Some(Named::Struct(id)) => {
                    let roles = header_roles(schema, id, roles, &mut self.diags);
                    schema.protocol.header = Some(Header { id, roles });
                }
                _ => {
                    self.err(
                        ty.span,
                        format!("the header `{}` is not a struct of this schema", ty.name),
                    );
                }
            }
        }
        let roles = schema.protocol.header.as_ref().map(|h| h.roles);
        let has = |f: fn(&HeaderRoles<Option<usize>>) -> Option<usize>| {
            roles.as_ref().and_then(f).is_some()
        };
        let at = s.header.map_or(p.name.span, |(ty, _, _)| ty.span);
        if s.magic.is_some() != has(|r| r.magic) {
            let msg = match s.magic {
                Some(_) => {
                    "the protocol declares a `magic` but no header field plays the `magic` role"
                }
                None => {
                    "a header field plays the `magic` role but the protocol declares no `magic`"
                }
            };
            self.err(s.magic.unwrap_or(at), msg);
        }
        let checksum = schema.protocol.checksum != Checksum::None;
        if checksum != has(|r| r.checksum) {
            let msg = if checksum {
                "the checksum needs a header field in the `checksum` role"
            } else {
                "a header field plays the `checksum` role but the protocol says `checksum none`"
            };
            self.err(s.checksum.unwrap_or(at), msg);
        }
        match (has(|r| r.msg_type), s.type_code) {
            (true, None) => schema.protocol.type_code = TypeCodeAt::Header,
            (false, Some(_)) => {}
            (true, Some(span)) => {
                self.err(
                    span,
                    "the type code is the header's `type` role already: drop `type_code`",
                );
            }
            (false, None) => {
                self.err(p.name.span, format!(
                    "protocol `{}` does not say where a message's type code is: a header field in the `type` role, or `type_code u8;` / `type_code char;` (the first byte)",
                    p.name.name
                ));
            }
        }
    }
}

impl Analyzer<'_> {
    /// Records where a protocol setting is written.
    fn setting_span(&mut self, at: &mut SettingSpans, setting: &Setting, span: Span) {
        let slot = match setting {
            Setting::Version(_) => &mut at.version,
            Setting::MinVersion(_) => &mut at.min_version,
            Setting::Magic(_) => &mut at.magic,
            Setting::ByteOrder(_) => &mut at.byte_order,
            Setting::Checksum { .. } => &mut at.checksum,
            Setting::Framing(_) => &mut at.framing,
            Setting::TypeCode(_) => &mut at.type_code,
            Setting::Header { .. } => &mut at.header,
            Setting::ReservedTypes(_) => return,
        };
        *slot = Some(span);
    }

    /// Pass 4: the messages.
    fn messages(&mut self, schema: &mut Schema) {
        let version = schema.protocol.version;
        let mut codes: HashMap<u8, String> = HashMap::new();
        let ast = self.ast;
        for item in &ast.items {
            let Item::Message(m) = item else { continue };
            let owner = format!("message `{}`", m.name.name);
            let fields = self.fields(&owner, &m.fields, true, version, schema);
            let code = self.type_code(m, &owner, schema);
            if schema
                .protocol
                .reserved_types
                .iter()
                .any(|(c, _)| *c == code)
            {
                let d = Diagnostic::error(
                    m.type_code.span,
                    format!("{owner} takes type code {code:#04x}, which is reserved (retired)"),
                )
                .label("reserved type code")
                .note("`reserved types` in the protocol block retires it: a retired type code is never reused, so no reader takes the message for the retired one");
                self.diags.push(d);
            }
            if let Some(other) = codes.get(&code) {
                self.err(
                    m.type_code.span,
                    format!("{owner} reuses type code {code:#04x} of message `{other}`"),
                )
                .label = "duplicate type code".into();
            } else {
                codes.insert(code, m.name.name.clone());
            }
            let channel = self.message_channel(m, &owner, code, schema);
            if m.size.is_none() {
                self.err(
                    m.name.span,
                    format!("{owner} does not declare its size (`size N`)"),
                );
            }
            let declared_size = m
                .size
                .as_ref()
                .and_then(|n| self.number_in(n, 1, 65535, &format!("{owner}: size")))
                .map(|n| n as usize);
            self.first_field(m, &owner, &fields, schema);
            schema.messages.push(Record {
                name: m.name.name.clone(),
                doc: doc(&m.doc),
                declared_size,
                fields,
                span: m.name.span,
                size_span: m.size.map(|n| n.span),
                message: Some(MessageInfo {
                    type_code: code,
                    char_code: m.type_code.char,
                    channel,
                }),
            });
        }
    }

    /// Whether the protocol's type codes are characters (`type_code char`, or a header
    /// `type` role of type `char`).
    fn char_codes(schema: &Schema) -> bool {
        match schema.protocol.type_code {
            TypeCodeAt::FirstByte { char_code } => char_code,
            TypeCodeAt::Header => schema.protocol.header.as_ref().is_some_and(|h| {
                h.roles.msg_type.is_some_and(|f| {
                    schema.scalar_prim(&schema.structs[h.id].fields[f].ty) == Some(Prim::Char)
                })
            }),
        }
    }

    fn type_code(&mut self, m: &ast::Message, owner: &str, schema: &Schema) -> u8 {
        let chars = Self::char_codes(schema);
        if chars && !m.type_code.char {
            self.err(
                m.type_code.span,
                format!("{owner}: this protocol's type codes are characters: write it as `'A'`"),
            )
            .label = "a number".into();
        }
        let (min, max) = if chars { (0x20, 0x7e) } else { (0, 255) };
        self.number_in(&m.type_code, min, max, &format!("{owner}: type code"))
            .unwrap_or(0) as u8
    }

    /// A protocol with channels names one per message, whose range holds its type code; a
    /// protocol without channels names none.
    fn message_channel(
        &mut self,
        m: &ast::Message,
        owner: &str,
        code: u8,
        schema: &Schema,
    ) -> Option<ChannelId> {
        let Some(c) = &m.channel else {
            if !schema.channels.is_empty() {
                self.err(
                    m.name.span,
                    format!("{owner} does not name its channel (`channel Name`)"),
                );
            }
            return None;
        };
        let Some(i) = schema.channels.position(|x| x.name == c.name) else {
            self.err(c.span, format!("{owner}: unknown channel `{}`", c.name))
                .label = "not declared".into();
            return None;
        };
        let ch = &schema.channels[i];
        if code < ch.first || code > ch.last {
            let d = self.err(
                m.type_code.span,
                format!(
                    "{owner}: type code {code:#04x} is outside channel `{}` ({:#04x}..={:#04x})",
                    ch.name, ch.first, ch.last
                ),
            );
            d.label = "outside the channel's range".into();
        }
        Some(i)
    }

    /// The first field is the header when there is one; otherwise, with `type_code`, the
    /// byte that holds the type code (a `u8` or a `char`, as declared).
    fn first_field(&mut self, m: &ast::Message, owner: &str, fields: &[Field], schema: &Schema) {
        let at = m.fields.first().map_or(m.name.span, |f| f.ty.span());
        let first = fields.first();
        if let Some(h) = &schema.protocol.header {
            if !first.is_some_and(|f| f.ty == Ty::Struct(h.id)) {
                let header = &schema.structs[h.id].name;
                self.err(
                    at,
                    format!("{owner}: the first field must be the header `{header}`"),
                )
                .label = "not the header".into();
            }
            return;
        }
        if let TypeCodeAt::FirstByte { char_code } = schema.protocol.type_code {
            let want = if char_code { Prim::Char } else { Prim::U8 };
            let ok = first.is_some_and(|f| {
                matches!(f.ty, Ty::Prim(_) | Ty::Alias(_))
                    && schema.scalar_prim(&f.ty) == Some(want)
            });
            if !ok {
                self.err(
                    at,
                    format!(
                        "{owner}: the first field holds the type code (`type_code {}`) and must be a `{}`",
                        want.name(),
                        want.name()
                    ),
                )
                .label = "not the type code".into();
            }
        }
    }
}

/// Which header field plays each role. Every role is optional; what needs which is checked
/// by the caller. A role's field must be an integer of one of the role's widths.
fn header_roles(
    schema: &Schema,
    h: StructId,
    roles: &[(ast::Ident, ast::Ident)],
    diags: &mut Vec<Diagnostic>,
) -> HeaderRoles<Option<usize>> {
    const ROLES: [(&str, &[Prim]); 8] = [
        ("magic", &[Prim::U32]),
        ("length", &[Prim::U16, Prim::U32]),
        ("type", &[Prim::U8, Prim::Char]),
        ("version", &[Prim::U8]),
        ("session", &[Prim::U64, Prim::U32, Prim::U16]),
        ("sequence", &[Prim::U64, Prim::U32]),
        ("timestamp", &[Prim::U64, Prim::U48]),
        ("checksum", &[Prim::U32]),
    ];
    let header = &schema.structs[h];
    let mut found = [None; 8];
    for (role, field) in roles {
        let Some(r) = ROLES.iter().position(|(n, _)| *n == role.name) else {
            diags.push(Diagnostic::error(role.span, format!("unknown header role `{}` (magic, length, type, version, session, sequence, timestamp, checksum)", role.name)));
            continue;
        };
        let Some(f) = header.fields.iter().position(|x| x.name == field.name) else {
            diags.push(Diagnostic::error(
                field.span,
                format!("header `{}` has no field `{}`", header.name, field.name),
            ));
            continue;
        };
        let prim = schema.scalar_prim(&header.fields[f].ty);
        let want = ROLES[r].1;
        if !matches!(header.fields[f].ty, Ty::Prim(_) | Ty::Alias(_))
            || !prim.is_some_and(|p| want.contains(&p))
        {
            let names: Vec<String> = want.iter().map(|p| format!("`{}`", p.name())).collect();
            diags.push(Diagnostic::error(
                field.span,
                format!(
                    "header field `{}` plays `{}` and must be a {}",
                    field.name,
                    role.name,
                    names.join(" or ")
                ),
            ));
        }
        if found[r].replace(f).is_some() {
            diags.push(Diagnostic::error(
                role.span,
                format!("header role `{}` is given twice", role.name),
            ));
        }
    }
    HeaderRoles {
        magic: found[0],
        length: found[1],
        msg_type: found[2],
        version: found[3],
        session: found[4],
        sequence: found[5],
        timestamp: found[6],
        checksum: found[7],
    }
}

fn check_struct_cycles(schema: &Schema, diags: &mut Vec<Diagnostic>) {
    fn uses(ty: &Ty, out: &mut Vec<StructId>) {
        match ty {
            Ty::Struct(i) => out.push(*i),
            Ty::Array(e, _) => uses(e, out),
            _ => {}
        }
    }
    // A struct that reaches itself has no finite size.
    for start in schema.structs.ids() {
        let mut stack = vec![start];
        let mut seen = vec![false; schema.structs.len()];
        while let Some(s) = stack.pop() {
            let mut next = Vec::new();
            for f in &schema.structs[s].fields {
                uses(&f.ty, &mut next);
            }
            for n in next {
                if n == start {
                    let r = &schema.structs[start];
                    diags.push(
                        Diagnostic::error(r.span, format!("struct `{}` contains itself", r.name))
                            .label("recursive struct"),
                    );
                    return;
                }
                if !seen[n.index()] {
                    seen[n.index()] = true;
                    stack.push(n);
                }
            }
        }
    }
}
