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

struct Attrs {
    type_code: u8,
    code_span: Span,
    size: usize,
    size_span: Span,
}

fn attrs(input: &syn::DeriveInput) -> syn::Result<Attrs> {
    let mut type_code = None;
    let mut size = None;
    for a in input.attrs.iter().filter(|a| a.path().is_ident("rltop")) {
        a.parse_nested_meta(|meta| {
            let lit: syn::LitInt = meta.value()?.parse()?;
            if meta.path.is_ident("type_code") {
                let code = lit.base10_parse::<u8>().map_err(|_| {
                    syn::Error::new(lit.span(), "type_code must fit a u8 (0..=255)")
                })?;
                type_code = Some((code, lit.span()));
            } else if meta.path.is_ident("size") {
                size = Some((lit.base10_parse::<usize>()?, lit.span()));
            } else {
                return Err(
                    meta.error("unknown rltop attribute: expected `type_code = N` or `size = N`")
                );
            }
            Ok(())
        })?;
    }
    let name = &input.ident;
    let (type_code, code_span) = type_code.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            format!("`{name}` needs #[rltop(type_code = N, size = N)]: the type code is missing"),
        )
    })?;
    let (size, size_span) = size.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            format!(
                "`{name}` needs #[rltop(type_code = N, size = N)]: the declared size is missing"
            ),
        )
    })?;
    Ok(Attrs {
        type_code,
        code_span,
        size,
        size_span,
    })
}

fn has_repr_c_packed(input: &syn::DeriveInput) -> bool {
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
        .position(|c| (c.first..=c.last).contains(&attrs.type_code))
    else {
        return Err(syn::Error::new(
            attrs.code_span,
            format!(
                "type code {:#04x} lies in no channel's range",
                attrs.type_code
            ),
        ));
    };
    if let Some(m) = model
        .schema
        .messages
        .iter()
        .find(|m| m.message.is_some_and(|i| i.type_code == attrs.type_code))
    {
        return Err(syn::Error::new(
            attrs.code_span,
            format!(
                "type code {:#04x} is already the schema's `{}`",
                attrs.type_code, m.name
            ),
        ));
    }

    let id = model.schema.messages.push(Record {
        name: name.to_string(),
        doc: Vec::new(),
        declared_size: Some(attrs.size),
        fields,
        span: Default::default(),
        size_span: None,
        message: Some(MessageInfo {
            type_code: attrs.type_code,
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
        return Err(syn::Error::new(attrs.size_span, msg));
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

pub fn include_schema(lit: &syn::LitStr) -> syn::Result<TokenStream> {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| syn::Error::new(lit.span(), "CARGO_MANIFEST_DIR is not set"))?;
    let path = std::path::Path::new(&dir).join(lit.value());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| syn::Error::new(lit.span(), format!("cannot read {}: {e}", path.display())))?;
    let checked = rltop_codegen::check(&lit.value(), &text);
    let Some(laid) = &checked.laid else {
        let report = checked.render();
        return Err(syn::Error::new(
            lit.span(),
            format!("schema rejected:\n{report}"),
        ));
    };
    // RLTOP's shape through its backend; any other protocol through the general one.
    let items = match laid.model() {
        Some(model) => rltop_codegen::rust::items(&model),
        None => {
            rltop_codegen::rust::general::items(laid).map_err(|e| syn::Error::new(lit.span(), e))?
        }
    };
    let track = path.to_string_lossy().into_owned();
    Ok(quote! {
        // Rebuild when the schema changes.
        const _: &str = include_str!(#track);
        #items
    })
}
