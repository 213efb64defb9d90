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
        if Prim::from_name(&id.name).is_some() || matches!(id.name.as_str(), "text" | "reserved") {
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

    fn int_prim(&mut self, id: &ast::Ident, what: &str) -> Option<Prim> {
        let p = Prim::from_name(&id.name);
        if p.is_none() {
            self.err(
                id.span,
                format!(
                    "{what} must be an integer type (u8..u64, i8..i64), not `{}`",
                    id.name
                ),
            )
            .label = "not an integer type".into();
        }
        p
    }

    fn enum_def(&mut self, e: &ast::Enum, flags: bool) -> Enum {
        let kind = if flags { "flags" } else { "enum" };
        let repr = self
            .int_prim(
                &e.repr,
                &format!("the underlying type of {kind} `{}`", e.name.name),
            )
            .unwrap_or(Prim::U8);
        if flags && repr.signed() {
            self.err(
                e.repr.span,
                format!("flags `{}` need an unsigned underlying type", e.name.name),
            );
        }
        if e.variants.is_empty() {
            self.err(
                e.name.span,
                format!("{kind} `{}` has no variants", e.name.name),
            );
        }
        let mut variants: Vec<Variant> = Vec::new();
        for v in &e.variants {
            let (min, max, what) = if flags {
                (0, repr.size() as i128 * 8 - 1, "bit number")
            } else {
                (repr.min(), repr.max(), "value")
            };
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
            });
        }
        Enum {
            name: e.name.name.clone(),
            doc: doc(&e.doc),
            repr,
            variants,
        }
    }

    fn resolve_ty(&mut self, t: &TypeExpr, ctx: &str, schema: &Schema) -> Option<Ty> {
        match t {
            TypeExpr::Named(id) => {
                if let Some(p) = Prim::from_name(&id.name) {
                    return Some(Ty::Prim(p));
                }
                match self.names.get(&id.name).map(|(n, _)| *n) {
                    Some(Named::Alias(i)) => Some(Ty::Alias(i)),
                    Some(Named::Enum(i)) => Some(Ty::Enum(i)),
                    Some(Named::Flags(i)) => Some(Ty::Flags(i)),
                    Some(Named::Struct(i)) => Some(Ty::Struct(i)),
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
                let e = self.resolve_ty(elem, ctx, schema)?;
                match e {
                    Ty::Prim(_) | Ty::Alias(_) | Ty::Struct(_) => Some(Ty::Array(Box::new(e), n)),
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
            TypeExpr::Text { len, .. } => self.len(len, ctx, "text").map(Ty::Text),
            TypeExpr::Reserved { len, .. } => self.len(len, ctx, "reserved").map(Ty::Reserved),
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
            let ty = self
                .resolve_ty(&f.ty, &ctx, schema)
                .unwrap_or(Ty::Reserved(1));
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
                Some(p) if !p.signed() && matches!(out[i].ty, Ty::Prim(_) | Ty::Alias(_)) => {
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
    };
    let mut schema = Schema {
        protocol: Protocol {
            name: String::new(),
            doc: Vec::new(),
            version: 1,
            min_version: 1,
            magic: 0,
            header: StructId::new(0),
            roles: HeaderRoles {
                magic: 0,
                length: 0,
                msg_type: 0,
                version: 0,
                session: 0,
                sequence: 0,
                timestamp: 0,
                checksum: 0,
            },
        },
        aliases: Table::new(),
        enums: Table::new(),
        flags: Table::new(),
        channels: Table::new(),
        channel_enum: None,
        structs: Table::new(),
        messages: Table::new(),
    };

    // Pass 1: declare every name, so items may refer to each other in any order.
    let (mut n_alias, mut n_enum, mut n_flags, mut n_struct) = (0, 0, 0, 0);
    let channels: Vec<&ast::Channel> = a
        .ast
        .items
        .iter()
        .filter_map(|i| {
            if let Item::Channel(c) = i {
                Some(c)
            } else {
                None
            }
        })
        .collect();
    for item in &a.ast.items {
        match item {
            Item::Alias(x) => {
                a.declare(&x.name, Named::Alias(AliasId::new(n_alias)));
                n_alias += 1;
            }
            Item::Enum(x) => {
                a.declare(&x.name, Named::Enum(EnumId::new(n_enum)));
                n_enum += 1;
            }
            Item::Flags(x) => {
                a.declare(&x.name, Named::Flags(FlagsId::new(n_flags)));
                n_flags += 1;
            }
            Item::Struct(x) => {
                a.declare(&x.name, Named::Struct(StructId::new(n_struct)));
                n_struct += 1;
            }
            Item::Message(x) => a.declare(&x.name, Named::Message),
            Item::Protocol(_) | Item::Channel(_) => {}
        }
    }
    if !channels.is_empty() {
        // Channels form one enumeration, `Channel`, usable as a field type.
        let name = ast::Ident {
            name: "Channel".into(),
            span: channels[0].name.span,
        };
        a.declare(&name, Named::Enum(EnumId::new(n_enum)));
        schema.channel_enum = Some(EnumId::new(n_enum));
    }

    // Pass 2: definitions that need no other definition.
    let mut protocols = Vec::new();
    for item in &a.ast.items {
        match item {
            Item::Alias(x) => {
                let prim = a
                    .int_prim(&x.target, &format!("type `{}`", x.name.name))
                    .unwrap_or(Prim::U8);
                schema.aliases.push(Alias {
                    name: x.name.name.clone(),
                    doc: doc(&x.doc),
                    prim,
                });
            }
            Item::Enum(x) => {
                let e = a.enum_def(x, false);
                schema.enums.push(e);
            }
            Item::Flags(x) => {
                let e = a.enum_def(x, true);
                schema.flags.push(e);
            }
            Item::Protocol(p) => protocols.push(p),
            _ => {}
        }
    }
    let mut checked_channels = Vec::new();
    for c in &channels {
        let id = a
            .number_in(&c.id, 0, 255, &format!("channel `{}`: id", c.name.name))
            .unwrap_or(0) as u8;
        let first = a
            .number_in(
                &c.first,
                0,
                255,
                &format!("channel `{}`: first type code", c.name.name),
            )
            .unwrap_or(0) as u8;
        let last = a
            .number_in(
                &c.last,
                0,
                255,
                &format!("channel `{}`: last type code", c.name.name),
            )
            .unwrap_or(255) as u8;
        if first > last {
            a.err(
                c.first.span,
                format!(
                    "channel `{}`: range {first:#04x}..={last:#04x} is empty",
                    c.name.name
                ),
            );
        }
        if checked_channels
            .iter()
            .any(|(o, _): &(Channel, &ast::Channel)| o.name == c.name.name)
        {
            a.err(
                c.name.span,
                format!("the channel `{}` is defined twice", c.name.name),
            );
        }
        checked_channels.push((
            Channel {
                name: c.name.name.clone(),
                doc: doc(&c.doc),
                id,
                first,
                last,
            },
            *c,
        ));
    }
    check_channels(&checked_channels, &mut a.diags);
    if schema.channel_enum.is_some() {
        schema.enums.push(Enum {
            name: "Channel".into(),
            doc: vec!["The feed's channels: each carries one range of message type codes.".into()],
            repr: Prim::U8,
            variants: checked_channels
                .iter()
                .map(|(c, _)| Variant {
                    name: c.name.clone(),
                    doc: c.doc.clone(),
                    value: c.id.into(),
                })
                .collect(),
        });
    }
    schema.channels = checked_channels.into_iter().map(|(c, _)| c).collect();

    // Protocol settings (exactly one block); the version bounds `since`.
    match protocols.as_slice() {
        [] => {
            a.err(
                Span::default(),
                "the schema has no `protocol` block (version, magic, checksum, header)",
            );
        }
        [_, extra, ..] => {
            a.err(extra.name.span, "a schema has one `protocol` block");
        }
        _ => {}
    }
    let mut header_ast: Option<(&ast::Ident, &Vec<(ast::Ident, ast::Ident)>)> = None;
    if let Some(p) = protocols.first() {
        schema.protocol.name = p.name.name.clone();
        schema.protocol.doc = doc(&p.doc);
        let (mut seen_version, mut seen_magic, mut seen_checksum) = (false, false, false);
        for (s, span) in &p.settings {
            match s {
                Setting::Version(n) => {
                    seen_version = true;
                    schema.protocol.version =
                        a.number_in(n, 1, 255, "protocol version").unwrap_or(1) as u8;
                }
                Setting::MinVersion(n) => {
                    schema.protocol.min_version =
                        a.number_in(n, 1, 255, "protocol min_version").unwrap_or(1) as u8;
                }
                Setting::Magic(n) => {
                    seen_magic = true;
                    schema.protocol.magic =
                        a.number_in(n, 0, u32::MAX.into(), "magic").unwrap_or(0) as u32;
                }
                Setting::ByteOrder(id) => {
                    if id.name != "little" {
                        a.err(id.span, format!("byte order `{}` is not supported: RLTOP is little-endian (`little`)", id.name));
                    }
                }
                Setting::Checksum { algorithm, covers } => {
                    seen_checksum = true;
                    if algorithm.name != "crc32c" {
                        a.err(algorithm.span, format!("checksum `{}` is not supported: use `crc32c` (CRC-32C, Castagnoli)", algorithm.name));
                    }
                    if covers.name != "message" {
                        a.err(covers.span, format!("a checksum over `{}` is not supported: it covers the whole `message`, its own field as zero", covers.name));
                    }
                }
                Setting::Header { ty, roles } => {
                    if header_ast.is_some() {
                        a.err(*span, "the protocol names its header twice");
                    }
                    header_ast = Some((ty, roles));
                }
            }
        }
        for (seen, what) in [
            (seen_version, "version"),
            (seen_magic, "magic"),
            (seen_checksum, "checksum"),
            (header_ast.is_some(), "header"),
        ] {
            if !seen {
                a.err(
                    p.name.span,
                    format!("protocol `{}` does not declare its `{what}`", p.name.name),
                );
            }
        }
        if schema.protocol.min_version > schema.protocol.version {
            a.err(p.name.span, "protocol min_version is above its version");
        }
    }
    let version = schema.protocol.version;

    // Pass 3: structs, then messages (structs may use each other in any order).
    for item in &a.ast.items {
        if let Item::Struct(s) = item {
            let owner = format!("struct `{}`", s.name.name);
            let fields = a.fields(&owner, &s.fields, false, version, &schema);
            let declared_size = s
                .size
                .as_ref()
                .and_then(|n| a.number_in(n, 1, 65535, &format!("{owner}: size")))
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
    check_struct_cycles(&schema, &mut a.diags);

    // The header and its roles.
    if let Some((ty, roles)) = header_ast {
        match a.names.get(&ty.name).map(|(n, _)| *n) {
            Some(Named::Struct(h)) => {
                schema.protocol.header = h;
                if let Some(r) = header_roles(&schema, h, ty, roles, &mut a.diags) {
                    schema.protocol.roles = r;
                }
            }
            _ => {
                a.err(
                    ty.span,
                    format!("the header `{}` is not a struct of this schema", ty.name),
                );
            }
        }
    }

    let mut codes: HashMap<u8, (String, Span)> = HashMap::new();
    for item in &a.ast.items {
        let Item::Message(m) = item else { continue };
        let owner = format!("message `{}`", m.name.name);
        let fields = a.fields(&owner, &m.fields, true, version, &schema);
        let code = a
            .number_in(&m.type_code, 0, 255, &format!("{owner}: type code"))
            .unwrap_or(0) as u8;
        if let Some((other, _)) = codes.get(&code) {
            let other = other.clone();
            a.err(
                m.type_code.span,
                format!("{owner} reuses type code {code:#04x} of message `{other}`"),
            )
            .label = "duplicate type code".into();
        } else {
            codes.insert(code, (m.name.name.clone(), m.type_code.span));
        }
        let channel = match &m.channel {
            None => {
                a.err(
                    m.name.span,
                    format!("{owner} does not name its channel (`channel Name`)"),
                );
                ChannelId::new(0)
            }
            Some(c) => match schema.channels.position(|x| x.name == c.name) {
                None => {
                    a.err(c.span, format!("{owner}: unknown channel `{}`", c.name))
                        .label = "not declared".into();
                    ChannelId::new(0)
                }
                Some(i) => {
                    let ch = &schema.channels[i];
                    if code < ch.first || code > ch.last {
                        let d = a.err(m.type_code.span, format!("{owner}: type code {code:#04x} is outside channel `{}` ({:#04x}..={:#04x})", ch.name, ch.first, ch.last));
                        d.label = "outside the channel's range".into();
                    }
                    i
                }
            },
        };
        if m.size.is_none() {
            a.err(
                m.name.span,
                format!("{owner} does not declare its size (`size N`)"),
            );
        }
        let declared_size = m
            .size
            .as_ref()
            .and_then(|n| a.number_in(n, 1, 65535, &format!("{owner}: size")))
            .map(|n| n as usize);
        match fields.first() {
            Some(f) if f.ty == Ty::Struct(schema.protocol.header) => {}
            _ => {
                let header = schema
                    .structs
                    .get(schema.protocol.header)
                    .map_or("the header".into(), |h| format!("`{}`", h.name));
                let at = m.fields.first().map_or(m.name.span, |f| f.ty.span());
                a.err(
                    at,
                    format!("{owner}: the first field must be the header {header}"),
                )
                .label = "not the header".into();
            }
        }
        schema.messages.push(Record {
            name: m.name.name.clone(),
            doc: doc(&m.doc),
            declared_size,
            fields,
            span: m.name.span,
            size_span: m.size.map(|n| n.span),
            message: Some(MessageInfo {
                type_code: code,
                channel,
            }),
        });
    }

    let ok = !a.diags.iter().any(|d| d.is_error());
    (ok.then_some(schema), a.diags)
}

fn header_roles(
    schema: &Schema,
    h: StructId,
    ty: &ast::Ident,
    roles: &[(ast::Ident, ast::Ident)],
    diags: &mut Vec<Diagnostic>,
) -> Option<HeaderRoles> {
    const ROLES: [(&str, &[Prim]); 8] = [
        ("magic", &[Prim::U32]),
        ("length", &[Prim::U16]),
        ("type", &[Prim::U8]),
        ("version", &[Prim::U8]),
        ("session", &[Prim::U64]),
        ("sequence", &[Prim::U64]),
        ("timestamp", &[Prim::U64]),
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
            diags.push(Diagnostic::error(
                field.span,
                format!(
                    "header field `{}` plays `{}` and must be a `{}`",
                    field.name,
                    role.name,
                    want[0].name()
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
    let missing: Vec<&str> = ROLES
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|((n, _), _)| *n)
        .collect();
    if !missing.is_empty() {
        diags.push(Diagnostic::error(
            ty.span,
            format!(
                "header `{}` lacks the role(s): {}",
                ty.name,
                missing.join(", ")
            ),
        ));
        return None;
    }
    let g = |i: usize| found[i].unwrap_or(0);
    Some(HeaderRoles {
        magic: g(0),
        length: g(1),
        msg_type: g(2),
        version: g(3),
        session: g(4),
        sequence: g(5),
        timestamp: g(6),
        checksum: g(7),
    })
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
