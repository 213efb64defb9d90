//! `from_json` for the crates of protocols not of RLTOP's shape: each message read from its
//! canonical JSON (conformance/README.md) through its own typed setters, and `encode_json`,
//! which picks the message by its `"type"` and returns its bytes.
//!
//! Policy: emitted in the crate form only, behind the crate's `json` feature (so
//! `serde_json` is paid for only by those who ask), and only for flat schemas with the type
//! code in the first byte, the shape the conformance vectors of such protocols take. Every
//! check is `rltop_runtime::json_read`'s; the code here only says which check each field gets.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::{ident, prim};
use crate::layout::{RecordLayout, Shape};
use crate::model::{Prim, Record, Schema, Ty};
use crate::Laid;

/// The `from_json` items of the crate, or nothing when the schema is not flat.
pub fn items(laid: &Laid) -> TokenStream {
    let s = &laid.schema;
    let flat = laid.flat_first_byte("from_json").is_ok()
        && s.messages
            .iter()
            .all(|r| r.fields.iter().all(|f| !matches!(f.ty, Ty::Array(..))));
    if !flat {
        return TokenStream::new();
    }
    let mut out = TokenStream::new();
    let mut arms = Vec::new();
    for (r, l) in s.messages.iter().zip(laid.layout.messages.iter()) {
        out.extend(message(s, r, l));
        let (name, ty) = (&r.name, ident(&r.name));
        arms.push(quote!(Some(#name) => #ty::from_json(json).map(|m| ::rltop_runtime::bytemuck::bytes_of(&m).to_vec()),));
    }
    out.extend(quote! {
        /// The bytes of the message `json` gives in canonical JSON, chosen by its `"type"`;
        /// the error names the field at fault.
        #[cfg(feature = "json")]
        pub fn encode_json(json: &::rltop_runtime::serde_json::Value) -> ::core::result::Result<::std::vec::Vec<u8>, ::rltop_runtime::json_read::JsonError> {
            match json.get("type").and_then(::rltop_runtime::serde_json::Value::as_str) {
                #(#arms)*
                other => Err(::rltop_runtime::json_read::JsonError {
                    field: "type".into(),
                    reason: ::std::format!("no message named {other:?}"),
                }),
            }
        }
    });
    out
}

fn message(s: &Schema, r: &Record, l: &RecordLayout) -> TokenStream {
    let (ty, name) = (ident(&r.name), &r.name);
    let keys = r
        .fields
        .iter()
        .filter(|f| !f.is_reserved())
        .map(|f| f.name.as_str());
    let sets = r.fields.iter().zip(&l.fields).filter_map(|(f, fl)| {
        let (field, set) = (f.name.as_str(), format_ident!("set_{}", f.name));
        Some(match (&f.ty, &fl.shape) {
            (Ty::Reserved(_), _) => return None,
            (Ty::Enum(e), _) => {
                let en = &s.enums[*e];
                let (en_ty, en_name) = (ident(&en.name), &en.name);
                let arms = en.variants.iter().map(|v| {
                    let (vn, vi) = (&v.name, ident(&v.name));
                    quote!(#vn => #en_ty::#vi,)
                });
                quote! {
                    m.#set(match o.name(#field)? {
                        #(#arms)*
                        other => return Err(o.not_a_variant(#field, other, #en_name)),
                    });
                }
            }
            (Ty::Flags(e), Shape::Scalar(p)) => {
                let (fl_ty, bits, pty) = (ident(&s.flags[*e].name), bits(*p), prim(*p));
                quote!(m.#set(#fl_ty::from_bits_retain(o.int(#field, #bits, false)? as #pty));)
            }
            (_, Shape::Scalar(p)) if fl.offset == 0 => {
                let is_char = *p == Prim::Char;
                quote!(o.type_code(#field, Self::TYPE_CODE, #is_char)?;)
            }
            (_, Shape::Scalar(Prim::Char)) => quote!(m.#set(o.char(#field)?);),
            (ty, Shape::Scalar(p)) => {
                let (bits, signed, pty) = (bits(*p), p.signed(), prim(*p));
                let read = match ty {
                    Ty::Alias(a) if s.aliases[*a].scale.is_some() => {
                        let k =
                            proc_macro2::Literal::u8_unsuffixed(s.aliases[*a].scale.unwrap_or(0));
                        quote!(o.decimal(#field, #bits, #signed, #k)?)
                    }
                    _ => quote!(o.int(#field, #bits, #signed)?),
                };
                if p.size() == 1 || p.is_native() {
                    quote!(m.#set(#read as #pty);)
                } else {
                    quote!(o.set(#field, m.#set(#read as #pty))?;)
                }
            }
            (Ty::Text(_), _) => quote!(o.set(#field, m.#set(o.text(#field)?))?;),
            (ty, shape) => unreachable!("a flat schema has no {ty:?} laid out as {shape:?}"),
        })
    });
    quote! {
        #[cfg(feature = "json")]
        impl #ty {
            /// The message from its canonical JSON (conformance/README.md): every field
            /// present and no other key, each value checked against its field's type.
            pub fn from_json(json: &::rltop_runtime::serde_json::Value) -> ::core::result::Result<Self, ::rltop_runtime::json_read::JsonError> {
                let o = ::rltop_runtime::json_read::Object::new(json, #name, &[#(#keys),*])?;
                let mut m = Self::new();
                #(#sets)*
                Ok(m)
            }
        }
    }
}

/// A width in bits, as an unsuffixed literal.
fn bits(p: Prim) -> proc_macro2::Literal {
    proc_macro2::Literal::u32_unsuffixed(8 * p.size() as u32)
}
