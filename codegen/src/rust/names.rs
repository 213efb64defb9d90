//! Identifier and literal helpers shared by the Rust emitters.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::Prim;

pub fn ident(name: &str) -> proc_macro2::Ident {
    format_ident!("{}", name)
}

pub use crate::case::screaming;

pub fn prim(p: Prim) -> TokenStream {
    let id = ident(p.name());
    quote!(#id)
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
