//! Aliases, enumerations and flag sets.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{docs, ident, int, prim, screaming, value};
use crate::model::{Alias, Enum};

pub fn alias(a: &Alias) -> TokenStream {
    let doc = docs(&a.doc);
    let name = ident(&a.name);
    let p = prim(a.prim);
    quote! {
        #doc
        pub type #name = #p;
    }
}

pub fn enumeration(e: &Enum) -> TokenStream {
    let doc = docs(&e.doc);
    let name = ident(&e.name);
    let enum_name = &e.name;
    let repr = prim(e.repr);
    let variants = e.variants.iter().map(|v| {
        let doc = docs(&v.doc);
        let vn = ident(&v.name);
        let val = value(e.repr, v.value);
        quote!(#doc #vn = #val,)
    });
    let vnames: Vec<_> = e.variants.iter().map(|v| ident(&v.name)).collect();
    let vstrs: Vec<&str> = e.variants.iter().map(|v| v.name.as_str()).collect();
    let vals: Vec<_> = e.variants.iter().map(|v| value(e.repr, v.value)).collect();
    let numbers: Vec<_> = e.variants.iter().map(|v| int(v.value)).collect();
    let n = e.variants.len();
    let signed = e.repr.signed();
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(#repr)]
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// Every variant, in schema order.
            pub const ALL: [#name; #n] = [#(#name::#vnames),*];

            /// How `Message::FIELDS` describes a field of this type.
            pub const FIELD_KIND: ::rltop_runtime::FieldKind = ::rltop_runtime::FieldKind::Enum {
                name: #enum_name,
                values: &[#(#numbers),*],
                names: &[#(#vstrs),*],
                signed: #signed,
            };

            /// The wire value.
            pub const fn value(self) -> #repr {
                self as #repr
            }

            /// The variant's name in the schema.
            pub const fn name(self) -> &'static str {
                match self {
                    #(#name::#vnames => #vstrs,)*
                }
            }
        }

        impl ::core::convert::TryFrom<#repr> for #name {
            type Error = ::rltop_runtime::InvalidEnum;

            fn try_from(value: #repr) -> ::core::result::Result<Self, Self::Error> {
                match value {
                    #(#vals => Ok(#name::#vnames),)*
                    _ => Err(::rltop_runtime::InvalidEnum { enum_name: #enum_name, value: value as i64 }),
                }
            }
        }

        impl ::core::convert::From<#name> for #repr {
            fn from(value: #name) -> #repr {
                value as #repr
            }
        }
    }
}

pub fn flags(f: &Enum) -> TokenStream {
    let doc = docs(&f.doc);
    let name = ident(&f.name);
    let repr = prim(f.repr);
    let consts: Vec<_> = f
        .variants
        .iter()
        .map(|v| ident(&screaming(&v.name)))
        .collect();
    let const_defs = f.variants.iter().zip(&consts).map(|(v, c)| {
        let doc = docs(&v.doc);
        let bit = v.value as u32;
        quote!(#doc pub const #c: Self = Self(1 << #bit);)
    });
    let cstrs: Vec<String> = consts.iter().map(|c| c.to_string()).collect();
    let n = f.variants.len();
    quote! {
        #doc
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct #name(#repr);

        impl #name {
            #(#const_defs)*

            /// Every named flag with its name.
            pub const NAMED: [(&'static str, Self); #n] = [#((#cstrs, Self::#consts)),*];

            /// No flag set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The bits as found on the wire, unknown ones included.
            pub const fn from_bits_retain(bits: #repr) -> Self {
                Self(bits)
            }

            pub const fn bits(self) -> #repr {
                self.0
            }

            /// Whether every flag of `other` is set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            pub fn insert(&mut self, other: Self) {
                self.0 |= other.0;
            }

            pub fn remove(&mut self, other: Self) {
                self.0 &= !other.0;
            }
        }

        impl ::core::ops::BitOr for #name {
            type Output = Self;

            fn bitor(self, other: Self) -> Self {
                self.union(other)
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut rest = self.0;
                let mut first = true;
                for (name, flag) in Self::NAMED {
                    if self.contains(flag) {
                        f.write_str(if first { "" } else { " | " })?;
                        f.write_str(name)?;
                        rest &= !flag.0;
                        first = false;
                    }
                }
                if rest != 0 {
                    write!(f, "{}{:#x}", if first { "" } else { " | " }, rest)?;
                } else if first {
                    f.write_str("(empty)")?;
                }
                Ok(())
            }
        }
    }
}
