//! Structs and messages: the `#[repr(C, packed)]` declaration, then what the generated crate
//! and `#[derive(rltop_runtime::Message)]` share: a `rltop_runtime::record!` table (the
//! macro turns it into the size and offset assertions, accessors, `Default` and `Debug`, so
//! that code is written once in the runtime, not once per message here) and, for a message,
//! the `rltop_runtime::Message` impl with its field table and validator. Offsets come from
//! the layout pass only.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{docs, hex, ident, int, prim, usize_lit};
use crate::layout::{Leaf, LeafKind, RecordLayout, Shape};
use crate::model::{MessageId, Prim, Record, Schema, StructId, Ty};
use crate::Model;

/// Which record of the model is being emitted.
#[derive(Clone, Copy)]
pub enum Which {
    Struct(StructId),
    Message(MessageId),
}

struct Ctx<'a> {
    schema: &'a Schema,
    model: &'a Model,
    record: &'a Record,
    layout: &'a RecordLayout,
    is_message: bool,
}

impl<'a> Ctx<'a> {
    fn new(model: &'a Model, which: Which) -> Self {
        let (record, layout, is_message) = match which {
            Which::Struct(i) => (&model.schema.structs[i], &model.layout.structs[i], false),
            Which::Message(i) => (&model.schema.messages[i], &model.layout.messages[i], true),
        };
        Ctx {
            schema: &model.schema,
            model,
            record,
            layout,
            is_message,
        }
    }

    /// How a field is stored in the struct, as Rust source: multi-byte integers as the
    /// runtime's little-endian types, so a raw field cannot be misread as a native integer.
    fn storage(&self, shape: &Shape) -> String {
        match shape {
            Shape::Struct(s) => self.schema.structs[*s].name.clone(),
            Shape::Array { element, len, .. } => format!("[{}; {len}]", self.storage(element)),
            Shape::Text(n) | Shape::Reserved(n) => format!("[u8; {n}]"),
            Shape::Scalar(p) if p.size() == 1 => p.name().to_string(),
            Shape::Scalar(p) => format!("::rltop_runtime::le::{}", p.name().to_uppercase()),
        }
    }

    /// The type a scalar's getter returns (the alias name for aliases).
    fn value_ty(&self, ty: &Ty) -> String {
        match ty {
            Ty::Alias(a) => self.schema.aliases[*a].name.clone(),
            Ty::Enum(e) => self.schema.enums[*e].name.clone(),
            Ty::Flags(e) => self.schema.flags[*e].name.clone(),
            Ty::Prim(p) => p.name().to_string(),
            other => unreachable!("{other:?} is not a scalar"),
        }
    }
}

/// Rust source the emitter wrote (a type), as tokens.
fn tokens(source: &str) -> TokenStream {
    source
        .parse()
        .expect("the emitter writes valid Rust tokens")
}

pub fn declaration(model: &Model, which: Which) -> TokenStream {
    let cx = Ctx::new(model, which);
    let r = cx.record;
    let name = ident(&r.name);
    let mut doc = r.doc.clone();
    if let Some(m) = r.message {
        if !doc.is_empty() {
            doc.push(String::new());
        }
        doc.push(format!(
            "Type code `{:#04x}`, {} bytes, channel `{}`.",
            m.type_code,
            cx.layout.size,
            cx.schema.channels[cx.model.channel_of(cx.record)].name
        ));
    }
    let doc = docs(&doc);
    let fields = r.fields.iter().zip(&cx.layout.fields).map(|(f, fl)| {
        let mut lines = f.doc.clone();
        if f.is_reserved() {
            lines.push("Reserved: written as zero, ignored when read.".into());
        }
        let doc = docs(&lines);
        let fname = ident(&f.name);
        let ty = tokens(&cx.storage(&fl.shape));
        quote!(#doc pub #fname: #ty,)
    });
    quote! {
        #doc
        #[derive(Clone, Copy, ::rltop_runtime::bytemuck::Pod, ::rltop_runtime::bytemuck::Zeroable)]
        #[bytemuck(crate = "::rltop_runtime::bytemuck")]
        #[repr(C, packed)]
        pub struct #name {
            #(#fields)*
        }
    }
}

/// A record's `rltop_runtime::record!` table: one line per field, with the layout pass's
/// offset and how the field is read (see that macro for the syntax). Rendered once, as text:
/// the generated file shows it as written here and the proc macros parse the same text.
pub struct Table(String);

impl Table {
    /// The table as it appears in the generated file.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The table as tokens, for `#[derive(Message)]` and `include_schema!`.
    pub fn tokens(&self) -> TokenStream {
        self.0
            .parse()
            .expect("a record! table the emitter wrote is valid Rust tokens")
    }
}

/// The `record!` table of record `which`, declared as the struct `name` (the schema's name in
/// the generated crate, the user's in `#[derive(Message)]`).
pub fn table(model: &Model, which: Which, name: &str) -> Table {
    let cx = Ctx::new(model, which);
    let mut out = format!(
        "::rltop_runtime::record! {{\n    {name}, {} bytes",
        cx.layout.size
    );
    if let Some(m) = cx.record.message {
        out += &format!(", message {:#04x}", m.type_code);
    }
    out += ";\n";
    for (fi, (f, fl)) in cx.record.fields.iter().zip(&cx.layout.fields).enumerate() {
        let since = (f.since > 1 && cx.is_message).then_some(f.since);
        if !f.is_reserved() {
            let mut doc = f.doc.clone();
            if let Some(v) = since {
                doc.push(String::new());
                doc.push(format!(
                    "`None` in messages older than protocol version {v}, which predate the field."
                ));
            }
            for line in doc {
                out += format!("    /// {line}").trim_end();
                out += "\n";
            }
        }
        let kind = field_kind(&cx, fi);
        out += &format!("    {} @ {}: {kind}", f.name, fl.offset);
        if let Some(v) = since {
            out += &format!(" since {v}");
        }
        out += ";\n";
    }
    out += "}\n";
    Table(out)
}

/// The `kind(arguments)` of field `fi` in a `record!` table.
fn field_kind(cx: &Ctx, fi: usize) -> String {
    let (f, fl) = (&cx.record.fields[fi], &cx.layout.fields[fi]);
    let set = format!("set_{}", f.name);
    let mut_name = format!("{}_mut", f.name);
    if f.is_reserved() {
        return "reserved()".into();
    }
    match (&f.ty, &fl.shape) {
        (Ty::Enum(_), Shape::Scalar(_)) => format!("enumeration({}, {set})", cx.value_ty(&f.ty)),
        (Ty::Flags(_), Shape::Scalar(_)) => format!("flags({}, {set})", cx.value_ty(&f.ty)),
        (_, Shape::Scalar(_)) => format!("int({}, {set})", cx.value_ty(&f.ty)),
        (Ty::Text(_), _) => format!("text({set})"),
        (_, shape) if shape.is_array_of_wide_ints() => {
            let (element, len, _) = shape.array().expect("an array");
            let p = element.scalar().expect("an array of integers");
            format!("ints([{}; {len}], {set})", p.name())
        }
        (_, shape) => {
            let stored = cx.storage(shape);
            match (cx.record.counter_of(fi), shape.array()) {
                (Some(ci), Some(_)) => format!(
                    "counted({stored}, {mut_name}, {}_used, {})",
                    f.name, cx.record.fields[ci].name
                ),
                _ => format!("record({stored}, {mut_name})"),
            }
        }
    }
}

fn leaf_read(leaf_offset: usize, p: Prim) -> TokenStream {
    let bytes = (0..p.size()).map(|k| {
        let i = usize_lit(leaf_offset + k);
        quote!(b[#i])
    });
    let t = prim(p);
    quote!(#t::from_le_bytes([#(#bytes),*]))
}

fn message_trait(cx: &Ctx, self_ty: &TokenStream) -> TokenStream {
    let m = cx.record.message.expect("a message");
    let name = &cx.record.name;
    let code = hex(m.type_code.into());
    let size = usize_lit(cx.layout.size);
    let header_ty = tokens(&cx.storage(&cx.layout.fields[0].shape));
    let version_at = cx.model.layout.header(&cx.model.framed).at.version;
    let mut checks = Vec::new();
    let mut fields = Vec::new();
    for leaf in &cx.layout.leaves {
        let (kind, check) = leaf_kind(cx, leaf, version_at);
        checks.extend(check);
        let (lp, at) = (&leaf.path, usize_lit(leaf.offset));
        let (lsize, since) = (usize_lit(leaf.size), usize_lit(leaf.since.into()));
        fields.push(quote!(F::new(#lp, #at, #lsize, #kind, #since)));
    }
    let body = if checks.is_empty() {
        quote!(let _ = base; Ok(()))
    } else {
        quote! {
            let b = ::rltop_runtime::bytemuck::bytes_of(self);
            #({ #checks })*
            Ok(())
        }
    };
    quote! {
        impl ::rltop_runtime::Message for #self_ty {
            const NAME: &'static str = #name;
            const TYPE_CODE: u8 = #code;
            const SIZE: usize = #size;
            const PROTOCOL: &'static ::rltop_runtime::Protocol = <#header_ty as ::rltop_runtime::Header>::PROTOCOL;
            const FIELDS: &'static [::rltop_runtime::Field] = {
                use ::rltop_runtime::{Field as F, FieldKind as K};
                &[#(#fields),*]
            };

            #[inline]
            fn validate(&self, base: usize) -> ::core::result::Result<(), ::rltop_runtime::DecodeError> {
                #body
            }
        }
    }
}

/// A leaf's entry in the field table (`K::…`) and the check `validate` makes of it, if any
/// (enumerations, counts and text are checked; a `since` leaf only in messages of that
/// version on, and an entry past its array's count not at all).
fn leaf_kind(cx: &Ctx, leaf: &Leaf, version_at: usize) -> (TokenStream, Option<TokenStream>) {
    let path = format!("{}.{}", cx.record.name, leaf.path);
    let at = usize_lit(leaf.offset);
    let version_at = usize_lit(version_at);
    let since = usize_lit(leaf.since.into());
    let since_guard = if leaf.since > 1 {
        quote!(b[#version_at] >= #since &&)
    } else {
        quote!()
    };
    // Entries past a counted array's count carry nothing (zero bytes) and are not checked.
    let guard = match cx.layout.counted_by(cx.record, leaf) {
        Some((count, index)) => {
            let LeafKind::Count { prim: cp, .. } = count.kind else {
                unreachable!("a count field's leaf is a count")
            };
            let read = leaf_read(count.offset, cp);
            let index = index as u64;
            quote!(#since_guard (#read as u64) > #index &&)
        }
        None => since_guard,
    };
    let mut check = None;
    let kind = match leaf.kind {
        LeafKind::Int(p) if p.signed() => quote!(K::SIGNED),
        LeafKind::Int(_) => quote!(K::UNSIGNED),
        LeafKind::Enum(e) => {
            let en = &cx.schema.enums[e];
            let read = leaf_read(leaf.offset, en.repr);
            let vals: Vec<_> = en.variants.iter().map(|v| int(v.value)).collect();
            check = Some(quote! {
                let v = #read;
                if #guard !matches!(v, #(#vals)|*) {
                    return Err(::rltop_runtime::DecodeError::BadEnum { offset: base + #at, field: #path, value: v as i64 });
                }
            });
            let ename = ident(&en.name);
            quote!(#ename::FIELD_KIND)
        }
        LeafKind::Flags(e) => {
            let fname = &cx.schema.flags[e].name;
            quote!(K::Flags { name: #fname })
        }
        LeafKind::Count { prim: p, max } => {
            let read = leaf_read(leaf.offset, p);
            let max = max as u64;
            check = Some(quote! {
                let v = #read as u64;
                if #guard v > #max {
                    return Err(::rltop_runtime::DecodeError::BadCount { offset: base + #at, field: #path, value: v, max: #max });
                }
            });
            let array = cx.record.fields[leaf.field]
                .count_of
                .map_or("", |array| cx.record.fields[array].name.as_str());
            quote!(K::Count { max: #max, array: #array })
        }
        LeafKind::Text => {
            let end = usize_lit(leaf.offset + leaf.size);
            check = Some(quote! {
                if #guard !::rltop_runtime::valid_ascii(&b[#at..#end]) {
                    return Err(::rltop_runtime::DecodeError::BadText { offset: base + #at, field: #path });
                }
            });
            quote!(K::Text)
        }
        LeafKind::Reserved => quote!(K::Reserved),
    };
    (kind, check)
}

/// The `rltop_runtime::Message` impl of a message; nothing for a struct.
pub fn message_impl(model: &Model, which: Which, self_ty: &TokenStream) -> TokenStream {
    let cx = Ctx::new(model, which);
    if cx.record.message.is_some() {
        message_trait(&cx, self_ty)
    } else {
        TokenStream::new()
    }
}

/// Everything but the declaration, as tokens: what `#[derive(rltop_derive::Message)]` emits
/// for a hand-written struct named `name`.
pub fn impls(model: &Model, which: Which, name: &proc_macro2::Ident) -> TokenStream {
    let mut out = table(model, which, &name.to_string()).tokens();
    out.extend(message_impl(model, which, &quote!(#name)));
    out
}
