//! The two macros' bodies. Everything about layouts is delegated to `rltop_codegen`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use rltop_codegen::model::{Field, MessageInfo, Prim, Record, Ty};
use rltop_codegen::rust::{record, Which};
use rltop_codegen::{layout, Model};
use syn::spanned::Spanned;

/// The canonical schema, for the header and the composites a hand-written message may use:
/// `cargo xtask gen` copies schema/rltop.rlt into this package (and checks it has not drifted).
const CANONICAL: &str = include_str!("canonical.rlt");

fn canonical() -> syn::Result<Model> {
    rltop_codegen::check("rltop-derive/src/canonical.rlt", CANONICAL)
        .into_model()
        .map_err(|e| {
            syn::Error::new(
                Span::call_site(),
                format!("the canonical schema does not check:\n{e}"),
            )
        })
}

/// What `#[rltop(...)]` says: an extension message's type code and size, or the schema and
/// message a struct is checked against.
#[derive(Default)]
struct Attrs {
    type_code: Option<(u8, Span)>,
    size: Option<(usize, Span)>,
    schema: Option<syn::LitStr>,
    message: Option<syn::LitStr>,
}

fn attrs(input: &syn::DeriveInput) -> syn::Result<Attrs> {
    let mut out = Attrs::default();
    for a in input.attrs.iter().filter(|a| a.path().is_ident("rltop")) {
        a.parse_nested_meta(|meta| {
            let value = meta.value()?;
            if meta.path.is_ident("type_code") {
                let lit: syn::LitInt = value.parse()?;
                let code = lit.base10_parse::<u8>().map_err(|_| {
                    syn::Error::new(lit.span(), "type_code must fit a u8 (0..=255)")
                })?;
                out.type_code = Some((code, lit.span()));
            } else if meta.path.is_ident("size") {
                let lit: syn::LitInt = value.parse()?;
                out.size = Some((lit.base10_parse::<usize>()?, lit.span()));
            } else if meta.path.is_ident("schema") {
                out.schema = Some(value.parse()?);
            } else if meta.path.is_ident("message") {
                out.message = Some(value.parse()?);
            } else {
                return Err(meta.error(
                    "unknown rltop attribute: expected `type_code = N, size = N` (an RLTOP extension message) or `schema = \"FILE\", message = \"NAME\"` (a message of a schema of your own)",
                ));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// An extension message's type code and size, both required.
fn extension_attrs(name: &syn::Ident, a: &Attrs) -> syn::Result<((u8, Span), (usize, Span))> {
    let code = a.type_code.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            format!("`{name}` needs #[rltop(type_code = N, size = N)]: the type code is missing"),
        )
    })?;
    let size = a.size.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            format!(
                "`{name}` needs #[rltop(type_code = N, size = N)]: the declared size is missing"
            ),
        )
    })?;
    Ok((code, size))
}

pub(crate) fn has_repr_c_packed(input: &syn::DeriveInput) -> bool {
    let mut c = false;
    let mut packed = false;
    for a in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") {
                c = true;
            } else if meta.path.is_ident("packed") {
                packed = true;
                if meta.input.peek(syn::token::Paren) {
                    // `packed(N)` with N > 1 would leave gaps: only `packed` or `packed(1)` pass.
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let n: syn::LitInt = content.parse()?;
                    packed = n.base10_parse::<u32>()? == 1;
                }
            }
            Ok(())
        });
    }
    c && packed
}

/// Maps a field's Rust type onto the schema's types, or says why it is not plain data.
fn field_ty(model: &Model, ty: &syn::Type, reserved: bool) -> syn::Result<Ty> {
    let s = &model.schema;
    let not_plain = || {
        syn::Error::new(
            ty.span(),
            format!(
                "`{}` is not plain wire data: use u8, i8, rltop_runtime::le::{{U16, U32, U64, I16, I32, I64}}, a schema struct ({}) or an array of these",
                ty.to_token_stream().to_string().replace(' ', ""),
                s.structs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    };
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last().ok_or_else(not_plain)?;
            if !last.arguments.is_none() {
                return Err(not_plain());
            }
            let name = last.ident.to_string();
            if p.path.segments.len() == 1 {
                match Prim::from_name(&name) {
                    Some(prim) if prim.size() == 1 => return Ok(Ty::Prim(prim)),
                    Some(_) => {
                        return Err(syn::Error::new(
                            ty.span(),
                            format!(
                                "`{name}` would hold the wire's little-endian bytes as a native integer (wrong on big-endian hosts): use `rltop_runtime::le::{}`",
                                name.to_uppercase()
                            ),
                        ))
                    }
                    None => {}
                }
            }
            // The runtime's byte-order types: `rltop_runtime::le::U32`, or `U32` after a `use`.
            if let Some(prim) = Prim::from_name(&name.to_lowercase())
                .filter(|p| p.size() > 1 && name == name.to_uppercase())
            {
                return Ok(Ty::Prim(prim));
            }
            if let Some(a) = s.aliases.position(|a| a.name == name) {
                let native = s.aliases[a].prim;
                if native.size() > 1 {
                    return Err(syn::Error::new(
                        ty.span(),
                        format!(
                            "`{name}` is the schema's name for a native `{}`; on the wire it is little-endian: use `rltop_runtime::le::{}`",
                            native.name(),
                            native.name().to_uppercase()
                        ),
                    ));
                }
                return Ok(Ty::Alias(a));
            }
            if let Some(st) = s.structs.position(|r| r.name == name) {
                return Ok(Ty::Struct(st));
            }
            Err(not_plain())
        }
        syn::Type::Array(a) => {
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            }) = &a.len
            else {
                return Err(syn::Error::new(
                    a.len.span(),
                    "array length must be an integer literal",
                ));
            };
            let n: usize = n.base10_parse()?;
            if n == 0 {
                return Err(syn::Error::new(a.len.span(), "array of zero length"));
            }
            let elem = field_ty(model, &a.elem, false)?;
            if reserved && elem == Ty::Prim(Prim::U8) {
                return Ok(Ty::Reserved(n));
            }
            match elem {
                Ty::Prim(_) | Ty::Alias(_) | Ty::Struct(_) => Ok(Ty::Array(Box::new(elem), n)),
                _ => Err(not_plain()),
            }
        }
        _ => Err(not_plain()),
    }
}

pub fn message(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let syn::Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "#[derive(Message)] applies to structs",
        ));
    };
    let syn::Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            name.span(),
            "#[derive(Message)] needs a struct with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a wire message cannot be generic",
        ));
    }
    if !has_repr_c_packed(input) {
        return Err(syn::Error::new(
            name.span(),
            format!("`{name}` must be #[repr(C, packed)]: without it the compiler may insert padding, and the struct would not be the wire layout"),
        ));
    }
    let attrs = attrs(input)?;
    if let (Some(schema), Some(message)) = (&attrs.schema, &attrs.message) {
        if attrs.type_code.is_some() || attrs.size.is_some() {
            return Err(syn::Error::new(
                schema.span(),
                "a message of a schema takes its type code and size from the schema: give `schema` and `message` alone",
            ));
        }
        return crate::against::message(input, named, schema, message);
    }
    if let Some(lit) = attrs.schema.as_ref().or(attrs.message.as_ref()) {
        return Err(syn::Error::new(
            lit.span(),
            "`schema = \"FILE\"` and `message = \"NAME\"` go together",
        ));
    }
    let ((type_code, code_span), (size, size_span)) = extension_attrs(name, &attrs)?;
    let mut model = canonical()?;
    let header = model.framed.header;

    let mut fields = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut uses = Vec::new();
    for f in &named.named {
        let ident = f.ident.as_ref().expect("named field");
        let fname = ident.to_string();
        match field_ty(&model, &f.ty, fname.starts_with('_')) {
            Ok(ty) => {
                // A path like `rltop::MessageHeader` is brought into scope for the emitted impls.
                if let syn::Type::Path(p) = &f.ty {
                    if p.path.segments.len() > 1 && matches!(ty, Ty::Struct(_) | Ty::Alias(_)) {
                        let path = &p.path;
                        uses.push(quote!(use #path;));
                    }
                }
                fields.push(Field {
                    name: fname,
                    doc: Vec::new(),
                    ty,
                    since: 1,
                    count_of: None,
                    order: model.schema.protocol.byte_order,
                    pad: Default::default(),
                    span: Default::default(),
                });
            }
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let first = named
        .named
        .first()
        .ok_or_else(|| syn::Error::new(name.span(), "a message has at least its header"))?;
    if fields[0].ty != Ty::Struct(header) {
        return Err(syn::Error::new(
            first.ty.span(),
            format!(
                "the first field of `{name}` must be the header `{}`",
                model.schema.structs[header].name
            ),
        ));
    }
    let Some(channel) = model
        .schema
        .channels
        .position(|c| (c.first..=c.last).contains(&type_code))
    else {
        return Err(syn::Error::new(
            code_span,
            format!("type code {type_code:#04x} lies in no channel's range"),
        ));
    };
    if let Some(m) = model
        .schema
        .messages
        .iter()
        .find(|m| m.message.is_some_and(|i| i.type_code == type_code))
    {
        return Err(syn::Error::new(
            code_span,
            format!(
                "type code {type_code:#04x} is already the schema's `{}`",
                m.name
            ),
        ));
    }

    let id = model.schema.messages.push(Record {
        name: name.to_string(),
        doc: Vec::new(),
        declared_size: Some(size),
        fields,
        span: Default::default(),
        size_span: None,
        message: Some(MessageInfo {
            type_code,
            char_code: false,
            channel: Some(channel),
        }),
    });
    // The same layout pass as the schema's; its size check is the one reported.
    let (layout, diags) = layout::compute(&model.schema);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        let mut msg = d.message.clone();
        for n in &d.notes {
            msg.push_str(&format!("\n= note: {n}"));
        }
        return Err(syn::Error::new(size_span, msg));
    }
    model.layout = layout;
    let which = Which::Message(id);
    let impls = record::impls(&model, which, name);
    Ok(quote! {
        const _: () = {
            #(#uses)*
            #impls
        };
    })
}

/// A schema file named relative to the using crate's `Cargo.toml`, checked and laid out, and
/// the path to track for rebuilds; a rejected schema is a compile error with the report.
pub(crate) fn load_schema(lit: &syn::LitStr) -> syn::Result<(rltop_codegen::Laid, String)> {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| syn::Error::new(lit.span(), "CARGO_MANIFEST_DIR is not set"))?;
    let path = std::path::Path::new(&dir).join(lit.value());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| syn::Error::new(lit.span(), format!("cannot read {}: {e}", path.display())))?;
    let checked = rltop_codegen::check(&lit.value(), &text);
    let Some(laid) = checked.laid else {
        let report = checked.render();
        return Err(syn::Error::new(
            lit.span(),
            format!("schema rejected:\n{report}"),
        ));
    };
    Ok((laid, path.to_string_lossy().into_owned()))
}

pub fn include_schema(lit: &syn::LitStr) -> syn::Result<TokenStream> {
    let (laid, track) = load_schema(lit)?;
    // RLTOP's shape through its backend; any other protocol through the general one.
    let items = match laid.model() {
        Some(model) => rltop_codegen::rust::items(&model),
        None => rltop_codegen::rust::general::items(&laid)
            .map_err(|e| syn::Error::new(lit.span(), e))?,
    };
    Ok(quote! {
        // Rebuild when the schema changes.
        const _: &str = include_str!(#track);
        #items
    })
}
