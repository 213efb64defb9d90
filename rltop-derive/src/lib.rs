//! Proc-macro front end of `rltop-codegen`; thin by design (as prost-derive is).
//!
//! * `#[derive(Message)]` on a hand-written `#[repr(C, packed)]` struct whose first field is
//!   the protocol header: checks its layout with the same layout pass the schema goes through
//!   and emits the same impls as generated code (accessors, `Debug`, size and offset
//!   assertions, `rltop_runtime::Message`).
//! * `#[derive(Message)]` with `#[rltop(schema = "FILE", message = "NAME")]`: checks a
//!   hand-written struct against a message of a schema of another shape (ITCH, a venue's own
//!   feed) field by field, and emits the generated crate's impls for it (see `against.rs`).
//! * `include_schema!("path/to/schema.rlt")`: expands a whole schema at compile time.
//!
//! Emitted code names `::rltop_runtime`; users reach both macros through `rltop-runtime`
//! (feature `derive`: `#[derive(rltop_runtime::Message)]`, `rltop_runtime::include_schema!`),
//! so the crate their code expands against is one they already depend on.

mod against;
mod derive;

use proc_macro::TokenStream;

/// Derives `rltop_runtime::Message` for a hand-written message of the RLTOP protocol.
///
/// ```text
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, rltop_runtime::Message)]
/// #[repr(C, packed)]
/// #[rltop(type_code = 0x86, size = 64)]
/// struct VenueStatus { header: rltop::MessageHeader, symbol_id: rltop_runtime::le::U32, status: u8, _reserved: [u8; 19] }
/// ```
///
/// Field types: `u8`, `i8`, the runtime's little-endian `le::{U16, U32, U64, I16, I32, I64}`,
/// the schema's structs (`MessageHeader`, `PriceLevel`, ...) and arrays of those; a field
/// whose name starts with `_` and whose type is `[u8; N]` is reserved. A native `u32` (or the
/// schema's `Price`) is refused: the wire is little-endian whatever the host.
///
/// For a protocol of another shape, the struct is checked against a message of its schema
/// (path relative to the crate's `Cargo.toml`) and gets the generated crate's accessors,
/// `new`, `decode`, `validate` and `to_json`; the schema's enumerations and aliases must be in
/// scope:
///
/// ```text
/// use rltop_itch50::{BuySell, Price4, Timestamp};
/// use rltop_runtime::be;
///
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, rltop_runtime::Message)]
/// #[repr(C, packed)]
/// #[rltop(schema = "protocols/itch50.rlt", message = "AddOrder")]
/// struct MyAddOrder {
///     message_type: u8, stock_locate: be::U16, tracking_number: be::U16, timestamp: be::U48,
///     order_reference_number: be::U64, buy_sell_indicator: u8, shares: be::U32,
///     stock: [u8; 8], price: be::U32,
/// }
/// ```
#[proc_macro_derive(Message, attributes(rltop))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::message(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Expands a schema file (path relative to the using crate's `Cargo.toml`) into the same
/// items `cargo xtask gen` writes: structs, enums, flags, `Message<'a>`, `messages()`.
/// Schema errors become compile errors carrying the checker's `file:line:col` report.
#[proc_macro]
pub fn include_schema(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    derive::include_schema(&lit)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
