//! The Rust backend for protocols not of RLTOP's shape: a venue feed such as NASDAQ ITCH, big-
//! or little-endian, its type code a byte at a fixed place, no header roles, magic, version
//! or checksum required, framed as the schema says (back to back, MoldUDP64 or SoupBinTCP).
//!
//! The generated crate has the same parts as RLTOP's, written out here rather than through
//! the runtime's `record!` and `Message` (which assume RLTOP's header):
//! * each record a `#[repr(C, packed)]` struct of the runtime's `le::`/`be::` integers (24- and
//!   48-bit ones included), byte arrays for text, with the layout pass's size and offsets
//!   asserted at compile time;
//! * typed accessors: integers as the next native width (setters of 24/48-bit fields refuse
//!   what does not fit), enumerations as `Result<Enum, InvalidEnum>`, text up to its padding;
//! * for a message, `TYPE_CODE`, `decode` (the runtime's [`fixed`] checks, then every field
//!   value: enumerations, text, characters, counts), and `new` with the type code and
//!   padding already written;
//! * `Message<'a>`, dispatching on the type code, and the framing's iterator.
//!
//! Offsets come from the layout pass only.
//!
//! [`fixed`]: https://docs.rs/rltop-runtime/latest/rltop_runtime/fixed/

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::{docs, ident, prim, screaming, usize_lit, value};
use super::{types, Form};
use crate::banner::Banner;
use crate::layout::{Leaf, LeafKind, RecordLayout, Shape};
use crate::model::{ByteOrder, Framing, Padding, Prim, Record, Schema, Ty, TypeCodeAt};
use crate::Laid;

/// The crate's `lib.rs` ([`Form::Crate`]) or items to `include!` in a module ([`Form::Module`]).
pub fn lib_rs(laid: &Laid, banner: &Banner, form: Form) -> Result<String, String> {
    let s = &laid.schema;
    let mut tokens = match form {
        Form::Crate => crate_attributes(s),
        Form::Module => quote!(
            pub use ::rltop_runtime as runtime;
        ),
    };
    tokens.extend(items(laid)?);
    if form == Form::Crate {
        tokens.extend(super::from_json::items(laid));
    }
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    Ok(format!(
        "{}\n{}",
        banner.rust_comment(&s.protocol.name),
        prettyplease::unparse(&file)
    ))
}

/// Every item of the crate, without crate-level attributes: what `include_schema!` expands to.
pub fn items(laid: &Laid) -> Result<TokenStream, String> {
    let s = &laid.schema;
    let type_code_at = type_code_const(laid)?;
    let mut items = quote! {
        pub use ::rltop_runtime::{DecodeError, InvalidEnum, OutOfRange, TextError};

        #type_code_at
    };
    items.extend(s.aliases.iter().map(alias));
    items.extend(s.enums.iter().map(types::enumeration));
    items.extend(s.flags.iter().map(types::flags));
    for (r, l) in s.structs.iter().zip(laid.layout.structs.iter()) {
        items.extend(record(s, r, l));
    }
    for (r, l) in s.messages.iter().zip(laid.layout.messages.iter()) {
        items.extend(record(s, r, l));
    }
    items.extend(dispatch(laid));
    items.extend(framing(s.protocol.framing));
    Ok(items)
}

/// `TYPE_CODE_AT`, which every message's `new` and `decode` read: where the protocol keeps
/// its type code.
pub fn type_code_const(laid: &Laid) -> Result<TokenStream, String> {
    let at = type_code_offset(laid)?;
    Ok(quote! {
        /// Where every message keeps its type code.
        pub const TYPE_CODE_AT: ::rltop_runtime::fixed::TypeCode =
            ::rltop_runtime::fixed::TypeCode { offset: #at };
    })
}

/// Where the type code sits: the first byte, or the header's `type` field.
fn type_code_offset(laid: &Laid) -> Result<proc_macro2::Literal, String> {
    let p = &laid.schema.protocol;
    let offset = match (p.type_code, &p.header) {
        (TypeCodeAt::FirstByte { .. }, _) => 0,
        (TypeCodeAt::Header, Some(h)) => {
            let role = h
                .roles
                .msg_type
                .ok_or_else(|| format!("protocol `{}`: its header has no `type` field", p.name))?;
            // The header is every message's first field, so its offsets are the message's.
            laid.layout.structs[h.id].fields[role].offset
        }
        (TypeCodeAt::Header, None) => {
            return Err(format!(
                "protocol `{}`: no header and no `type_code`: where is the type?",
                p.name
            ))
        }
    };
    Ok(usize_lit(offset))
}

fn crate_attributes(s: &Schema) -> TokenStream {
    let mut lines = s.protocol.doc.clone();
    lines.push(String::new());
    lines.push(format!(
        "Generated from the schema: {} message types, {}-endian, framing {}.",
        s.messages.len(),
        s.protocol.byte_order.name(),
        s.protocol.framing.name()
    ));
    lines.push(
        "Decode with [`Message::decode`] or a type's own `decode`; encode by setting fields on"
            .into(),
    );
    lines.push("`T::new()` and sending `as_bytes()`.".into());
    let lines = lines.iter().map(|l| format!(" {l}"));
    quote! {
        #(#![doc = #lines])*
        #![forbid(unsafe_code)]
        #![cfg_attr(rustfmt, rustfmt::skip)]
        #![allow(clippy::len_without_is_empty, clippy::new_without_default, clippy::manual_range_patterns)]

        pub use ::rltop_runtime as runtime;
    }
}

/// An alias, with its scale as a constant beside it when it has one.
fn alias(a: &crate::model::Alias) -> TokenStream {
    let mut out = types::alias(a);
    if let Some(scale) = a.scale {
        let name = format_ident!("{}_SCALE", screaming(&a.name));
        let doc = format!(
            " Implied decimal places of [`{}`]: the value is the integer × 10^-{scale}.",
            a.name
        );
        let scale = proc_macro2::Literal::u32_unsuffixed(scale.into());
        out.extend(quote!(#[doc = #doc] pub const #name: u32 = #scale;));
    }
    out
}

/// The stored type of a field's bytes: the runtime's byte-ordered integers, byte arrays for
/// text, nested structs by name. A hand-written struct deriving `Message` from a schema must
/// declare the same (the derive checks it).
pub fn storage(s: &Schema, shape: &Shape, order: ByteOrder) -> TokenStream {
    match shape {
        Shape::Struct(id) => {
            let name = ident(&s.structs[*id].name);
            quote!(#name)
        }
        Shape::Array { element, len, .. } => {
            let element = storage(s, element, order);
            let len = usize_lit(*len);
            quote!([#element; #len])
        }
        Shape::Text(n) | Shape::Reserved(n) => {
            let n = usize_lit(*n);
            quote!([u8; #n])
        }
        Shape::Scalar(p) if p.size() == 1 => prim(*p),
        Shape::Scalar(p) => storage_of(*p, order),
    }
}

/// How a scalar's stored form turns into its value, and back.
fn read(p: Prim, stored: TokenStream) -> TokenStream {
    if p.size() == 1 {
        stored
    } else {
        quote!(#stored.get())
    }
}

fn record(s: &Schema, r: &Record, l: &RecordLayout) -> TokenStream {
    let name = ident(&r.name);
    let mut doc = r.doc.clone();
    if let Some(m) = r.message {
        if !doc.is_empty() {
            doc.push(String::new());
        }
        let code = if m.char_code {
            format!("`'{}'`", char::from(m.type_code))
        } else {
            format!("`{:#04x}`", m.type_code)
        };
        doc.push(format!("Type {code}, {} bytes.", l.size));
    }
    let doc = docs(&doc);
    let fields = r.fields.iter().zip(&l.fields).map(|(f, fl)| {
        let (fname, fdoc, ty) = (ident(&f.name), docs(&f.doc), storage(s, &fl.shape, f.order));
        quote!(#fdoc pub #fname: #ty,)
    });
    let impls = record_impls(s, r, l, &name);
    quote! {
        #doc
        #[derive(Clone, Copy, ::rltop_runtime::bytemuck::Pod, ::rltop_runtime::bytemuck::Zeroable)]
        #[bytemuck(crate = "::rltop_runtime::bytemuck")]
        #[repr(C, packed)]
        pub struct #name {
            #(#fields)*
        }

        #impls
    }
}

/// Everything of a record but its struct: the layout's sizes and offsets asserted against
/// the struct named `name`, its accessors, and for a message its type code, `new`, `decode`,
/// `validate` and canonical JSON. The generated crate puts it after its own struct;
/// `#[derive(Message)]` after a hand-written one.
pub fn record_impls(
    s: &Schema,
    r: &Record,
    l: &RecordLayout,
    name: &proc_macro2::Ident,
) -> TokenStream {
    let size = usize_lit(l.size);
    let mut offsets = Vec::new();
    let mut accessors = Vec::new();
    let mut debug = Vec::new();
    let mut json = Vec::new();
    for (fi, (f, fl)) in r.fields.iter().zip(&l.fields).enumerate() {
        let fname = ident(&f.name);
        let at = usize_lit(fl.offset);
        offsets.push(quote!(::core::assert!(::core::mem::offset_of!(#name, #fname) == #at);));
        if !f.is_reserved() {
            let key = format!("\"{}\":", f.name);
            let value = json_value(
                s,
                &f.ty,
                &fl.shape,
                quote!(self.#fname()),
                quote!(self.#fname),
            );
            let comma = (!json.is_empty() || r.message.is_some()).then(|| quote!(out.push(',');));
            json.push(quote!(#comma out.push_str(#key); #value));
            accessors.push(accessor(s, r, l, fi));
            let label = &f.name;
            debug.push(match f.ty {
                Ty::Enum(_) => {
                    quote!(out.field(#label, &::rltop_runtime::DebugEnum(self.#fname()));)
                }
                _ => quote!(out.field(#label, &self.#fname());),
            });
        }
    }
    let message = r.message.map(|_| message_items(s, r, l));
    let label = &r.name;
    let type_key = r.message.map(|_| {
        let key = format!("\"type\":\"{}\"", r.name);
        quote!(out.push_str(#key);)
    });
    quote! {
        // The layout pass's numbers, checked by rustc against the struct itself.
        const _: () = {
            ::core::assert!(::core::mem::size_of::<#name>() == #size);
            #(#offsets)*
        };

        impl #name {
            /// Size in bytes.
            pub const SIZE: usize = #size;

            /// The wire bytes.
            pub fn as_bytes(&self) -> &[u8] {
                ::rltop_runtime::bytemuck::bytes_of(self)
            }

            #message

            /// The record as one line of canonical JSON: every field but reserved bytes, in
            /// schema order; enumerations by name, scaled values and 64-bit integers as
            /// decimal strings, text escaped.
            pub fn to_json(&self) -> ::std::string::String {
                let mut out = ::std::string::String::new();
                self.write_json(&mut out);
                out
            }

            /// [`Self::to_json`], appended to `out`.
            pub fn write_json(&self, out: &mut ::std::string::String) {
                #[allow(unused_imports)]
                use ::core::fmt::Write as _;
                out.push('{');
                #type_key
                #(#json)*
                out.push('}');
            }

            #(#accessors)*
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut out = f.debug_struct(#label);
                #(#debug)*
                out.finish()
            }
        }
    }
}

/// Appends a field's canonical JSON value to `out`: `get` reads it through its getter,
/// `stored` is the struct member (for nested records and arrays).
fn json_value(
    s: &Schema,
    ty: &Ty,
    shape: &Shape,
    get: TokenStream,
    stored: TokenStream,
) -> TokenStream {
    match (ty, shape) {
        (Ty::Enum(_), Shape::Scalar(_)) => quote! {
            match #get {
                Ok(v) => ::rltop_runtime::push_json_string(out, v.name()),
                Err(e) => { let _ = write!(out, "{}", e.value); }
            }
        },
        (Ty::Flags(_), Shape::Scalar(_)) => quote!({
            let _ = write!(out, "{}", #get.bits());
        }),
        (Ty::Alias(a), Shape::Scalar(_)) if s.aliases[*a].scale.is_some() => {
            let scale = u32::from(s.aliases[*a].scale.unwrap_or(0));
            quote!(::rltop_runtime::push_decimal(out, i128::from(#get), #scale);)
        }
        (_, Shape::Scalar(Prim::Char)) => quote! {
            ::rltop_runtime::push_json_string(out, char::from(#get).encode_utf8(&mut [0; 4]));
        },
        (_, Shape::Scalar(Prim::U64 | Prim::I64)) => quote!({
            let _ = write!(out, "\"{}\"", #get);
        }),
        (_, Shape::Scalar(_)) => quote!({
            let _ = write!(out, "{}", #get);
        }),
        (Ty::Text(_), _) => quote!(::rltop_runtime::push_json_string(out, #get);),
        (_, Shape::Struct(_)) => quote!({ let v = #stored; v.write_json(out); }),
        (Ty::Array(element, _), Shape::Array { element: es, .. }) => {
            let item = match es.as_ref() {
                Shape::Struct(_) => quote!(e.write_json(out);),
                Shape::Scalar(p) => {
                    let v = read(*p, quote!(e));
                    json_value(s, element, es, v, quote!(e))
                }
                _ => quote!({
                    let _ = write!(out, "{:?}", e);
                }),
            };
            quote! {
                out.push('[');
                let all = #stored;
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    #item
                }
                out.push(']');
            }
        }
        (ty, shape) => unreachable!("the layout pass gives {ty:?} no shape {shape:?}"),
    }
}

/// The getter and setter of field `fi`.
fn accessor(s: &Schema, r: &Record, l: &RecordLayout, fi: usize) -> TokenStream {
    let (f, fl) = (&r.fields[fi], &l.fields[fi]);
    let fname = ident(&f.name);
    let set = format_ident!("set_{}", f.name);
    let doc = docs(&f.doc);
    let stored = quote!(self.#fname);
    match (&f.ty, &fl.shape) {
        (Ty::Enum(e), Shape::Scalar(p)) => {
            let en = ident(&s.enums[*e].name);
            let get = read(*p, stored);
            let put = write(*p, &fname, quote!(value.value()));
            quote! {
                #doc
                pub fn #fname(&self) -> ::core::result::Result<#en, ::rltop_runtime::InvalidEnum> {
                    #en::try_from(#get)
                }
                pub fn #set(&mut self, value: #en) #put
            }
        }
        (Ty::Flags(e), Shape::Scalar(p)) => {
            let fl = ident(&s.flags[*e].name);
            let get = read(*p, stored);
            let put = write(*p, &fname, quote!(value.bits()));
            quote! {
                #doc
                pub fn #fname(&self) -> #fl {
                    #fl::from_bits_retain(#get)
                }
                pub fn #set(&mut self, value: #fl) #put
            }
        }
        (_, Shape::Scalar(p)) => {
            let ty = match &f.ty {
                Ty::Alias(a) => {
                    let a = ident(&s.aliases[*a].name);
                    quote!(#a)
                }
                _ => prim(*p),
            };
            let get = read(*p, stored);
            let put = write(*p, &fname, quote!(value));
            quote! {
                #doc
                pub fn #fname(&self) -> #ty {
                    #get
                }
                pub fn #set(&mut self, value: #ty) #put
            }
        }
        (Ty::Text(_), _) => {
            let (get, put) = match f.pad {
                Padding::Nul => (quote!(ascii_str), quote!(set_ascii)),
                Padding::Space => (quote!(alpha_str), quote!(set_alpha)),
            };
            quote! {
                #doc
                /// The text up to its padding.
                pub fn #fname(&self) -> &str {
                    ::rltop_runtime::#get(&self.#fname)
                }
                /// Writes `value` and its padding; refuses text that is too long or not
                /// printable ASCII, leaving the field as it was.
                pub fn #set(&mut self, value: &str) -> ::core::result::Result<(), ::rltop_runtime::TextError> {
                    ::rltop_runtime::#put(&mut self.#fname, value)
                }
            }
        }
        (_, shape) => {
            let ty = storage(s, shape, f.order);
            let mutable = format_ident!("{}_mut", f.name);
            quote! {
                #doc
                pub fn #fname(&self) -> &#ty {
                    &self.#fname
                }
                pub fn #mutable(&mut self) -> &mut #ty {
                    &mut self.#fname
                }
            }
        }
    }
}

/// A setter's signature tail and body: infallible, or refusing what a 24/48-bit field cannot
/// hold.
fn write(p: Prim, field: &proc_macro2::Ident, value: TokenStream) -> TokenStream {
    if p.size() == 1 {
        quote!({ self.#field = #value; })
    } else if p.is_native() {
        quote!({ self.#field.set(#value); })
    } else {
        quote!(-> ::core::result::Result<(), ::rltop_runtime::OutOfRange> {
            self.#field.set(#value)
        })
    }
}

/// A message's `TYPE_CODE`, `new`, `decode` and `validate`.
fn message_items(s: &Schema, r: &Record, l: &RecordLayout) -> TokenStream {
    let m = r.message.expect("a message");
    let code = value(
        if m.char_code { Prim::Char } else { Prim::U8 },
        m.type_code.into(),
    );
    let mut fills = Vec::new();
    let mut checks = Vec::new();
    for leaf in &l.leaves {
        let (at, end) = (usize_lit(leaf.offset), usize_lit(leaf.offset + leaf.size));
        let blank = matches!(leaf.kind, LeafKind::Int(Prim::Char))
            || (leaf.kind == LeafKind::Text && leaf.pad == Padding::Space);
        if blank {
            fills.push(quote!(b[#at..#end].fill(b' ');));
        }
        checks.extend(check(s, r, l, leaf));
    }
    quote! {
        /// The type code.
        pub const TYPE_CODE: u8 = #code;

        /// A message of this type: its type code set, characters and space-padded text as
        /// spaces, everything else zero. Set the fields, then send [`Self::as_bytes`].
        pub fn new() -> Self {
            let mut m: Self = ::rltop_runtime::bytemuck::Zeroable::zeroed();
            let b = ::rltop_runtime::bytemuck::bytes_of_mut(&mut m);
            #(#fills)*
            b[TYPE_CODE_AT.offset] = Self::TYPE_CODE;
            m
        }

        /// Decodes `buf`, which must be exactly one message of this type, checking every
        /// field value. Never panics.
        #[inline]
        pub fn decode(buf: &[u8]) -> ::core::result::Result<&Self, ::rltop_runtime::DecodeError> {
            Self::decode_at(buf, 0)
        }

        /// [`Self::decode`] for a message at `base` within a larger buffer; error offsets
        /// count from that buffer's start.
        #[inline]
        pub fn decode_at(buf: &[u8], base: usize) -> ::core::result::Result<&Self, ::rltop_runtime::DecodeError> {
            let m: &Self = ::rltop_runtime::fixed::view(buf, base, TYPE_CODE_AT, Self::TYPE_CODE)?;
            m.validate(base)?;
            Ok(m)
        }

        /// Checks every field's value (enumerations, counts, text, characters); `base` is
        /// the message's offset for the error.
        pub fn validate(&self, base: usize) -> ::core::result::Result<(), ::rltop_runtime::DecodeError> {
            let b = ::rltop_runtime::bytemuck::bytes_of(self);
            let _ = (b, base);
            #(#checks)*
            Ok(())
        }
    }
}

/// Reads a leaf's value from the message bytes `b`.
fn leaf_value(p: Prim, offset: usize, order: ByteOrder) -> TokenStream {
    if p.size() == 1 {
        let i = usize_lit(offset);
        return if p.signed() {
            quote!(b[#i] as i8)
        } else {
            quote!(b[#i])
        };
    }
    let bytes = (0..p.size()).map(|k| {
        let i = usize_lit(offset + k);
        quote!(b[#i])
    });
    let stored = storage_of(p, order);
    quote!(#stored::from_bytes([#(#bytes),*]).get())
}

fn storage_of(p: Prim, order: ByteOrder) -> TokenStream {
    let module = match order {
        ByteOrder::Little => quote!(le),
        ByteOrder::Big => quote!(be),
    };
    let ty = ident(&p.name().to_uppercase());
    quote!(::rltop_runtime::#module::#ty)
}

/// What `validate` checks of a leaf, if anything. An entry past its counted array's count
/// carries nothing and is not checked.
fn check(s: &Schema, r: &Record, l: &RecordLayout, leaf: &Leaf) -> Option<TokenStream> {
    let path = format!("{}.{}", r.name, leaf.path);
    let at = usize_lit(leaf.offset);
    let offset = if leaf.offset == 0 {
        quote!(base)
    } else {
        quote!(base + #at)
    };
    let end = usize_lit(leaf.offset + leaf.size);
    let guard = match l.counted_by(r, leaf) {
        Some((count, index)) => {
            let LeafKind::Count { prim: cp, .. } = count.kind else {
                unreachable!("a count field's leaf is a count")
            };
            let read = leaf_value(cp, count.offset, count.order);
            let index = index as u64;
            quote!((#read as u64) > #index &&)
        }
        None => quote!(),
    };
    let body = match leaf.kind {
        LeafKind::Enum(e) => {
            let en = &s.enums[e];
            let read = leaf_value(en.repr, leaf.offset, leaf.order);
            let vals = en.variants.iter().map(|v| value(en.repr, v.value));
            quote! {
                let v = #read;
                if #guard !matches!(v, #(#vals)|*) {
                    return Err(::rltop_runtime::DecodeError::BadEnum { offset: #offset, field: #path, value: v as i64 });
                }
            }
        }
        LeafKind::Count { prim: p, max } => {
            let read = leaf_value(p, leaf.offset, leaf.order);
            let max = max as u64;
            quote! {
                let v = #read as u64;
                if #guard v > #max {
                    return Err(::rltop_runtime::DecodeError::BadCount { offset: #offset, field: #path, value: v, max: #max });
                }
            }
        }
        LeafKind::Text | LeafKind::Int(Prim::Char) => {
            let valid = match (leaf.kind, leaf.pad) {
                (LeafKind::Text, Padding::Nul) => quote!(valid_ascii),
                _ => quote!(valid_alpha),
            };
            quote! {
                if #guard !::rltop_runtime::#valid(&b[#at..#end]) {
                    return Err(::rltop_runtime::DecodeError::BadText { offset: #offset, field: #path });
                }
            }
        }
        LeafKind::Int(_) | LeafKind::Flags(_) | LeafKind::Reserved => return None,
    };
    Some(quote!({ #body }))
}

/// `Message<'a>`: any message, decoded by its type code.
fn dispatch(laid: &Laid) -> TokenStream {
    let s = &laid.schema;
    let names: Vec<_> = s.messages.iter().map(|m| ident(&m.name)).collect();
    let labels: Vec<_> = s.messages.iter().map(|m| m.name.as_str()).collect();
    let firsts = s
        .messages
        .iter()
        .map(|m| docs(&m.doc.iter().take(1).cloned().collect::<Vec<_>>()));
    let size = laid.layout.messages.iter().map(|l| usize_lit(l.size));
    quote! {
        /// Any message of the protocol, borrowed from the buffer it was decoded from.
        #[derive(Debug, Clone, Copy)]
        pub enum Message<'a> {
            #(#firsts #names(&'a #names),)*
        }

        impl<'a> Message<'a> {
            /// Decodes `buf`, one whole message of any type. Never panics.
            #[inline]
            pub fn decode(buf: &'a [u8]) -> ::core::result::Result<Self, ::rltop_runtime::DecodeError> {
                Self::decode_at(buf, 0)
            }

            /// [`Message::decode`] for a message at `base` within a larger buffer; error
            /// offsets count from that buffer's start.
            #[inline]
            pub fn decode_at(buf: &'a [u8], base: usize) -> ::core::result::Result<Self, ::rltop_runtime::DecodeError> {
                match TYPE_CODE_AT.read(buf, base)? {
                    #(#names::TYPE_CODE => #names::decode_at(buf, base).map(Self::#names),)*
                    code => Err(::rltop_runtime::DecodeError::UnknownType {
                        offset: base + TYPE_CODE_AT.offset,
                        msg_type: code,
                        length: u16::try_from(buf.len()).unwrap_or(u16::MAX),
                    }),
                }
            }

            /// The size of messages of type `code`, if the protocol has that type.
            pub const fn size_of_type(code: u8) -> Option<usize> {
                match code {
                    #(#names::TYPE_CODE => Some(#size),)*
                    _ => None,
                }
            }

            /// The message's canonical JSON line (each type's `to_json`).
            pub fn to_json(&self) -> ::std::string::String {
                match self {
                    #(Self::#names(m) => m.to_json(),)*
                }
            }

            /// The message's name in the schema.
            pub fn name(&self) -> &'static str {
                match self {
                    #(Self::#names(_) => #labels,)*
                }
            }

            /// The type code.
            pub fn type_code(&self) -> u8 {
                match self {
                    #(Self::#names(_) => #names::TYPE_CODE,)*
                }
            }

            /// The message's bytes.
            pub fn as_bytes(&self) -> &'a [u8] {
                match self {
                    #(Self::#names(m) => ::rltop_runtime::bytemuck::bytes_of(*m),)*
                }
            }
        }
    }
}

/// The framing's entry point over [`Message`].
fn framing(framing: Framing) -> TokenStream {
    match framing {
        Framing::Packed => quote! {
            /// The messages of `buf`, back to back, each as long as its type: each item a
            /// message or the error that ends the walk (an unknown type's length is unknown).
            pub fn messages(buf: &[u8]) -> impl Iterator<Item = ::core::result::Result<Message<'_>, ::rltop_runtime::DecodeError>> {
                let mut pos = 0;
                ::core::iter::from_fn(move || {
                    let rest = buf.get(pos..).filter(|r| !r.is_empty())?;
                    let item = TYPE_CODE_AT.read(rest, pos).and_then(|code| {
                        let size = Message::size_of_type(code).unwrap_or(rest.len());
                        let one = rest.get(..size).unwrap_or(rest);
                        Message::decode_at(one, pos)
                    });
                    pos = match &item {
                        Ok(m) => pos + m.as_bytes().len(),
                        Err(_) => buf.len(),
                    };
                    Some(item)
                })
            }
        },
        Framing::MoldUdp64 => quote! {
            /// A message of a MoldUDP64 packet with its sequence number, or why its block
            /// yielded none.
            pub type Sequenced<'a> = ::core::result::Result<(u64, Message<'a>), ::rltop_runtime::moldudp64::BlockError>;

            /// The messages of one MoldUDP64 packet with their sequence numbers, after its
            /// header; see [`::rltop_runtime::moldudp64`]. A framing error ends the walk; a
            /// message that does not decode is reported and the walk goes on (its block's
            /// length says where the next starts).
            pub fn packet(datagram: &[u8]) -> ::core::result::Result<
                (::rltop_runtime::moldudp64::Header, impl Iterator<Item = Sequenced<'_>>),
                ::rltop_runtime::moldudp64::FrameError,
            > {
                let packet = ::rltop_runtime::moldudp64::parse(datagram)?;
                let blocks = packet.messages().map(|block| {
                    let block = block.map_err(::rltop_runtime::moldudp64::BlockError::Frame)?;
                    Message::decode_at(block.message, block.offset)
                        .map(|m| (block.sequence, m))
                        .map_err(|error| ::rltop_runtime::moldudp64::BlockError::Decode { sequence: block.sequence, error })
                });
                Ok((packet.header, blocks))
            }
        },
        Framing::SoupBinTcp => quote! {
            /// The message a SoupBinTCP sequenced (`S`) or unsequenced (`U`) data packet
            /// carries; `None` for the session's other packets. See
            /// [`::rltop_runtime::soupbintcp`] for reading packets off the stream.
            pub fn soup_message<'a>(packet: &::rltop_runtime::soupbintcp::Packet<'a>) -> Option<::core::result::Result<Message<'a>, ::rltop_runtime::DecodeError>> {
                use ::rltop_runtime::soupbintcp::Kind;
                match packet.kind {
                    Kind::SequencedData | Kind::UnsequencedData => Some(Message::decode_at(packet.payload, packet.offset + 3)),
                    _ => None,
                }
            }
        },
    }
}
