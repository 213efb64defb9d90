//! The comparisons, each question asked once: the protocol's settings, its channels, its
//! enumerations and flag sets, its messages, then the fields of every record both schemas
//! have (messages by name or type code, structs by name). Offsets and sizes come from the
//! layout pass; nothing here computes one.

use super::rules::RuleId::{self, *};
use super::{Class, Finding};
use crate::diagnostic::Span;
use crate::layout::{FieldLayout, RecordLayout};
use crate::model::*;
use crate::Laid;

/// Every difference between `old` and `new`, in the order of the new schema's text (items
/// only the old schema has, by their place there, after).
pub fn compare(old: &Laid, new: &Laid) -> Vec<Finding> {
    let mut c = Cmp {
        old,
        new,
        record: None,
        out: Vec::new(),
    };
    c.protocol();
    c.header_roles();
    c.channels();
    c.enums();
    c.messages();
    c.structs();
    c.version();
    c.out.sort_by_key(|f| {
        (
            f.new.is_none(),
            f.new.or(f.old).map_or(0, |s| s.start),
            f.rule,
        )
    });
    c.out
}

struct Cmp<'a> {
    old: &'a Laid,
    new: &'a Laid,
    /// The record the findings being made concern ([`Finding::record`]).
    record: Option<String>,
    out: Vec<Finding>,
}

/// One side of a record comparison: the record, its layout and the schema it is in.
#[derive(Clone, Copy)]
struct Rec<'a> {
    schema: &'a Schema,
    record: &'a Record,
    layout: &'a RecordLayout,
}

impl Rec<'_> {
    /// The non-reserved fields with their layouts.
    fn fields(&self) -> impl Iterator<Item = (usize, &Field, &FieldLayout)> {
        self.record
            .fields
            .iter()
            .zip(&self.layout.fields)
            .enumerate()
            .filter(|(_, (f, _))| !f.is_reserved())
            .map(|(i, (f, l))| (i, f, l))
    }

    fn field(&self, name: &str) -> Option<(usize, &Field, &FieldLayout)> {
        self.fields().find(|(_, f, _)| f.name == name)
    }

    /// The reserved run that holds byte `at`.
    fn reserved_at(&self, at: usize) -> Option<Span> {
        self.record
            .fields
            .iter()
            .zip(&self.layout.fields)
            .find(|(f, l)| f.is_reserved() && (l.offset..l.offset + l.size).contains(&at))
            .map(|(f, _)| f.span)
    }

    /// Whether every byte of `at..at + size` lies in a reserved run of this record.
    fn reserved(&self, at: usize, size: usize) -> bool {
        let end = at + size;
        end <= self.layout.size
            && self
                .record
                .fields
                .iter()
                .zip(&self.layout.fields)
                .filter(|(f, l)| f.is_reserved() && l.offset < end && at < l.offset + l.size)
                .map(|(_, l)| l.offset.max(at)..(l.offset + l.size).min(end))
                .map(|r| r.len())
                .sum::<usize>()
                == size
    }
}

/// A field's type as compared: what the bytes hold, resolved through the schema.
enum View<'a> {
    Int(Prim, Option<&'a Alias>),
    Enum(&'a Enum),
    Flags(&'a Enum),
    Text(usize),
    Struct(&'a Record, &'a RecordLayout),
    Array(Box<View<'a>>, usize),
    Reserved(usize),
}

fn view<'a>(laid: &'a Laid, ty: &Ty) -> View<'a> {
    let s = &laid.schema;
    match ty {
        Ty::Prim(p) => View::Int(*p, None),
        Ty::Alias(a) => View::Int(s.aliases[*a].prim, Some(&s.aliases[*a])),
        Ty::Enum(e) => View::Enum(&s.enums[*e]),
        Ty::Flags(f) => View::Flags(&s.flags[*f]),
        Ty::Struct(i) => View::Struct(&s.structs[*i], &laid.layout.structs[*i]),
        Ty::Array(e, n) => View::Array(Box::new(view(laid, e)), *n),
        Ty::Text(n) => View::Text(*n),
        Ty::Reserved(n) => View::Reserved(*n),
    }
}

/// Whether two enumerations or flag sets hold the same names for the same numbers.
fn same_values(a: &Enum, b: &Enum) -> bool {
    fn key(e: &Enum) -> Vec<(i64, &str)> {
        let mut v: Vec<(i64, &str)> = e
            .variants
            .iter()
            .map(|x| (x.value, x.name.as_str()))
            .collect();
        v.sort();
        v
    }
    a.repr == b.repr && key(a) == key(b)
}

/// How two types at the same offset and size differ, if they do: the rule and a phrase.
fn type_change(o: &View, n: &View) -> Option<(RuleId, String)> {
    let other = |what: &str| Some((FIELD_TYPE_CHANGED, what.to_string()));
    match (o, n) {
        (View::Int(a, aa), View::Int(b, ba)) => {
            if a.signed() != b.signed() && *a != Prim::Char && *b != Prim::Char {
                return Some((
                    FIELD_SIGN_CHANGED,
                    format!("is {}, was {}", b.name(), a.name()),
                ));
            }
            if a != b {
                return other(&format!("is {}, was {}", b.name(), a.name()));
            }
            let (sa, sb) = (aa.and_then(|x| x.scale), ba.and_then(|x| x.scale));
            if sa != sb {
                let d = |s: Option<u8>| s.map_or("none".to_string(), |s| s.to_string());
                return Some((
                    SCALE_CHANGED,
                    format!("has {} decimal places, had {}", d(sb), d(sa)),
                ));
            }
            let (na, nb) = (
                aa.map_or(a.name(), |x| &x.name),
                ba.map_or(a.name(), |x| &x.name),
            );
            (na != nb).then(|| (TYPE_RENAMED, format!("is of type `{nb}`, was `{na}`")))
        }
        (View::Enum(a), View::Enum(b)) | (View::Flags(a), View::Flags(b)) => {
            if a.name == b.name {
                None
            } else if same_values(a, b) {
                Some((
                    TYPE_RENAMED,
                    format!("is of type `{}`, was `{}`", b.name, a.name),
                ))
            } else {
                other(&format!("is `{}`, was `{}` (other values)", b.name, a.name))
            }
        }
        (View::Struct(a, al), View::Struct(b, bl)) => {
            let (sa, sb) = (shape(a, al), shape(b, bl));
            if a.name == b.name {
                None
            } else if sa == sb {
                Some((
                    TYPE_RENAMED,
                    format!("is of type `{}`, was `{}`", b.name, a.name),
                ))
            } else {
                other(&format!("is `{}`, was `{}` (other fields)", b.name, a.name))
            }
        }
        (View::Text(_), View::Text(_)) | (View::Reserved(_), View::Reserved(_)) => None,
        (View::Array(a, la), View::Array(b, lb)) => {
            if la != lb {
                Some((ARRAY_LENGTH_CHANGED, format!("has {lb} entries, had {la}")))
            } else {
                type_change(a, b)
            }
        }
        _ => other(&format!("is {}, was {}", kind(n), kind(o))),
    }
}

fn shape<'a>(r: &'a Record, l: &RecordLayout) -> Vec<(&'a str, usize, usize)> {
    r.fields
        .iter()
        .zip(&l.fields)
        .filter(|(f, _)| !f.is_reserved())
        .map(|(f, l)| (f.name.as_str(), l.offset, l.size))
        .collect()
}

fn kind(v: &View) -> String {
    match v {
        View::Int(p, None) => p.name().to_string(),
        View::Int(_, Some(a)) => format!("`{}`", a.name),
        View::Enum(e) => format!("the enumeration `{}`", e.name),
        View::Flags(e) => format!("the flag set `{}`", e.name),
        View::Text(n) => format!("text[{n}]"),
        View::Struct(r, _) => format!("the struct `{}`", r.name),
        View::Array(e, n) => format!("an array of {n} {}", kind(e)),
        View::Reserved(n) => format!("reserved[{n}]"),
    }
}

fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

fn checksum_name(c: Checksum) -> &'static str {
    match c {
        Checksum::None => "none",
        Checksum::Crc32c => "crc32c",
        Checksum::Crc32 => "crc32",
    }
}

fn type_code_name(t: TypeCodeAt) -> &'static str {
    match t {
        TypeCodeAt::Header => "the header's `type` role",
        TypeCodeAt::FirstByte { char_code: false } => "the first byte (u8)",
        TypeCodeAt::FirstByte { char_code: true } => "the first byte (char)",
    }
}

fn hex(m: Option<u32>) -> String {
    m.map_or("none".into(), |m| format!("{m:#010X}"))
}

impl Cmp<'_> {
    fn push(&mut self, rule: RuleId, old: Option<Span>, new: Option<Span>, message: String) {
        self.out.push(Finding {
            rule,
            message,
            old,
            new,
            record: self.record.clone(),
            notes: Vec::new(),
        });
    }

    fn note(&mut self, note: String) {
        if let Some(f) = self.out.last_mut() {
            f.notes.push(note);
        }
    }

    /// The protocol block: magic, byte order, checksum, framing, type code, min_version.
    fn protocol(&mut self) {
        let (o, n) = (&self.old.schema.protocol, &self.new.schema.protocol);
        let (oa, na) = (o.at, n.at);
        // Each setting: its rule, what it is called, its value in each schema, where.
        let settings = [
            (
                MAGIC_CHANGED,
                "magic",
                hex(o.magic),
                hex(n.magic),
                oa.magic,
                na.magic,
            ),
            (
                BYTE_ORDER_CHANGED,
                "byte order",
                o.byte_order.name().into(),
                n.byte_order.name().into(),
                oa.byte_order,
                na.byte_order,
            ),
            (
                CHECKSUM_CHANGED,
                "checksum",
                checksum_name(o.checksum).into(),
                checksum_name(n.checksum).into(),
                oa.checksum,
                na.checksum,
            ),
            (
                FRAMING_CHANGED,
                "framing",
                o.framing.name().into(),
                n.framing.name().into(),
                oa.framing,
                na.framing,
            ),
            (
                TYPE_CODE_POSITION_CHANGED,
                "type code's place",
                type_code_name(o.type_code).into(),
                type_code_name(n.type_code).into(),
                oa.type_code,
                na.type_code,
            ),
        ];
        for (rule, what, was, is, os, ns) in settings {
            if was != is {
                let msg = format!("the {what} is {is}, was {was}");
                let (os, ns) = (SettingSpans::or(os, o), SettingSpans::or(ns, n));
                self.push(rule, Some(os), Some(ns), msg);
            }
        }
        if n.min_version > o.min_version {
            let msg = format!(
                "min_version is {}, was {}: new readers refuse version {} messages",
                n.min_version, o.min_version, o.min_version
            );
            let (os, ns) = (
                SettingSpans::or(oa.min_version, o),
                SettingSpans::or(na.min_version, n),
            );
            self.push(MIN_VERSION_RAISED, Some(os), Some(ns), msg);
        }
    }

    /// Each header role: the offset and size of the field that plays it. A role whose field
    /// moved with it is the field's finding (FIELD_MOVED), not the role's.
    fn header_roles(&mut self) {
        let (po, pn) = (role_places(self.old), role_places(self.new));
        if po.is_none() && pn.is_none() {
            return;
        }
        let (o, n) = (&self.old.schema.protocol, &self.new.schema.protocol);
        let (oat, nat) = (
            SettingSpans::or(o.at.header, o),
            SettingSpans::or(n.at.header, n),
        );
        for i in 0..8 {
            let ro = po.as_ref().and_then(|p| p[i].1);
            let rn = pn.as_ref().and_then(|p| p[i].1);
            let role = po
                .as_ref()
                .or(pn.as_ref())
                .map_or("", |p| p[i].0)
                .to_lowercase();
            let moved_with_field = |(_, _, f): (usize, usize, &Field)| {
                let h = self.new.schema.protocol.header.as_ref();
                h.is_some_and(|h| {
                    let rec = &self.new.schema.structs[h.id];
                    let lay = &self.new.layout.structs[h.id];
                    rec.fields.iter().zip(&lay.fields).any(|(nf, nl)| {
                        nf.name == f.name
                            && rn.is_some_and(|(off, size, _)| (nl.offset, nl.size) == (off, size))
                    })
                })
            };
            let describe = |r: Option<(usize, usize, &Field)>| {
                r.map_or("no field".to_string(), |(off, size, f)| {
                    format!("`{}` ({size} bytes at {off})", f.name)
                })
            };
            let same = ro.map(|(a, b, _)| (a, b)) == rn.map(|(a, b, _)| (a, b));
            // Where the type code is read from is TYPE_CODE_POSITION_CHANGED's finding.
            let type_code_moved = role == "type" && o.type_code != n.type_code;
            if same || type_code_moved || ro.is_some_and(moved_with_field) {
                continue;
            }
            let msg = format!(
                "the header's `{role}` role is {}, was {}",
                describe(rn),
                describe(ro)
            );
            let spans = (
                ro.map_or(oat, |(_, _, f)| f.span),
                rn.map_or(nat, |(_, _, f)| f.span),
            );
            self.push(HEADER_ROLE_MOVED, Some(spans.0), Some(spans.1), msg);
        }
    }

    fn channels(&mut self) {
        let (old, new) = (&self.old.schema.channels, &self.new.schema.channels);
        for oc in old {
            let Some(nc) = new.iter().find(|c| c.name == oc.name) else {
                let msg = format!("channel `{}` is gone", oc.name);
                let at = self.new.schema.protocol.span;
                self.push(CHANNEL_REMOVED, Some(oc.span), Some(at), msg);
                continue;
            };
            if oc.id != nc.id {
                let msg = format!("channel `{}` has id {}, had {}", oc.name, nc.id, oc.id);
                self.push(CHANNEL_ID_CHANGED, Some(oc.span), Some(nc.span), msg);
            }
            if nc.first > oc.first || nc.last < oc.last {
                let msg = format!(
                    "channel `{}` takes type codes {:#04x}..={:#04x}, took {:#04x}..={:#04x}",
                    oc.name, nc.first, nc.last, oc.first, oc.last
                );
                self.push(CHANNEL_RANGE_NARROWED, Some(oc.span), Some(nc.span), msg);
            }
        }
        for nc in new.iter().filter(|c| !old.iter().any(|o| o.name == c.name)) {
            let msg = format!("channel `{}` (id {}) is new", nc.name, nc.id);
            let at = self.old.schema.protocol.span;
            self.push(CHANNEL_ADDED, Some(at), Some(nc.span), msg);
        }
    }

    /// Enumerations and flag sets present in both schemas, by name (the channels'
    /// enumeration is the channels' business).
    fn enums(&mut self) {
        let (o, n) = (&self.old.schema, &self.new.schema);
        let not_channels = |s: &Schema, id: EnumId| s.channel_enum != Some(id);
        for (_, oe) in o.enums.enumerate().filter(|(id, _)| not_channels(o, *id)) {
            let found = n
                .enums
                .enumerate()
                .find(|(id, e)| e.name == oe.name && not_channels(n, *id));
            if let Some((_, ne)) = found {
                self.values(oe, ne, false);
            }
        }
        for of in &o.flags {
            if let Some(nf) = n.flags.iter().find(|f| f.name == of.name) {
                self.values(of, nf, true);
            }
        }
    }

    /// The variants of one enumeration or flag set.
    fn values(&mut self, o: &Enum, n: &Enum, flags: bool) {
        let (kind, value) = if flags {
            ("flags", "bit")
        } else {
            ("enum", "value")
        };
        let who = format!("{kind} `{}`", o.name);
        if o.repr != n.repr {
            let msg = format!(
                "{who} is stored as {}, was {}",
                n.repr.name(),
                o.repr.name()
            );
            self.push(ENUM_WIDTH_CHANGED, Some(o.span), Some(n.span), msg);
        }
        for ov in &o.variants {
            if let Some(nv) = n.variants.iter().find(|v| v.name == ov.name) {
                if nv.value != ov.value {
                    let msg = format!(
                        "{who}: `{}` is {value} {}, was {}",
                        ov.name, nv.value, ov.value
                    );
                    self.push(ENUM_VALUE_RENUMBERED, Some(ov.span), Some(nv.span), msg);
                }
                continue;
            }
            if let Some(nv) = n.variants.iter().find(|v| v.value == ov.value) {
                if !o.variants.iter().any(|x| x.name == nv.name) {
                    let msg = format!(
                        "{who}: {value} {} is `{}`, was `{}`",
                        ov.value, nv.name, ov.name
                    );
                    self.push(ENUM_VALUE_RENAMED, Some(ov.span), Some(nv.span), msg);
                    continue;
                }
            }
            let rule = if flags {
                FLAGS_BIT_REMOVED
            } else {
                ENUM_VALUE_REMOVED
            };
            let msg = format!("{who}: `{}` ({value} {}) is gone", ov.name, ov.value);
            self.push(rule, Some(ov.span), Some(n.span), msg);
            let note = if n.is_reserved(ov.value) {
                format!(
                    "{} is reserved in the new schema, so it cannot be reused",
                    ov.value
                )
            } else {
                format!(
                    "help: add `reserved {};` to `{}` so that no later version reuses it",
                    ov.value, n.name
                )
            };
            self.note(note);
        }
        let new_values = n.variants.iter().filter(|nv| {
            !o.variants
                .iter()
                .any(|ov| ov.name == nv.name || ov.value == nv.value)
        });
        for nv in new_values {
            let (rule, what) = if o.is_reserved(nv.value) {
                (ENUM_VALUE_REUSED, "takes a reserved")
            } else if flags {
                (FLAGS_BIT_ADDED, "is a new")
            } else {
                (ENUM_VALUE_ADDED, "is a new")
            };
            let msg = format!("{who}: `{}` {what} {value}, {}", nv.name, nv.value);
            self.push(rule, Some(o.span), Some(nv.span), msg);
        }
    }

    /// Messages by name; a name only one side has is matched by its type code.
    fn messages(&mut self) {
        let (o, n) = (self.old, self.new);
        let code = |r: &Record| r.message.map_or(0, |m| m.type_code);
        for (oid, om) in o.schema.messages.enumerate() {
            self.record = Some(om.name.clone());
            let orec = rec(o, om, &o.layout.messages[oid]);
            if let Some((nid, nm)) = n
                .schema
                .messages
                .enumerate()
                .find(|(_, m)| m.name == om.name)
            {
                self.message(orec, rec(n, nm, &n.layout.messages[nid]));
                continue;
            }
            let by_code = n
                .schema
                .messages
                .enumerate()
                .find(|(_, m)| code(m) == code(om));
            match by_code {
                Some((nid, nm)) if !o.schema.messages.iter().any(|m| m.name == nm.name) => {
                    let nrec = rec(n, nm, &n.layout.messages[nid]);
                    let renamed = orec.fields().all(|(_, f, l)| {
                        nrec.field(&f.name)
                            .is_some_and(|(_, _, nl)| (nl.offset, nl.size) == (l.offset, l.size))
                    });
                    self.record = Some(nm.name.clone());
                    if renamed {
                        let msg = format!(
                            "message {:#04x} is `{}`, was `{}`",
                            code(om),
                            nm.name,
                            om.name
                        );
                        self.push(MESSAGE_RENAMED, Some(om.span), Some(nm.span), msg);
                        self.message(orec, nrec);
                    } else {
                        let msg = format!(
                            "type code {:#04x} is message `{}`, was `{}`",
                            code(om),
                            nm.name,
                            om.name
                        );
                        self.push(TYPE_CODE_REUSED, Some(om.span), Some(nm.span), msg);
                    }
                }
                // Another message of the old schema has that name: its own comparison
                // reports the code change.
                Some(_) => {}
                None => self.removed(om),
            }
        }
        for nm in &n.schema.messages {
            let in_old = |m: &Record| m.name == nm.name || code(m) == code(nm);
            if o.schema.messages.iter().any(in_old) {
                continue;
            }
            self.record = Some(nm.name.clone());
            let c = code(nm);
            if o.schema
                .protocol
                .reserved_types
                .iter()
                .any(|(r, _)| *r == c)
            {
                let msg = format!(
                    "message `{}` takes type code {c:#04x}, which the old schema reserved",
                    nm.name
                );
                self.push(
                    TYPE_CODE_REUSED,
                    Some(o.schema.protocol.span),
                    Some(nm.span),
                    msg,
                );
            } else {
                let msg = format!("message `{}` (type code {c:#04x}) is new", nm.name);
                self.push(
                    MESSAGE_ADDED,
                    Some(o.schema.protocol.span),
                    Some(nm.span),
                    msg,
                );
            }
        }
        self.record = None;
    }

    fn removed(&mut self, om: &Record) {
        let c = om.message.map_or(0, |m| m.type_code);
        let n = &self.new.schema.protocol;
        let msg = format!("message `{}` (type code {c:#04x}) is gone", om.name);
        self.push(MESSAGE_REMOVED, Some(om.span), Some(n.span), msg);
        let note = if n.reserved_types.iter().any(|(r, _)| *r == c) {
            format!("{c:#04x} is reserved in the new schema, so it cannot be reused")
        } else {
            format!("help: add `reserved types {c:#04x};` to the protocol block so that no later version reuses it")
        };
        self.note(note);
    }

    /// A message both schemas have: its code, channel and size, then its fields.
    fn message(&mut self, o: Rec, n: Rec) {
        let (om, nm) = (o.record, n.record);
        let (oi, ni) = (
            om.message.expect("a message"),
            nm.message.expect("a message"),
        );
        let who = format!("message `{}`", nm.name);
        if oi.type_code != ni.type_code && om.name == nm.name {
            let msg = format!(
                "{who} has type code {:#04x}, had {:#04x}",
                ni.type_code, oi.type_code
            );
            self.push(TYPE_CODE_CHANGED, Some(om.span), Some(nm.span), msg);
        }
        let channel = |r: Rec, c: Option<ChannelId>| c.map(|c| r.schema.channels[c].name.clone());
        let (oc, nc) = (channel(o, oi.channel), channel(n, ni.channel));
        if oc != nc {
            let name = |c: Option<String>| c.unwrap_or_else(|| "none".into());
            let msg = format!("{who} is on channel `{}`, was on `{}`", name(nc), name(oc));
            self.push(MESSAGE_CHANNEL_CHANGED, Some(om.span), Some(nm.span), msg);
        }
        if o.layout.size != n.layout.size {
            let msg = format!(
                "{who} is {}, was {}",
                bytes(n.layout.size),
                bytes(o.layout.size)
            );
            let at = |r: &Record| Some(r.size_span.unwrap_or(r.span));
            self.push(MESSAGE_SIZE_CHANGED, at(om), at(nm), msg);
        }
        self.fields(&who, o, n);
    }

    /// Structs both schemas have, by name.
    fn structs(&mut self) {
        let (o, n) = (self.old, self.new);
        for (oid, os) in o.schema.structs.enumerate() {
            if let Some((nid, ns)) = n
                .schema
                .structs
                .enumerate()
                .find(|(_, s)| s.name == os.name)
            {
                self.record = Some(ns.name.clone());
                let who = format!("struct `{}`", ns.name);
                self.fields(
                    &who,
                    rec(o, os, &o.layout.structs[oid]),
                    rec(n, ns, &n.layout.structs[nid]),
                );
            }
        }
        self.record = None;
    }

    /// The fields of one record: by name, then renames, removals and fields carved from
    /// reserved bytes.
    fn fields(&mut self, who: &str, o: Rec, n: Rec) {
        let mut matched: Vec<usize> = Vec::new();
        for (_, of, ol) in o.fields() {
            if let Some((ni, nf, nl)) = n.field(&of.name) {
                matched.push(ni);
                self.field(who, (o, of, ol), (n, nf, nl));
            }
        }
        for (_, of, ol) in o.fields().filter(|(_, f, _)| n.field(&f.name).is_none()) {
            let rename = n.fields().find(|(ni, nf, nl)| {
                !matched.contains(ni)
                    && o.field(&nf.name).is_none()
                    && (nl.offset, nl.size) == (ol.offset, ol.size)
                    && type_change(&view(self.old, &of.ty), &view(self.new, &nf.ty))
                        .is_none_or(|(r, _)| r == TYPE_RENAMED)
            });
            if let Some((ni, nf, _)) = rename {
                matched.push(ni);
                let msg = format!("{who}: field `{}` is `{}`", of.name, nf.name);
                self.push(FIELD_RENAMED, Some(of.span), Some(nf.span), msg);
            } else if n.reserved(ol.offset, ol.size) {
                let msg = format!(
                    "{who}: field `{}` is gone, its {} at {} reserved",
                    of.name,
                    bytes(ol.size),
                    ol.offset
                );
                self.push(FIELD_REMOVED, Some(of.span), Some(n.record.span), msg);
            } else if ol.offset + ol.size <= n.layout.size {
                let msg = format!(
                    "{who}: field `{}` is gone, and other fields hold its {} at {}",
                    of.name,
                    bytes(ol.size),
                    ol.offset
                );
                self.push(FIELD_REPLACED, Some(of.span), Some(n.record.span), msg);
            }
        }
        let version = o.schema.protocol.version;
        for (_, nf, nl) in n.fields().filter(|(i, _, _)| !matched.contains(i)) {
            if !o.reserved(nl.offset, nl.size) {
                continue;
            }
            let (rule, since) = if nf.since > version {
                (RESERVED_CARVED, format!("since {}", nf.since))
            } else {
                (
                    FIELD_CARVED_WITHOUT_SINCE,
                    format!("since {}, not after version {version}", nf.since),
                )
            };
            let msg = format!(
                "{who}: field `{}` ({} at {}, {since}) is carved from reserved bytes",
                nf.name,
                bytes(nl.size),
                nl.offset
            );
            let was = o.reserved_at(nl.offset).unwrap_or(o.record.span);
            self.push(rule, Some(was), Some(nf.span), msg);
            if rule == RESERVED_CARVED {
                self.note("safe because writers of the old versions zeroed reserved bytes (SPEC.md §1) and the field is absent, not zero, in their messages".into());
            }
        }
    }

    /// One field both records have, by name.
    fn field(&mut self, who: &str, o: (Rec, &Field, &FieldLayout), n: (Rec, &Field, &FieldLayout)) {
        let ((orec, of, ol), (nrec, nf, nl)) = (o, n);
        let who = format!("{who}: field `{}`", nf.name);
        let spans = (Some(of.span), Some(nf.span));
        if ol.offset != nl.offset {
            let msg = format!("{who} is at offset {}, was at {}", nl.offset, ol.offset);
            self.push(FIELD_MOVED, spans.0, spans.1, msg);
        }
        let (ov, nv) = (view(self.old, &of.ty), view(self.new, &nf.ty));
        let change = type_change(&ov, &nv);
        if ol.size != nl.size {
            let width_of_same_enum = matches!((&ov, &nv),
                (View::Enum(a), View::Enum(b)) | (View::Flags(a), View::Flags(b)) if a.name == b.name);
            match change {
                Some((ARRAY_LENGTH_CHANGED, m)) => {
                    self.push(ARRAY_LENGTH_CHANGED, spans.0, spans.1, format!("{who} {m}"))
                }
                _ if width_of_same_enum => {}
                _ => {
                    let msg = format!("{who} is {}, was {}", bytes(nl.size), bytes(ol.size));
                    self.push(FIELD_RESIZED, spans.0, spans.1, msg);
                }
            }
        } else if let Some((rule, m)) = change {
            self.push(rule, spans.0, spans.1, format!("{who} {m}"));
        }
        if matches!((&ov, &nv), (View::Text(_), View::Text(_))) && of.pad != nf.pad {
            let msg = format!("{who} is padded with {:?}, was with {:?}", nf.pad, of.pad);
            self.push(TEXT_PADDING_CHANGED, spans.0, spans.1, msg);
        }
        let wide = |s: &crate::layout::Shape| {
            s.scalar().is_some_and(|p| p.size() > 1) || s.is_array_of_wide_ints()
        };
        let same_protocol_order =
            orec.schema.protocol.byte_order == nrec.schema.protocol.byte_order;
        if of.order != nf.order && same_protocol_order && wide(&ol.shape) && wide(&nl.shape) {
            let msg = format!(
                "{who} is {}-endian, was {}-endian",
                nf.order.name(),
                of.order.name()
            );
            self.push(FIELD_BYTE_ORDER_CHANGED, spans.0, spans.1, msg);
        }
        if of.since != nf.since {
            let msg = format!(
                "{who} is since version {}, was since {}",
                nf.since, of.since
            );
            self.push(FIELD_SINCE_CHANGED, spans.0, spans.1, msg);
        }
        let target = |r: Rec, f: &Field| f.count_of.map(|i| r.record.fields[i].name.clone());
        let (ot, nt) = (target(orec, of), target(nrec, nf));
        if ot != nt {
            let name = |t: Option<String>| t.map_or("nothing".to_string(), |t| format!("`{t}`"));
            let msg = format!("{who} counts {}, counted {}", name(nt), name(ot));
            self.push(COUNT_CHANGED, spans.0, spans.1, msg);
        }
    }

    /// Any change of the bytes needs a higher version.
    fn version(&mut self) {
        let (o, n) = (&self.old.schema.protocol, &self.new.schema.protocol);
        if n.version > o.version || !self.out.iter().any(|f| f.class() != Class::Source) {
            return;
        }
        let msg = format!(
            "the bytes changed ({} findings) and the version is {}, was {}",
            self.out
                .iter()
                .filter(|f| f.class() != Class::Source)
                .count(),
            n.version,
            o.version
        );
        let at = |p: &Protocol| Some(SettingSpans::or(p.at.version, p));
        self.push(VERSION_NOT_BUMPED, at(o), at(n), msg);
    }
}

/// Each header role's field: offset, size and the field (None: no header, or no such role).
type RolePlaces<'a> = [(&'static str, Option<(usize, usize, &'a Field)>); 8];

fn role_places(laid: &Laid) -> Option<RolePlaces<'_>> {
    let h = laid.schema.protocol.header.as_ref()?;
    let (rec, lay) = (&laid.schema.structs[h.id], &laid.layout.structs[h.id]);
    Some(h.roles.named().map(|(role, f)| {
        (
            role,
            f.map(|f| (lay.fields[f].offset, lay.fields[f].size, &rec.fields[f])),
        )
    }))
}

fn rec<'a>(laid: &'a Laid, record: &'a Record, layout: &'a RecordLayout) -> Rec<'a> {
    Rec {
        schema: &laid.schema,
        record,
        layout,
    }
}
