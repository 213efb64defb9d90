//! The Rust backend: a crate of `#[repr(C, packed)]` `bytemuck::Pod` structs with typed
//! accessors, a `Message<'a>` dispatch enum and a datagram iterator, all on top of
//! `rltop_runtime`. No `unsafe` is emitted.

mod from_json;
pub mod general;
mod names;
pub mod record;
mod types;

use proc_macro2::TokenStream;
use quote::quote;

use names::{docs, hex, ident, usize_lit};
pub use record::Which;

use crate::Model;

use crate::banner::Banner;

/// What [`lib_rs`] writes: a crate's `lib.rs`, or items to `include!` inside a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Crate docs (`//!`) and crate-level attributes, then the items.
    Crate,
    /// The items alone, valid inside `mod m { include!(…); }`: no inner attributes or docs.
    Module,
}

fn protocol(model: &Model) -> TokenStream {
    let s = &model.schema;
    let h = model.layout.header(&model.framed);
    let name = &s.protocol.name;
    let magic = hex(model.framed.magic.into());
    let (version, min_version) = (s.protocol.version, s.protocol.min_version);
    let size = usize_lit(h.size);
    let offsets = h.at.named().map(|(role, at)| {
        let field = quote::format_ident!("{}_offset", role.to_ascii_lowercase());
        let at = usize_lit(at);
        quote!(#field: #at,)
    });
    let header = ident(&s.header(&model.framed).name);
    let doc = docs(&s.protocol.doc);
    quote! {
        #doc
        pub const PROTOCOL: ::rltop_runtime::Protocol = ::rltop_runtime::Protocol {
            name: #name,
            magic: #magic,
            version: #version,
            min_version: #min_version,
            header_size: #size,
            #(#offsets)*
        };

        impl ::rltop_runtime::Header for #header {
            const PROTOCOL: &'static ::rltop_runtime::Protocol = &PROTOCOL;
        }
    }
}

fn channels(model: &Model) -> TokenStream {
    let s = &model.schema;
    let Some(e) = s.channel_enum else {
        return quote!();
    };
    let en = ident(&s.enums[e].name);
    let arms = s.channels.iter().map(|c| {
        let v = ident(&c.name);
        let (a, b) = (hex(c.first.into()), hex(c.last.into()));
        quote!(#a..=#b => Some(#en::#v),)
    });
    let ranges = s.channels.iter().map(|c| {
        let v = ident(&c.name);
        let (a, b) = (hex(c.first.into()), hex(c.last.into()));
        quote!(#en::#v => #a..=#b,)
    });
    quote! {
        impl #en {
            /// The type codes this channel carries.
            pub const fn type_codes(self) -> ::core::ops::RangeInclusive<u8> {
                match self {
                    #(#ranges)*
                }
            }

            /// The channel whose range holds `type_code`.
            pub const fn of_type(type_code: u8) -> Option<Self> {
                match type_code {
                    #(#arms)*
                    _ => None,
                }
            }
        }
    }
}

/// `Message`, the enum of every message type, with its decoding and dispatch, and the
/// functions over a datagram.
fn dispatch(model: &Model) -> TokenStream {
    let s = &model.schema;
    let header = ident(&s.header(&model.framed).name);
    let names: Vec<_> = s.messages.iter().map(|m| ident(&m.name)).collect();
    let codes: Vec<_> = s
        .messages
        .iter()
        .map(|m| hex(m.message.expect("message").type_code.into()))
        .collect();
    let sizes: Vec<_> = model
        .layout
        .messages
        .iter()
        .map(|l| usize_lit(l.size))
        .collect();
    let indexes: Vec<_> = (0..names.len()).map(usize_lit).collect();
    let docs_each = s
        .messages
        .iter()
        .map(|m| docs(&m.doc.iter().take(1).cloned().collect::<Vec<_>>()));
    let channel_fn = s.channel_enum.map(|e| {
        let en = ident(&s.enums[e].name);
        let chans = s
            .messages
            .iter()
            .map(|m| ident(&s.channels[model.channel_of(m)].name));
        quote! {
            /// The channel the message's type belongs to.
            pub fn channel(&self) -> #en {
                match self {
                    #(Self::#names(_) => #en::#chans,)*
                }
            }
        }
    });
    let message = quote! {
        /// Any message of the protocol, borrowed from the buffer it was decoded from.
        #[derive(Debug, Clone, Copy)]
        pub enum Message<'a> {
            #(#docs_each #names(&'a #names),)*
        }

        impl<'a> Message<'a> {
            /// Decodes the message at the start of `buf`, whatever its type. Never panics.
            #[inline]
            pub fn decode(buf: &'a [u8]) -> ::core::result::Result<Self, ::rltop_runtime::DecodeError> {
                Self::decode_at(buf, 0)
            }

            /// [`Message::decode`] for a message at `base` within a larger buffer; error
            /// offsets count from that buffer's start.
            #[inline]
            pub fn decode_at(buf: &'a [u8], base: usize) -> ::core::result::Result<Self, ::rltop_runtime::DecodeError> {
                let frame = ::rltop_runtime::split_frame(buf, base, &PROTOCOL, <Self as ::rltop_runtime::Dispatch>::size_of_type)?;
                <Self as ::rltop_runtime::Dispatch>::from_frame(frame)
            }

            /// The header.
            pub fn header(&self) -> &'a #header {
                match self {
                    #(Self::#names(m) => &m.header,)*
                }
            }

            /// The message's name in the schema.
            pub fn name(&self) -> &'static str {
                match self {
                    #(Self::#names(_) => stringify!(#names),)*
                }
            }

            /// The header type code.
            pub fn type_code(&self) -> u8 {
                match self {
                    #(Self::#names(_) => #codes,)*
                }
            }

            /// Its type's description: name, code, size and field table.
            pub fn message_type(&self) -> &'static ::rltop_runtime::MessageType {
                match self {
                    #(Self::#names(_) => &MESSAGE_TYPES[#indexes],)*
                }
            }

            /// The message's bytes.
            pub fn as_bytes(&self) -> &'a [u8] {
                match self {
                    #(Self::#names(m) => ::rltop_runtime::bytemuck::bytes_of(*m),)*
                }
            }

            #channel_fn
        }

    };
    let dispatch = dispatch_impl(&names, &codes, &sizes);
    quote! {
        #message
        #dispatch
        /// Every message type of the protocol, in schema order.
        pub const MESSAGE_TYPES: &[::rltop_runtime::MessageType] = &[
            #(::rltop_runtime::MessageType::of::<#names>(),)*
        ];

        /// The messages of one datagram, in order: each item is a message or the error that
        /// concerns it (see [`::rltop_runtime::Messages`]).
        pub fn messages(datagram: &[u8]) -> ::rltop_runtime::Messages<'_, Message<'_>> {
            ::rltop_runtime::Messages::new(datagram)
        }

        /// The items of [`messages`], passed to `each` in order without an iterator between
        /// them: the fastest way through a datagram (checksums computed several messages at
        /// a time, see [`::rltop_runtime::for_each_message`]).
        #[inline]
        pub fn for_each_message<'a>(
            datagram: &'a [u8],
            each: impl FnMut(::core::result::Result<Message<'a>, ::rltop_runtime::DecodeError>),
        ) {
            ::rltop_runtime::for_each_message(datagram, each)
        }
    }
}

/// `rltop_runtime::Dispatch` for `Message`: the size of each type code, and the frame to
/// the message, with one call site for the checksum.
fn dispatch_impl(
    names: &[proc_macro2::Ident],
    codes: &[TokenStream],
    sizes: &[proc_macro2::Literal],
) -> TokenStream {
    quote! {
        impl<'a> ::rltop_runtime::Dispatch<'a> for Message<'a> {
            const PROTOCOL: &'static ::rltop_runtime::Protocol = &PROTOCOL;

            #[inline]
            fn size_of_type(msg_type: u8) -> Option<usize> {
                // A table, not a match: every message's framing and dispatch asks it.
                const SIZE_OF_TYPE: [u16; 256] = {
                    let mut sizes = [0; 256];
                    #(sizes[#codes] = #sizes;)*
                    sizes
                };
                match SIZE_OF_TYPE[usize::from(msg_type)] {
                    0 => None,
                    size => Some(usize::from(size)),
                }
            }

            #[inline(always)]
            fn from_frame_with(
                frame: ::rltop_runtime::Frame<'a>,
                checksum: impl FnOnce(&::rltop_runtime::Frame<'a>) -> ::core::result::Result<(), ::rltop_runtime::DecodeError>,
            ) -> ::core::result::Result<Self, ::rltop_runtime::DecodeError> {
                ::rltop_runtime::check_version(&frame, &PROTOCOL)?;
                let unknown = |frame: &::rltop_runtime::Frame<'a>| ::rltop_runtime::DecodeError::UnknownType {
                    offset: frame.offset + PROTOCOL.type_offset,
                    msg_type: frame.msg_type,
                    length: frame.bytes.len() as u16,
                };
                if Self::size_of_type(frame.msg_type).is_none() {
                    return Err(unknown(&frame));
                }
                // One call site for the checksum, whatever the type: it is the bulk of the work.
                checksum(&frame)?;
                match frame.msg_type {
                    #(#codes => ::rltop_runtime::view(&frame).map(Self::#names),)*
                    _ => Err(unknown(&frame)),
                }
            }
        }

    }
}

/// A run of items of the generated crate: tokens for prettyplease, or a `record!` table,
/// which the emitter lays out itself (prettyplease would print a macro's body token by token).
enum Part {
    Items(TokenStream),
    Table(record::Table),
}

/// Every item of the generated crate, in order, without crate-level attributes.
fn parts(model: &Model) -> Vec<Part> {
    let s = &model.schema;
    let mut items = quote! {
        pub use ::rltop_runtime::{DecodeError, InvalidEnum, TextError};
    };
    items.extend(protocol(model));
    items.extend(s.aliases.iter().map(types::alias));
    items.extend(s.enums.iter().map(types::enumeration));
    items.extend(channels(model));
    items.extend(s.flags.iter().map(types::flags));
    let mut parts = vec![Part::Items(items)];
    let records = s
        .structs
        .enumerate()
        .map(|(id, r)| (Which::Struct(id), &r.name))
        .chain(
            s.messages
                .enumerate()
                .map(|(id, r)| (Which::Message(id), &r.name)),
        );
    for (which, name) in records {
        let ty = ident(name);
        parts.push(Part::Items(record::declaration(model, which)));
        parts.push(Part::Table(record::table(model, which, name)));
        parts.push(Part::Items(record::message_impl(
            model,
            which,
            &quote!(#ty),
        )));
    }
    parts.push(Part::Items(dispatch(model)));
    parts
}

/// Every item of the generated crate, without crate-level attributes: what
/// `include_schema!` expands to.
pub fn items(model: &Model) -> TokenStream {
    parts(model)
        .into_iter()
        .map(|part| match part {
            Part::Items(tokens) => tokens,
            Part::Table(table) => table.tokens(),
        })
        .collect()
}

/// The generated Rust source, formatted by prettyplease: banner, then (for [`Form::Crate`])
/// crate docs and attributes, then every item.
pub fn lib_rs(model: &Model, banner: &Banner, form: Form) -> Result<String, String> {
    let banner = banner.rust_comment(&model.schema.protocol.name);
    let head = match form {
        Form::Crate => crate_attributes(model),
        Form::Module => quote!(
            pub use ::rltop_runtime as runtime;
        ),
    };
    let mut out = format!("{banner}\n{}", unparse(head)?);
    for part in parts(model) {
        match part {
            Part::Items(tokens) if tokens.is_empty() => {}
            Part::Items(tokens) => out += &unparse(tokens)?,
            Part::Table(table) => out += table.text(),
        }
    }
    Ok(out)
}

/// The crate's docs and inner attributes, and its `runtime` re-export.
fn crate_attributes(model: &Model) -> TokenStream {
    let s = &model.schema;
    let mut crate_doc: Vec<String> = s.protocol.doc.clone();
    crate_doc.push(String::new());
    crate_doc.push(format!(
        "Generated from the schema: protocol version {} (decodes {} and later), {} message types.",
        s.protocol.version,
        s.protocol.min_version,
        s.messages.len()
    ));
    crate_doc.push(
        "Decode with [`Message::decode`], a type's own `decode`, or [`messages`] for a whole"
            .into(),
    );
    crate_doc.push("datagram; encode by setting fields on `T::new()` and calling `encode`.".into());
    let crate_doc = crate_doc.iter().map(|l| format!(" {l}"));
    quote! {
        #(#![doc = #crate_doc])*
        #![forbid(unsafe_code)]
        // Formatted by prettyplease as `cargo xtask gen` writes it; rustfmt would make `gen --check` fail.
        #![cfg_attr(rustfmt, rustfmt::skip)]
        #![allow(clippy::len_without_is_empty, clippy::new_without_default, clippy::manual_range_patterns)]

        pub use ::rltop_runtime as runtime;
    }
}

/// Items (or, first, the crate's attributes) formatted by prettyplease.
fn unparse(tokens: TokenStream) -> Result<String, String> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}
