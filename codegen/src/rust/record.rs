//! Structs and messages: the `#[repr(C, packed)]` declaration, and the impls that the
//! generated crate and `#[derive(rltop_derive::Message)]` share (accessors, `Debug`, size
//! and offset assertions, `rltop_runtime::Message`). Offsets come from the layout pass only.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{docs, hex, ident, int, prim, usize_lit};
use crate::layout::{LeafKind, RecordLayout, Shape};
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

    /// How a field is stored in the struct: multi-byte integers as the runtime's
    /// little-endian types, so a raw field cannot be misread as a native integer.
    fn storage(&self, shape: &Shape) -> TokenStream {
        match shape {
            Shape::Struct(s) => {
                let n = ident(&self.schema.structs[*s].name);
                quote!(#n)
            }
            Shape::Array { element, len, .. } => {
                let e = self.storage(element);
                let n = usize_lit(*len);
                quote!([#e; #n])
            }
            Shape::Text(n) | Shape::Reserved(n) => {
                let n = usize_lit(*n);
                quote!([u8; #n])
            }
            Shape::Scalar(p) => wire(*p),
        }
    }

    /// The type a scalar's getter returns (the alias name for aliases).
    fn value_ty(&self, ty: &Ty) -> TokenStream {
        match ty {
            Ty::Alias(a) => {
                let n = ident(&self.schema.aliases[*a].name);
                quote!(#n)
            }
            Ty::Enum(e) => {
                let n = ident(&self.schema.enums[*e].name);
                quote!(#n)
            }
            Ty::Flags(e) => {
                let n = ident(&self.schema.flags[*e].name);
                quote!(#n)
            }
            Ty::Prim(p) => prim(*p),
            other => unreachable!("{other:?} is not a scalar"),
        }
    }

    /// `self.header.version()`: the header's version accessor, for `since` fields.
    fn version_expr(&self) -> TokenStream {
        let hdr = ident(&self.record.fields[0].name);
        let h = self.schema.header();
        let v = ident(&h.fields[self.schema.protocol.roles.version].name);
        quote!(self.#hdr.#v())
    }
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
            m.type_code, cx.layout.size, cx.schema.channels[m.channel].name
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
        let ty = cx.storage(&fl.shape);
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

fn accessors(cx: &Ctx) -> TokenStream {
    let mut out = TokenStream::new();
    for (fi, (f, fl)) in cx.record.fields.iter().zip(&cx.layout.fields).enumerate() {
        if f.is_reserved() {
            continue;
        }
        let doc = docs(&f.doc);
        let fname = ident(&f.name);
        let set = ident(&format!("set_{}", f.name));
        let mut_name = ident(&format!("{}_mut", f.name));
        let stored = cx.storage(&fl.shape);
        let (ret, get) = match (&f.ty, &fl.shape) {
            (Ty::Enum(_), Shape::Scalar(p)) => {
                let e = cx.value_ty(&f.ty);
                let raw = load(*p, quote!(self.#fname));
                (
                    quote!(::core::result::Result<#e, ::rltop_runtime::InvalidEnum>),
                    quote!(#e::try_from(#raw)),
                )
            }
            (Ty::Flags(_), Shape::Scalar(p)) => {
                let e = cx.value_ty(&f.ty);
                let raw = load(*p, quote!(self.#fname));
                (e.clone(), quote!(#e::from_bits_retain(#raw)))
            }
            (_, Shape::Scalar(p)) => (cx.value_ty(&f.ty), load(*p, quote!(self.#fname))),
            (Ty::Text(_), _) => (
                quote!(&str),
                quote!(::rltop_runtime::ascii_str(&self.#fname)),
            ),
            (_, shape) if shape.is_array_of_wide_ints() => {
                let (element, len, _) = shape.array().expect("an array");
                let p = element.scalar().expect("an array of integers");
                let (native, wide) = (prim(p), wire(p));
                let len = usize_lit(len);
                (quote!([#native; #len]), quote!(self.#fname.map(#wide::get)))
            }
            _ => (quote!(&#stored), quote!(&self.#fname)),
        };
        let getter = if f.since > 1 && cx.is_message {
            let since = usize_lit(f.since.into());
            let v = cx.version_expr();
            let note = docs(&[String::new(), format!("`None` in messages older than protocol version {since}, which predate the field.")]);
            quote! {
                #doc #note
                #[inline]
                pub fn #fname(&self) -> ::core::option::Option<#ret> {
                    if #v >= #since { Some(#get) } else { None }
                }
            }
        } else {
            quote! {
                #doc
                #[inline]
                pub fn #fname(&self) -> #ret {
                    #get
                }
            }
        };
        out.extend(getter);
        let setter = match (&f.ty, &fl.shape) {
            (_, Shape::Scalar(p)) => {
                let v = cx.value_ty(&f.ty);
                let raw = match f.ty {
                    Ty::Enum(_) => {
                        let native = prim(*p);
                        quote!(#native::from(value))
                    }
                    Ty::Flags(_) => quote!(value.bits()),
                    _ => quote!(value),
                };
                let stored = store(*p, raw);
                quote! {
                    #[inline]
                    pub fn #set(&mut self, value: #v) {
                        self.#fname = #stored;
                    }
                }
            }
            (Ty::Text(_), _) => quote! {
                /// Writes printable ASCII, NUL padded; refuses text that is too long or not ASCII.
                pub fn #set(&mut self, value: &str) -> ::core::result::Result<(), ::rltop_runtime::TextError> {
                    ::rltop_runtime::set_ascii(&mut self.#fname, value)
                }
            },
            (_, shape) if shape.is_array_of_wide_ints() => {
                let (element, len, _) = shape.array().expect("an array");
                let p = element.scalar().expect("an array of integers");
                let (native, wide) = (prim(p), wire(p));
                let len = usize_lit(len);
                quote! {
                    #[inline]
                    pub fn #set(&mut self, value: [#native; #len]) {
                        self.#fname = value.map(#wide::new);
                    }
                }
            }
            _ => quote! {
                #[inline]
                pub fn #mut_name(&mut self) -> &mut #stored {
                    &mut self.#fname
                }
            },
        };
        out.extend(setter);
        if let (Some(ci), Some((element, len, _))) = (cx.record.counter_of(fi), fl.shape.array()) {
            if !fl.shape.is_array_of_wide_ints() {
                let count = &cx.record.fields[ci];
                let used = ident(&format!("{}_used", f.name));
                let cname = ident(&count.name);
                let et = cx.storage(element);
                let n = usize_lit(len);
                let doc = format!(
                    " The first `{}` entries of `{}` (never more than the array holds).",
                    count.name, f.name
                );
                out.extend(quote! {
                    #[doc = #doc]
                    #[inline]
                    pub fn #used(&self) -> &[#et] {
                        let n = (self.#cname() as usize).min(#n);
                        &self.#fname[..n]
                    }
                });
            }
        }
    }
    out
}

/// Reads a stored integer: wide ones through their byte-order type.
fn load(p: Prim, stored: TokenStream) -> TokenStream {
    if p.size() == 1 {
        stored
    } else {
        quote!(#stored.get())
    }
}

/// The stored form of a native integer.
fn store(p: Prim, value: TokenStream) -> TokenStream {
    if p.size() == 1 {
        value
    } else {
        let w = wire(p);
        quote!(#w::new(#value))
    }
}

/// The type a field of integer `p` is stored as.
fn wire(p: Prim) -> TokenStream {
    if p.size() == 1 {
        prim(p)
    } else {
        let name = ident(&p.name().to_uppercase());
        quote!(::rltop_runtime::le::#name)
    }
}

fn debug_impl(cx: &Ctx, self_ty: &TokenStream) -> TokenStream {
    let name = &cx.record.name;
    let fields = cx
        .record
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_reserved())
        .map(|(fi, f)| {
            let fname = ident(&f.name);
            let fstr = &f.name;
            let shape = &cx.layout.fields[fi].shape;
            let value = match &f.ty {
                Ty::Enum(_) if f.since > 1 => {
                    quote!(&self.#fname().map(::rltop_runtime::DebugEnum))
                }
                Ty::Enum(_) => quote!(&::rltop_runtime::DebugEnum(self.#fname())),
                Ty::Array(..) if cx.record.is_counted(fi) && !shape.is_array_of_wide_ints() => {
                    let used = ident(&format!("{}_used", f.name));
                    quote!(&self.#used())
                }
                _ => quote!(&self.#fname()),
            };
            quote!(.field(#fstr, #value))
        });
    quote! {
        impl ::core::fmt::Debug for #self_ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name)
                    #(#fields)*
                    .finish()
            }
        }
    }
}

fn layout_asserts(cx: &Ctx, self_ty: &TokenStream) -> TokenStream {
    let size = usize_lit(cx.layout.size);
    let offsets = cx
        .record
        .fields
        .iter()
        .zip(&cx.layout.fields)
        .map(|(f, fl)| {
            let fname = ident(&f.name);
            let off = usize_lit(fl.offset);
            quote!(assert!(::core::mem::offset_of!(#self_ty, #fname) == #off);)
        });
    quote! {
        // The layout pass's numbers, checked by rustc against the struct itself.
        const _: () = {
            assert!(::core::mem::size_of::<#self_ty>() == #size);
            #(#offsets)*
        };
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
    let header_ty = cx.storage(&cx.layout.fields[0].shape);
    let version_at = usize_lit(cx.model.layout.header(cx.schema).at.version);
    let mut checks = Vec::new();
    let mut fields = Vec::new();
    for leaf in &cx.layout.leaves {
        let path = format!("{name}.{}", leaf.path);
        let at = usize_lit(leaf.offset);
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
        let kind = match leaf.kind {
            LeafKind::Int(p) => {
                let signed = p.signed();
                quote!(K::Int { signed: #signed })
            }
            LeafKind::Enum(e) => {
                let en = &cx.schema.enums[e];
                let read = leaf_read(leaf.offset, en.repr);
                let vals: Vec<_> = en.variants.iter().map(|v| int(v.value)).collect();
                checks.push(quote! {
                    let v = #read;
                    if #guard !matches!(v, #(#vals)|*) {
                        return Err(::rltop_runtime::DecodeError::BadEnum { offset: base + #at, field: #path, value: v as i64 });
                    }
                });
                let ename = &en.name;
                let signed = en.repr.signed();
                let names = en.variants.iter().map(|v| v.name.as_str());
                quote!(K::Enum { name: #ename, values: &[#(#vals),*], names: &[#(#names),*], signed: #signed })
            }
            LeafKind::Flags(e) => {
                let fname = &cx.schema.flags[e].name;
                quote!(K::Flags { name: #fname })
            }
            LeafKind::Count { prim: p, max } => {
                let read = leaf_read(leaf.offset, p);
                let max = max as u64;
                checks.push(quote! {
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
                checks.push(quote! {
                    if #guard !::rltop_runtime::valid_ascii(&b[#at..#end]) {
                        return Err(::rltop_runtime::DecodeError::BadText { offset: base + #at, field: #path });
                    }
                });
                quote!(K::Text)
            }
            LeafKind::Reserved => quote!(K::Reserved),
        };
        let lp = &leaf.path;
        let lsize = usize_lit(leaf.size);
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

/// Everything but the declaration: what `#[derive(rltop_derive::Message)]` emits too.
pub fn impls(model: &Model, which: Which, self_ty: &TokenStream) -> TokenStream {
    let cx = Ctx::new(model, which);
    let accessors = accessors(&cx);
    let debug = debug_impl(&cx, self_ty);
    let asserts = layout_asserts(&cx, self_ty);
    let size = usize_lit(cx.layout.size);
    let (codec, trait_impl) = if let Some(m) = cx.record.message {
        let code = hex(m.type_code.into());
        let codec = quote! {
            /// Header type code.
            pub const TYPE_CODE: u8 = #code;

            /// Decodes a message of this type at the start of `buf`, checking length, magic,
            /// version, type, checksum and every field value. Never panics.
            #[inline]
            pub fn decode(buf: &[u8]) -> ::core::result::Result<&Self, ::rltop_runtime::DecodeError> {
                ::rltop_runtime::decode(buf)
            }

            /// Fills the header (magic, length, type, version, session, sequence,
            /// timestamp) and the checksum; returns the bytes to send.
            #[inline]
            pub fn encode(&mut self, session_id: u64, seq_num: u64, timestamp_ns: u64) -> &[u8] {
                ::rltop_runtime::finalize(self, session_id, seq_num, timestamp_ns)
            }
        };
        (codec, message_trait(&cx, self_ty))
    } else {
        (quote!(), quote!())
    };
    quote! {
        #asserts

        impl #self_ty {
            /// Size in bytes.
            pub const SIZE: usize = #size;
            #codec

            /// All bytes zero: set the fields, then encode.
            pub fn new() -> Self {
                ::rltop_runtime::bytemuck::Zeroable::zeroed()
            }

            /// The wire bytes.
            pub fn as_bytes(&self) -> &[u8] {
                ::rltop_runtime::bytemuck::bytes_of(self)
            }

            #accessors
        }

        impl ::core::default::Default for #self_ty {
            fn default() -> Self {
                Self::new()
            }
        }

        #debug
        #trait_impl
    }
}
