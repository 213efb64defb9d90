//! `#[derive(Message)]` against a message of a schema of the user's own protocol:
//! `#[rltop(schema = "protocols/itch50.rlt", message = "AddOrder")]`.
//!
//! Policy: the hand-written struct declares exactly the schema message's fields, in order,
//! under the same names, each in the storage the generated crate gives it: `be::U48` for a
//! big-endian 48-bit integer (the byte order written out, so a reader of the struct sees it),
//! `u8` for a character or a one-byte enumeration, `[u8; N]` for text and reserved bytes. The
//! derive checks that, field by field, and emits the generated crate's impls for the struct:
//! accessors, `new`, `decode`, `validate`, canonical JSON, and its size and offsets asserted
//! by rustc. The accessors name the schema's enumerations and aliases (`BuySell`, `Price4`):
//! they must be in scope where the struct is, from the generated crate or `include_schema!`.
//!
//! Schemas of RLTOP's shape are not taken here: an RLTOP message is derived as an extension
//! (`type_code`, `size`) or used from the generated crate.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use rltop_codegen::rust::general;
use syn::spanned::Spanned;

pub fn message(
    input: &syn::DeriveInput,
    named: &syn::FieldsNamed,
    schema: &syn::LitStr,
    message: &syn::LitStr,
) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let (laid, track) = crate::derive::load_schema(schema)?;
    if laid.model().is_some() {
        return Err(syn::Error::new(
            schema.span(),
            "this schema has RLTOP's shape: derive an extension message with #[rltop(type_code = N, size = N)], or use the crate generated from it",
        ));
    }
    let s = &laid.schema;
    let wanted = message.value();
    let Some(mi) = s.messages.position(|m| m.name == wanted) else {
        let names: Vec<&str> = s.messages.iter().map(|m| m.name.as_str()).collect();
        return Err(syn::Error::new(
            message.span(),
            format!(
                "the schema has no message `{wanted}` (it has {})",
                names.join(", ")
            ),
        ));
    };
    let (record, layout) = (&s.messages[mi], &laid.layout.messages[mi]);
    let declared: Vec<&syn::Field> = named.named.iter().collect();
    for (k, (f, fl)) in record.fields.iter().zip(&layout.fields).enumerate() {
        let expected = normal(&general::storage(s, &fl.shape, f.order));
        let Some(field) = declared.get(k) else {
            return Err(syn::Error::new(
                named.span(),
                format!(
                    "`{name}` ends before the schema's field `{}: {expected}` (at byte {})",
                    f.name, fl.offset
                ),
            ));
        };
        let fname = field
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if fname != f.name {
            return Err(syn::Error::new(
                field.span(),
                format!(
                    "field {} of `{wanted}` is `{}` (at byte {}), not `{fname}`",
                    k + 1,
                    f.name,
                    fl.offset
                ),
            ));
        }
        let got = normal(&field.ty);
        if got != expected {
            return Err(syn::Error::new(
                field.ty.span(),
                format!(
                    "`{}` is stored as `{expected}` ({} bytes{}): `{got}` is not its storage",
                    f.name,
                    fl.size,
                    order_note(&expected)
                ),
            ));
        }
    }
    if let Some(extra) = declared.get(record.fields.len()) {
        return Err(syn::Error::new(
            extra.span(),
            format!(
                "`{wanted}` has {} fields in the schema; this one is not among them",
                record.fields.len()
            ),
        ));
    }
    if !crate::derive::has_repr_c_packed(input) {
        return Err(syn::Error::new(
            name.span(),
            format!("`{name}` must be #[repr(C, packed)]: without it the compiler may insert padding, and the struct would not be the wire layout"),
        ));
    }
    let type_code_at =
        general::type_code_const(&laid).map_err(|e| syn::Error::new(schema.span(), e))?;
    let impls = general::record_impls(s, record, layout, name);
    Ok(quote! {
        const _: () = {
            // Rebuild when the schema changes.
            const _: &str = include_str!(#track);
            #type_code_at
            #impls
        };
    })
}

/// A type as written, without spaces or the leading `::rltop_runtime::`/`rltop_runtime::`:
/// `be::U48`, `u8`, `[u8;8]`.
fn normal(ty: &impl ToTokens) -> String {
    let text: String = ty
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let text = text.strip_prefix("::").unwrap_or(&text).to_string();
    text.strip_prefix("rltop_runtime::")
        .unwrap_or(&text)
        .to_string()
}

fn order_note(storage: &str) -> &'static str {
    if storage.starts_with("be::") {
        ", big-endian"
    } else if storage.starts_with("le::") {
        ", little-endian"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    /// The derive's answer for `input` (its fields and attributes) against ITCH's AddOrder.
    fn derive(input: syn::DeriveInput) -> Result<String, String> {
        crate::derive::message(&input)
            .map(|t| t.to_string())
            .map_err(|e| e.to_string())
    }

    fn add_order(price: syn::Type, order_ref: &str) -> syn::DeriveInput {
        let order_ref = syn::Ident::new(order_ref, proc_macro2::Span::call_site());
        parse_quote! {
            #[repr(C, packed)]
            #[rltop(schema = "../schema/examples/itch50.rlt", message = "AddOrder")]
            struct MyAddOrder {
                message_type: u8,
                stock_locate: be::U16,
                tracking_number: rltop_runtime::be::U16,
                timestamp: ::rltop_runtime::be::U48,
                #order_ref: be::U64,
                buy_sell_indicator: u8,
                shares: be::U32,
                stock: [u8; 8],
                price: #price,
            }
        }
    }

    #[test]
    fn a_struct_with_the_schema_s_storage_gets_the_generated_impls() {
        let out = derive(add_order(parse_quote!(be::U32), "order_reference_number")).unwrap();
        assert!(out.contains("impl MyAddOrder"), "{out}");
        assert!(out.contains("pub fn price"), "{out}");
        assert!(out.contains("TYPE_CODE_AT"), "{out}");
    }

    #[test]
    fn each_departure_from_the_schema_is_named() {
        assert_eq!(
            derive(add_order(parse_quote!(le::U32), "order_reference_number")).unwrap_err(),
            "`price` is stored as `be::U32` (4 bytes, big-endian): `le::U32` is not its storage"
        );
        assert_eq!(
            derive(add_order(parse_quote!(U32), "order_reference_number")).unwrap_err(),
            "`price` is stored as `be::U32` (4 bytes, big-endian): `U32` is not its storage"
        );
        assert_eq!(
            derive(add_order(parse_quote!(be::U32), "order_ref")).unwrap_err(),
            "field 5 of `AddOrder` is `order_reference_number` (at byte 11), not `order_ref`"
        );
        let short: syn::DeriveInput = parse_quote! {
            #[repr(C, packed)]
            #[rltop(schema = "../schema/examples/itch50.rlt", message = "BrokenTrade")]
            struct Short { message_type: u8 }
        };
        assert_eq!(
            derive(short).unwrap_err(),
            "`Short` ends before the schema's field `stock_locate: be::U16` (at byte 1)"
        );
        let unknown: syn::DeriveInput = parse_quote! {
            #[repr(C, packed)]
            #[rltop(schema = "../schema/examples/itch50.rlt", message = "Nope")]
            struct Nope { message_type: u8 }
        };
        assert!(derive(unknown)
            .unwrap_err()
            .starts_with("the schema has no message `Nope` (it has SystemEvent, "));
        let rltop: syn::DeriveInput = parse_quote! {
            #[repr(C, packed)]
            #[rltop(schema = "../schema/rltop.rlt", message = "AddOrder")]
            struct R { x: u8 }
        };
        assert!(derive(rltop)
            .unwrap_err()
            .starts_with("this schema has RLTOP's shape"));
        let both: syn::DeriveInput = parse_quote! {
            #[repr(C, packed)]
            #[rltop(schema = "../schema/examples/itch50.rlt", message = "AddOrder", size = 36)]
            struct B { x: u8 }
        };
        assert!(derive(both)
            .unwrap_err()
            .starts_with("a message of a schema takes its type code"));
        let mut unpacked = add_order(parse_quote!(be::U32), "order_reference_number");
        unpacked.attrs.retain(|a| !a.path().is_ident("repr"));
        assert!(derive(unpacked)
            .unwrap_err()
            .contains("must be #[repr(C, packed)]"));
    }
}
