//! Schema text → [`ast`](crate::ast), with nom.
//!
//! Errors do not stop the parse: a bad field, variant or setting is reported and skipped
//! to the end of its line, a bad item to the next line that starts an item, so one run
//! reports every syntax error it can.

use nom::{
    branch::alt,
    bytes::complete::{tag, take_while, take_while1},
    character::complete::{char, satisfy},
    combinator::{opt, recognize},
    error::{ErrorKind, ParseError},
    sequence::pair,
    IResult,
};

use crate::ast::*;
use crate::diagnostic::{Diagnostic, Span};

/// Words that start a top-level item.
/// One entry of an enum or flags body.
enum EnumEntry {
    Variant(Variant),
    Reserved(Vec<Number>),
}

const ITEM_KEYWORDS: [&str; 7] = [
    "protocol", "type", "enum", "flags", "channel", "struct", "message",
];

/// A parse failure: where, and what was expected there.
#[derive(Debug)]
struct PErr<'a> {
    at: &'a str,
    expected: &'static str,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(at: &'a str, _: ErrorKind) -> Self {
        PErr { at, expected: "" }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        // Keep the alternative that got further.
        if other.at.len() <= self.at.len() {
            other
        } else {
            self
        }
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn fail<'a, T>(at: &'a str, expected: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr { at, expected }))
}

/// Turns a recoverable error into a committed one, keeping the first description.
fn expect<'a, T>(r: PResult<'a, T>, expected: &'static str) -> PResult<'a, T> {
    r.map_err(|e| match e {
        nom::Err::Error(mut p) | nom::Err::Failure(mut p) => {
            if p.expected.is_empty() {
                p.expected = expected;
            }
            nom::Err::Failure(p)
        }
        other => other,
    })
}

/// Skips whitespace and `//` comments, but not `///` doc comments.
fn sp(mut i: &str) -> &str {
    loop {
        i = i.trim_start();
        if i.starts_with("//") && !i.starts_with("///") || i.starts_with("////") {
            i = i.find('\n').map_or("", |n| &i[n..]);
        } else {
            return i;
        }
    }
}

struct Parser<'s> {
    src: &'s str,
    diags: Vec<Diagnostic>,
}

impl<'s> Parser<'s> {
    fn pos(&self, i: &str) -> usize {
        self.src.len() - i.len()
    }

    fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.pos(from), self.pos(to))
    }

    fn docs<'a>(&self, mut i: &'a str) -> (&'a str, Doc) {
        let mut doc = Vec::new();
        loop {
            i = sp(i);
            let Some(rest) = i.strip_prefix("///") else {
                return (i, doc);
            };
            let end = rest.find('\n').unwrap_or(rest.len());
            let line = rest[..end].trim_end();
            doc.push(line.strip_prefix(' ').unwrap_or(line).to_string());
            i = &rest[end..];
        }
    }

    fn ident<'a>(&self, i: &'a str) -> PResult<'a, Ident> {
        let i = sp(i);
        let (rest, name) = recognize(pair(
            satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
            take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        ))(i)
        .or_else(|_: nom::Err<PErr>| fail(i, ""))?;
        Ok((
            rest,
            Ident {
                name: name.to_string(),
                span: self.span(i, rest),
            },
        ))
    }

    fn keyword<'a>(&self, i: &'a str, kw: &'static str) -> PResult<'a, Span> {
        match self.ident(i) {
            Ok((rest, id)) if id.name == kw => Ok((rest, id.span)),
            _ => fail(sp(i), ""),
        }
    }

    fn sym<'a>(&self, i: &'a str, s: &'static str) -> PResult<'a, Span> {
        let i = sp(i);
        match tag::<_, _, PErr>(s)(i) {
            Ok((rest, _)) => Ok((rest, self.span(i, rest))),
            Err(_) => fail(i, ""),
        }
    }

    fn number<'a>(&self, i: &'a str) -> PResult<'a, Number> {
        let i = sp(i);
        let digits = |i| -> PResult<'_, (u32, &str)> {
            alt((
                |i| {
                    let (i, _) = alt((tag("0x"), tag("0X")))(i)?;
                    let (i, d) = take_while1(|c: char| c.is_ascii_hexdigit() || c == '_')(i)?;
                    Ok((i, (16u32, d)))
                },
                |i| {
                    let (i, d) = recognize(pair(
                        satisfy(|c| c.is_ascii_digit()),
                        take_while(|c: char| c.is_ascii_digit() || c == '_'),
                    ))(i)?;
                    Ok((i, (10u32, d)))
                },
            ))(i)
        };
        if let Some(rest) = i.strip_prefix('\'') {
            return self.char_literal(i, rest);
        }
        let (after_sign, neg) = opt(char::<_, PErr>('-'))(i).map(|(r, n)| (r, n.is_some()))?;
        let (rest, (radix, d)) = digits(after_sign).or_else(|_| fail(i, ""))?;
        let clean: String = d.chars().filter(|&c| c != '_').collect();
        let Ok(v) = i128::from_str_radix(&clean, radix) else {
            return fail(i, "a number that fits 64 bits");
        };
        if v > u64::MAX as i128 {
            return fail(i, "a number that fits 64 bits");
        }
        Ok((
            rest,
            Number {
                value: if neg { -v } else { v },
                span: self.span(i, rest),
                char: false,
            },
        ))
    }

    /// `'A'`: one printable ASCII character in single quotes (a quote or a backslash
    /// escaped with a backslash), as its code.
    fn char_literal<'a>(&self, start: &'a str, after_quote: &'a str) -> PResult<'a, Number> {
        let (c, rest) = match after_quote.as_bytes() {
            [b'\\', c @ (b'\'' | b'\\'), b'\'', ..] => (*c, &after_quote[3..]),
            [c @ 0x20..=0x7e, b'\'', ..] if !matches!(c, b'\\' | b'\'') => (*c, &after_quote[2..]),
            _ => {
                return fail(
                    start,
                    "a character literal: one printable ASCII character in quotes",
                )
            }
        };
        Ok((
            rest,
            Number {
                value: i128::from(c),
                span: self.span(start, rest),
                char: true,
            },
        ))
    }

    fn type_expr<'a>(&self, i: &'a str) -> PResult<'a, TypeExpr> {
        let start = sp(i);
        if let Ok((i, _)) = self.sym(start, "[") {
            let (i, elem) = expect(self.type_expr(i), "an element type")?;
            let (i, _) = expect(self.sym(i, ";"), "`;` between element type and length")?;
            let (i, len) = expect(self.number(i), "an array length")?;
            let (i, _) = expect(self.sym(i, "]"), "`]`")?;
            return Ok((
                i,
                TypeExpr::Array {
                    elem: Box::new(elem),
                    len,
                    span: self.span(start, i),
                },
            ));
        }
        let (i, name) = self.ident(start).or_else(|_| fail(start, "a type"))?;
        let bracketed = matches!(name.name.as_str(), "text" | "reserved");
        if bracketed && sp(i).starts_with('[') {
            let (i, _) = self.sym(i, "[")?;
            let (i, len) = expect(self.number(i), "a length in bytes")?;
            let (i, _) = expect(self.sym(i, "]"), "`]`")?;
            let span = self.span(start, i);
            let ty = if name.name == "text" {
                TypeExpr::Text { len, span }
            } else {
                TypeExpr::Reserved { len, span }
            };
            return Ok((i, ty));
        }
        Ok((i, TypeExpr::Named(name)))
    }

    fn field<'a>(&self, i: &'a str, doc: Doc) -> PResult<'a, Field> {
        let (i, name) = self.ident(i).or_else(|_| fail(sp(i), "a field name"))?;
        let (i, _) = expect(self.sym(i, ":"), "`:` after the field name")?;
        let (mut i, ty) = expect(self.type_expr(i), "the field's type")?;
        let mut count_of = None;
        let mut since = None;
        let mut pad = None;
        loop {
            if let Ok((r, _)) = self.keyword(i, "pad") {
                let (r, how) = expect(self.ident(r), "`space` or `nul` after `pad`")?;
                pad = Some(how);
                i = r;
                continue;
            }
            if let Ok((r, _)) = self.keyword(i, "count") {
                let (r, _) = expect(self.sym(r, "("), "`(` after `count`")?;
                let (r, target) = expect(self.ident(r), "the name of the counted array")?;
                let (r, _) = expect(self.sym(r, ")"), "`)`")?;
                count_of = Some(target);
                i = r;
            } else if let Ok((r, _)) = self.keyword(i, "since") {
                let (r, v) = expect(self.number(r), "a protocol version after `since`")?;
                since = Some(v);
                i = r;
            } else {
                break;
            }
        }
        let i = match self.sym(i, ",") {
            Ok((r, _)) => r,
            Err(_) if sp(i).starts_with('}') => i,
            Err(_) => {
                return Err(nom::Err::Failure(PErr {
                    at: sp(i),
                    expected: "`,` or `}` after the field",
                }))
            }
        };
        Ok((
            i,
            Field {
                doc,
                name,
                ty,
                count_of,
                since,
                pad,
            },
        ))
    }

    fn variant<'a>(&self, i: &'a str, doc: Doc) -> PResult<'a, Variant> {
        let (i, name) = self.ident(i).or_else(|_| fail(sp(i), "a variant name"))?;
        let (i, _) = expect(self.sym(i, "="), "`=` and a value")?;
        let (i, value) = expect(self.number(i), "a value")?;
        let i = match self.sym(i, ",") {
            Ok((r, _)) => r,
            Err(_) if sp(i).starts_with('}') => i,
            Err(_) => {
                return Err(nom::Err::Failure(PErr {
                    at: sp(i),
                    expected: "`,` or `}` after the variant",
                }))
            }
        };
        Ok((i, Variant { doc, name, value }))
    }

    /// An entry of an enum or flags body: a variant, or `reserved 3, 5;` (a variant named
    /// `reserved` is still one: `reserved = 3,`).
    fn enum_entry<'a>(&self, i: &'a str, doc: Doc) -> PResult<'a, EnumEntry> {
        if let Ok((r, _)) = self.keyword(i, "reserved") {
            if self.sym(r, "=").is_err() {
                let (r, values) = self.numbers(r, "a retired value or bit number")?;
                let (r, _) = expect(self.sym(r, ";"), "`,` or `;` after the reserved values")?;
                return Ok((r, EnumEntry::Reserved(values)));
            }
        }
        self.variant(i, doc)
            .map(|(r, v)| (r, EnumEntry::Variant(v)))
    }

    /// `N, N, …`: at least one number.
    fn numbers<'a>(&self, i: &'a str, what: &'static str) -> PResult<'a, Vec<Number>> {
        let (mut i, first) = expect(self.number(i), what)?;
        let mut out = vec![first];
        while let Ok((r, _)) = self.sym(i, ",") {
            let (r, n) = expect(self.number(r), what)?;
            out.push(n);
            i = r;
        }
        Ok((i, out))
    }

    /// `{ entry* }` where each entry is parsed by `entry`; a bad entry is reported and
    /// skipped to the end of its line.
    fn body<'a, T>(
        &mut self,
        i: &'a str,
        mut entry: impl FnMut(&Self, &'a str, Doc) -> PResult<'a, T>,
    ) -> PResult<'a, Vec<T>> {
        let (mut i, _) = expect(self.sym(i, "{"), "`{`")?;
        let mut out = Vec::new();
        loop {
            let (rest, doc) = self.docs(i);
            if let Ok((r, _)) = self.sym(rest, "}") {
                return Ok((r, out));
            }
            if rest.is_empty() {
                return fail(rest, "`}` closing the block");
            }
            if ITEM_KEYWORDS.iter().any(|k| self.keyword(rest, k).is_ok()) && self.line_start(rest)
            {
                return fail(rest, "`}` closing the block");
            }
            match entry(self, rest, doc) {
                Ok((r, v)) => {
                    out.push(v);
                    i = r;
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    let diag = self.expected(&e);
                    self.diags.push(diag);
                    i = skip_line(e.at.max_len_of(rest));
                }
                Err(nom::Err::Incomplete(_)) => unreachable!("complete parsers only"),
            }
        }
    }

    fn line_start(&self, i: &str) -> bool {
        let p = self.pos(i);
        p == 0 || self.src.as_bytes()[p - 1] == b'\n'
    }

    fn expected(&self, e: &PErr) -> Diagnostic {
        let at = sp(e.at);
        let found = describe(at);
        let start = self.pos(at);
        let what = if e.expected.is_empty() {
            "valid syntax"
        } else {
            e.expected
        };
        Diagnostic::error(
            Span::new(start, start + found.1),
            format!("expected {what}, found {}", found.0),
        )
        .label(format!("expected {what}"))
    }

    fn item<'a>(&mut self, i: &'a str, doc: Doc) -> PResult<'a, Item> {
        let (after_kw, kw) = self.ident(i).or_else(|_| {
            fail(
                sp(i),
                "an item (protocol, type, enum, flags, channel, struct or message)",
            )
        })?;
        match kw.name.as_str() {
            "protocol" => {
                let (i, name) = expect(self.ident(after_kw), "the protocol's name")?;
                let (i, settings) = self.body(i, |p, i, _doc| p.setting(i))?;
                Ok((
                    i,
                    Item::Protocol(Protocol {
                        doc,
                        name,
                        settings,
                    }),
                ))
            }
            "type" => {
                let (i, name) = expect(self.ident(after_kw), "the type's name")?;
                let (i, _) = expect(self.sym(i, "="), "`=`")?;
                let (i, target) = expect(self.ident(i), "an integer type")?;
                let (i, scale) = match self.keyword(i, "scale") {
                    Ok((i, _)) => expect(self.number(i), "the number of implied decimal places")
                        .map(|(i, n)| (i, Some(n)))?,
                    Err(_) => (i, None),
                };
                let (i, _) = expect(self.sym(i, ";"), "`;`")?;
                Ok((
                    i,
                    Item::Alias(Alias {
                        doc,
                        name,
                        target,
                        scale,
                    }),
                ))
            }
            "enum" | "flags" => {
                let (i, name) = expect(self.ident(after_kw), "a name")?;
                let (i, _) = expect(self.sym(i, ":"), "`:` and the underlying integer type")?;
                let (i, repr) = expect(self.ident(i), "an integer type")?;
                let (i, entries) = self.body(i, |p, i, doc| p.enum_entry(i, doc))?;
                let (mut variants, mut reserved) = (Vec::new(), Vec::new());
                for entry in entries {
                    match entry {
                        EnumEntry::Variant(v) => variants.push(v),
                        EnumEntry::Reserved(values) => reserved.extend(values),
                    }
                }
                let e = Enum {
                    doc,
                    name,
                    repr,
                    variants,
                    reserved,
                };
                Ok((
                    i,
                    if kw.name == "enum" {
                        Item::Enum(e)
                    } else {
                        Item::Flags(e)
                    },
                ))
            }
            "channel" => {
                let (i, name) = expect(self.ident(after_kw), "the channel's name")?;
                let (i, _) = expect(self.sym(i, "="), "`=` and the channel's id")?;
                let (i, id) = expect(self.number(i), "the channel's id")?;
                let (i, _) = expect(
                    self.keyword(i, "types"),
                    "`types` and a range of type codes",
                )?;
                let (i, first) = expect(self.number(i), "the first type code")?;
                let (i, _) = expect(self.sym(i, "..="), "`..=`")?;
                let (i, last) = expect(self.number(i), "the last type code")?;
                let (i, _) = expect(self.sym(i, ";"), "`;`")?;
                Ok((
                    i,
                    Item::Channel(Channel {
                        doc,
                        name,
                        id,
                        first,
                        last,
                    }),
                ))
            }
            "struct" => {
                let (i, name) = expect(self.ident(after_kw), "the struct's name")?;
                let (i, size) = self.opt_size(i)?;
                let (i, fields) = self.body(i, |p, i, doc| p.field(i, doc))?;
                Ok((
                    i,
                    Item::Struct(Struct {
                        doc,
                        name,
                        size,
                        fields,
                    }),
                ))
            }
            "message" => {
                let (i, name) = expect(self.ident(after_kw), "the message's name")?;
                let (i, _) = expect(
                    self.keyword(i, "type"),
                    "`type` and the message's type code",
                )?;
                let (i, type_code) = expect(self.number(i), "the type code")?;
                let (i, size) = self.opt_size(i)?;
                let (i, channel) = match self.keyword(i, "channel") {
                    Ok((i, _)) => {
                        expect(self.ident(i), "a channel name").map(|(i, c)| (i, Some(c)))?
                    }
                    Err(_) => (i, None),
                };
                let (i, fields) = self.body(i, |p, i, doc| p.field(i, doc))?;
                Ok((
                    i,
                    Item::Message(Message {
                        doc,
                        name,
                        type_code,
                        size,
                        channel,
                        fields,
                    }),
                ))
            }
            _ => fail(
                sp(i),
                "an item (protocol, type, enum, flags, channel, struct or message)",
            ),
        }
    }

    fn opt_size<'a>(&self, i: &'a str) -> PResult<'a, Option<Number>> {
        match self.keyword(i, "size") {
            Ok((i, _)) => expect(self.number(i), "the size in bytes").map(|(i, n)| (i, Some(n))),
            Err(_) => Ok((i, None)),
        }
    }

    fn setting<'a>(&self, i: &'a str) -> PResult<'a, (Setting, Span)> {
        let start = sp(i);
        let (i, key) = self
            .ident(start)
            .or_else(|_| fail(start, "a protocol setting"))?;
        let (i, setting) = match key.name.as_str() {
            "version" => {
                expect(self.number(i), "a version number").map(|(i, n)| (i, Setting::Version(n)))?
            }
            "min_version" => expect(self.number(i), "a version number")
                .map(|(i, n)| (i, Setting::MinVersion(n)))?,
            "magic" => {
                expect(self.number(i), "the magic number").map(|(i, n)| (i, Setting::Magic(n)))?
            }
            "byte_order" => expect(self.ident(i), "`little` or `big`")
                .map(|(i, n)| (i, Setting::ByteOrder(n)))?,
            "checksum" => {
                let (i, algorithm) = expect(self.ident(i), "a checksum algorithm or `none`")?;
                let (i, covers) = match self.keyword(i, "over") {
                    Ok((i, _)) => expect(self.ident(i), "`message`").map(|(i, c)| (i, Some(c)))?,
                    Err(_) => (i, None),
                };
                (i, Setting::Checksum { algorithm, covers })
            }
            "framing" => expect(self.ident(i), "`packed`, `moldudp64` or `soupbintcp`")
                .map(|(i, n)| (i, Setting::Framing(n)))?,
            "type_code" => expect(self.ident(i), "`u8` or `char`")
                .map(|(i, n)| (i, Setting::TypeCode(n)))?,
            "reserved" => {
                let (i, _) = expect(self.keyword(i, "types"), "`types` and the retired type codes")?;
                self.numbers(i, "a retired type code")
                    .map(|(i, n)| (i, Setting::ReservedTypes(n)))?
            }
            "header" => {
                let (i, ty) = expect(self.ident(i), "the header struct's name")?;
                let (i, _) = expect(self.sym(i, "{"), "`{` and the header's roles")?;
                let mut roles = Vec::new();
                let mut i = i;
                loop {
                    if let Ok((r, _)) = self.sym(i, "}") {
                        i = r;
                        break;
                    }
                    let (r, role) = expect(self.ident(i), "a role (magic, length, type, version, session, sequence, timestamp, checksum)")?;
                    let (r, _) = expect(self.sym(r, "="), "`=` and a header field")?;
                    let (r, field) = expect(self.ident(r), "a header field name")?;
                    let (r, _) = expect(self.sym(r, ";"), "`;`")?;
                    roles.push((role, field));
                    i = r;
                }
                return Ok((i, (Setting::Header { ty, roles }, self.span(start, i))));
            }
            _ => return fail(
                start,
                "a protocol setting (version, min_version, byte_order, magic, checksum, header, framing, type_code, reserved types)",
            ),
        };
        let (i, _) = expect(self.sym(i, ";"), "`;`")?;
        Ok((i, (setting, self.span(start, i))))
    }

    fn schema(&mut self) -> SchemaAst {
        let mut items = Vec::new();
        let mut i = self.src;
        loop {
            let (rest, doc) = self.docs(i);
            if rest.is_empty() {
                if !doc.is_empty() {
                    self.diags.push(Diagnostic::error(
                        Span::new(self.pos(rest), self.pos(rest)),
                        "doc comment at end of file documents nothing",
                    ));
                }
                break;
            }
            match self.item(rest, doc) {
                Ok((r, item)) => {
                    items.push(item);
                    i = r;
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    let diag = self.expected(&e);
                    self.diags.push(diag);
                    i = self.next_item(skip_line(e.at.max_len_of(rest)));
                }
                Err(nom::Err::Incomplete(_)) => unreachable!("complete parsers only"),
            }
        }
        SchemaAst { items }
    }

    /// The next line that starts (at column 1) with an item keyword or a doc comment.
    fn next_item<'a>(&self, mut i: &'a str) -> &'a str {
        loop {
            if i.is_empty() {
                return i;
            }
            if self.line_start(i)
                && (i.starts_with("///")
                    || ITEM_KEYWORDS
                        .iter()
                        .any(|k| self.keyword(i, k).is_ok() && !i.starts_with(' ')))
            {
                return i;
            }
            i = skip_line(i);
        }
    }
}

/// Of two suffixes of the same text, the one further along (never behind `rest`).
trait Further<'a> {
    fn max_len_of(self, rest: &'a str) -> &'a str;
}

impl<'a> Further<'a> for &'a str {
    fn max_len_of(self, rest: &'a str) -> &'a str {
        if self.len() <= rest.len() {
            self
        } else {
            rest
        }
    }
}

/// Skips past the end of the current line.
fn skip_line(i: &str) -> &str {
    i.find('\n').map_or("", |n| &i[n + 1..])
}

/// A short description of the token at `i` and its length in bytes.
fn describe(i: &str) -> (String, usize) {
    let Some(c) = i.chars().next() else {
        return ("end of file".into(), 0);
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let n = i
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(i.len());
        (format!("`{}`", &i[..n]), n)
    } else {
        (format!("`{c}`"), c.len_utf8())
    }
}

/// Parses a schema; syntax errors come back as diagnostics beside what could be parsed.
pub fn parse(src: &str) -> (SchemaAst, Vec<Diagnostic>) {
    let mut p = Parser {
        src,
        diags: Vec::new(),
    };
    let ast = p.schema();
    (ast, p.diags)
}
