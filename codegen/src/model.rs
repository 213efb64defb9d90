//! The checked schema: names resolved, numbers range-checked. Offsets are not here; the
//! [layout pass](crate::layout) computes them once, for every emitter.

use crate::diagnostic::Span;
pub use crate::id::{AliasId, ChannelId, EnumId, FlagsId, MessageId, StructId, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

impl Prim {
    pub const ALL: [Prim; 8] = [
        Prim::U8,
        Prim::U16,
        Prim::U32,
        Prim::U64,
        Prim::I8,
        Prim::I16,
        Prim::I32,
        Prim::I64,
    ];

    pub fn from_name(name: &str) -> Option<Prim> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The schema's (and Rust's) spelling.
    pub fn name(self) -> &'static str {
        match self {
            Prim::U8 => "u8",
            Prim::U16 => "u16",
            Prim::U32 => "u32",
            Prim::U64 => "u64",
            Prim::I8 => "i8",
            Prim::I16 => "i16",
            Prim::I32 => "i32",
            Prim::I64 => "i64",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Prim::U8 | Prim::I8 => 1,
            Prim::U16 | Prim::I16 => 2,
            Prim::U32 | Prim::I32 => 4,
            Prim::U64 | Prim::I64 => 8,
        }
    }

    pub fn signed(self) -> bool {
        matches!(self, Prim::I8 | Prim::I16 | Prim::I32 | Prim::I64)
    }

    pub fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.size() * 8 - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.size() * 8 - 1)) - 1
        } else {
            (1i128 << (self.size() * 8)) - 1
        }
    }
}

/// A field's type, with names resolved to ids into [`Schema`]'s tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Prim(Prim),
    Alias(AliasId),
    Enum(EnumId),
    Flags(FlagsId),
    Struct(StructId),
    Array(Box<Ty>, usize),
    Text(usize),
    Reserved(usize),
}

#[derive(Debug, Clone)]
pub struct Alias {
    pub name: String,
    pub doc: Vec<String>,
    pub prim: Prim,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub doc: Vec<String>,
    /// The value for an enum; the bit number for a flag.
    pub value: i64,
}

/// An enumeration, a flag set, or the enumeration of channels.
#[derive(Debug, Clone)]
pub struct Enum {
    pub name: String,
    pub doc: Vec<String>,
    pub repr: Prim,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub doc: Vec<String>,
    pub id: u8,
    pub first: u8,
    pub last: u8,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub doc: Vec<String>,
    pub ty: Ty,
    /// Protocol version the field exists from (1 for the original fields).
    pub since: u8,
    /// Index of the array field this one counts.
    pub count_of: Option<usize>,
    pub span: Span,
}

impl Field {
    pub fn is_reserved(&self) -> bool {
        matches!(self.ty, Ty::Reserved(_))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MessageInfo {
    pub type_code: u8,
    pub channel: ChannelId,
}

/// A struct (composite) or a message: a fixed sequence of fields.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub doc: Vec<String>,
    pub declared_size: Option<usize>,
    pub fields: Vec<Field>,
    pub span: Span,
    pub size_span: Option<Span>,
    pub message: Option<MessageInfo>,
}

impl Record {
    /// The field (its index) that counts the entries of array field `array`, if one does.
    /// The one answer to "which field counts this array"; the reverse is [`Field::count_of`].
    pub fn counter_of(&self, array: usize) -> Option<usize> {
        self.fields.iter().position(|f| f.count_of == Some(array))
    }

    /// Whether array field `array` has a count (so only its first entries carry data).
    pub fn is_counted(&self, array: usize) -> bool {
        self.counter_of(array).is_some()
    }
}

/// Something per header role the runtime needs: in the model, which header field plays the
/// role (`HeaderRoles<usize>`, an index into the header's fields); from the layout pass,
/// where it sits ([`crate::layout::Layout::header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRoles<T = usize> {
    pub magic: T,
    pub length: T,
    pub msg_type: T,
    pub version: T,
    pub session: T,
    pub sequence: T,
    pub timestamp: T,
    pub checksum: T,
}

impl<T: Copy> HeaderRoles<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> HeaderRoles<U> {
        HeaderRoles {
            magic: f(self.magic),
            length: f(self.length),
            msg_type: f(self.msg_type),
            version: f(self.version),
            session: f(self.session),
            sequence: f(self.sequence),
            timestamp: f(self.timestamp),
            checksum: f(self.checksum),
        }
    }

    /// Every role with its name as the bindings spell their constants (`MAGIC` for
    /// `MAGIC_OFFSET`, `magic_offset`), in declaration order.
    pub fn named(self) -> [(&'static str, T); 8] {
        [
            ("MAGIC", self.magic),
            ("LENGTH", self.length),
            ("TYPE", self.msg_type),
            ("VERSION", self.version),
            ("SESSION", self.session),
            ("SEQUENCE", self.sequence),
            ("TIMESTAMP", self.timestamp),
            ("CHECKSUM", self.checksum),
        ]
    }

    /// The roles an encoder derives from the message itself: magic, length, type, version
    /// and the checksum over the rest. Session, sequence and timestamp the sender supplies.
    pub fn derived(self) -> [T; 5] {
        [
            self.magic,
            self.length,
            self.msg_type,
            self.version,
            self.checksum,
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Protocol {
    pub name: String,
    pub doc: Vec<String>,
    pub version: u8,
    pub min_version: u8,
    pub magic: u32,
    /// The header struct.
    pub header: StructId,
    pub roles: HeaderRoles,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub protocol: Protocol,
    pub aliases: Table<AliasId, Alias>,
    /// Enumerations, including the one generated from the channels (see `channel_enum`).
    pub enums: Table<EnumId, Enum>,
    pub flags: Table<FlagsId, Enum>,
    pub channels: Table<ChannelId, Channel>,
    /// The enumeration of channels, if any channel is declared.
    pub channel_enum: Option<EnumId>,
    pub structs: Table<StructId, Record>,
    pub messages: Table<MessageId, Record>,
}

impl Schema {
    /// The integer a field's type is stored as, if it is a scalar.
    pub fn scalar_prim(&self, ty: &Ty) -> Option<Prim> {
        match ty {
            Ty::Prim(p) => Some(*p),
            Ty::Alias(a) => Some(self.aliases[*a].prim),
            Ty::Enum(e) => Some(self.enums[*e].repr),
            Ty::Flags(f) => Some(self.flags[*f].repr),
            _ => None,
        }
    }

    /// The schema's name for a type, as written.
    pub fn type_name(&self, ty: &Ty) -> String {
        match ty {
            Ty::Prim(p) => p.name().to_string(),
            Ty::Alias(i) => self.aliases[*i].name.clone(),
            Ty::Enum(i) => self.enums[*i].name.clone(),
            Ty::Flags(i) => self.flags[*i].name.clone(),
            Ty::Struct(i) => self.structs[*i].name.clone(),
            Ty::Array(e, n) => format!("[{}; {n}]", self.type_name(e)),
            Ty::Text(n) => format!("text[{n}]"),
            Ty::Reserved(n) => format!("reserved[{n}]"),
        }
    }

    pub fn header(&self) -> &Record {
        &self.structs[self.protocol.header]
    }
}
