//! Identifier and literal helpers shared by the Rust emitters.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::Prim;

pub fn ident(name: &str) -> proc_macro2::Ident {
    format_ident!("{}", name)
}

pub use crate::case::screaming;

/// The Rust type a value of `p` is read as: itself for the native widths, the next width up
/// for 24 and 48 bits, `u8` for a character.
pub fn prim(p: Prim) -> TokenStream {
    let id = ident(native(p));
    quote!(#id)
}

/// [`prim`]'s type, as text.
pub fn native(p: Prim) -> &'static str {
    match p {
        Prim::U24 => "u32",
        Prim::U48 => "u64",
        Prim::I24 => "i32",
        Prim::I48 => "i64",
        Prim::Char => "u8",
        other => other.name(),
    }
}

/// A value of `p` as a literal: `b'A'` for a character, the number otherwise.
pub fn value(p: Prim, v: i64) -> TokenStream {
    match u8::try_from(v) {
        Ok(c) if p == Prim::Char => {
            let lit = Literal::byte_character(c);
            quote!(#lit)
        }
        _ => int(v),
    }
}

/// `0x78`, for type codes and magic numbers.
pub fn hex(v: u64) -> TokenStream {
    let lit: syn::LitInt = syn::parse_str(&format!("{v:#x}")).expect("hex literal");
    quote!(#lit)
}

pub fn int(v: i64) -> TokenStream {
    if v < 0 {
        let lit = Literal::u64_unsuffixed(v.unsigned_abs());
        quote!(-#lit)
    } else {
        let lit = Literal::u64_unsuffixed(v as u64);
        quote!(#lit)
    }
}

pub fn usize_lit(v: usize) -> Literal {
    Literal::usize_unsuffixed(v)
}

/// `#[doc = "..."]` attributes, one per schema doc line.
pub fn docs(lines: &[String]) -> TokenStream {
    let lines = lines.iter().map(|l| format!(" {l}"));
    quote!(#(#[doc = #lines])*)
}
