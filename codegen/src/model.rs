//! The checked schema: names resolved, numbers range-checked. Offsets are not here; the
//! [layout pass](crate::layout) computes them once, for every emitter.

use crate::diagnostic::Span;
pub use crate::id::{AliasId, ChannelId, EnumId, FlagsId, MessageId, StructId, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    U8,
    U16,
    U24,
    U32,
    U48,
    U64,
    I8,
    I16,
    I24,
    I32,
    I48,
    I64,
    /// One printable ASCII byte (ITCH's `Alpha(1)`), stored as its code.
    Char,
}

impl Prim {
    pub const ALL: [Prim; 13] = [
        Prim::U8,
        Prim::U16,
        Prim::U24,
        Prim::U32,
        Prim::U48,
        Prim::U64,
        Prim::I8,
        Prim::I16,
        Prim::I24,
        Prim::I32,
        Prim::I48,
        Prim::I64,
        Prim::Char,
    ];

    pub fn from_name(name: &str) -> Option<Prim> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The schema's spelling (and Rust's, for the native widths).
    pub fn name(self) -> &'static str {
        match self {
            Prim::U8 => "u8",
            Prim::U16 => "u16",
            Prim::U24 => "u24",
            Prim::U32 => "u32",
            Prim::U48 => "u48",
            Prim::U64 => "u64",
            Prim::I8 => "i8",
            Prim::I16 => "i16",
            Prim::I24 => "i24",
            Prim::I32 => "i32",
            Prim::I48 => "i48",
            Prim::I64 => "i64",
            Prim::Char => "char",
        }
    }

    /// Whether the width is one a machine has (8, 16, 32 or 64 bits): the others (24, 48)
    /// are read into the next one up.
    pub fn is_native(self) -> bool {
        !matches!(self, Prim::U24 | Prim::U48 | Prim::I24 | Prim::I48)
    }

    pub fn size(self) -> usize {
        match self {
            Prim::U8 | Prim::I8 | Prim::Char => 1,
            Prim::U16 | Prim::I16 => 2,
            Prim::U24 | Prim::I24 => 3,
            Prim::U32 | Prim::I32 => 4,
            Prim::U48 | Prim::I48 => 6,
            Prim::U64 | Prim::I64 => 8,
        }
    }

    pub fn signed(self) -> bool {
        matches!(
            self,
            Prim::I8 | Prim::I16 | Prim::I24 | Prim::I32 | Prim::I48 | Prim::I64
        )
    }

    pub fn min(self) -> i128 {
        if self == Prim::Char {
            0x20
        } else if self.signed() {
            -(1i128 << (self.size() * 8 - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self == Prim::Char {
            0x7e
        } else if self.signed() {
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
    /// Implied decimal places (`type Price4 = u32 scale 4`: the value is the integer × 10⁻⁴).
    pub scale: Option<u8>,
    /// The alias's own byte order (`type X = u32be`), over the protocol's.
    pub order: Option<ByteOrder>,
    /// Its name in the schema.
    pub span: Span,
}

/// How multi-byte integers are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

/// What fills a text field after its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Padding {
    /// NUL bytes (RLTOP): the text ends at the first NUL.
    #[default]
    Nul,
    /// Spaces, the text left-aligned (ITCH's `Alpha`): trailing spaces are padding.
    Space,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub doc: Vec<String>,
    /// The value for an enum; the bit number for a flag.
    pub value: i64,
    /// Its name in the schema.
    pub span: Span,
}

/// An enumeration, a flag set, or the enumeration of channels.
#[derive(Debug, Clone)]
pub struct Enum {
    pub name: String,
    pub doc: Vec<String>,
    pub repr: Prim,
    pub variants: Vec<Variant>,
    /// Retired values (bit numbers for flags) that no variant may take again
    /// (`reserved 3, 5;`), each with where it is written.
    pub reserved: Vec<(i64, Span)>,
    /// Its name in the schema (the channels' enumeration: the first channel's).
    pub span: Span,
}

impl Enum {
    /// Whether `value` is retired: reserved, so no variant may take it again.
    pub fn is_reserved(&self, value: i64) -> bool {
        self.reserved.iter().any(|(v, _)| *v == value)
    }
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub doc: Vec<String>,
    pub id: u8,
    pub first: u8,
    pub last: u8,
    /// Its name in the schema.
    pub span: Span,
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
    /// The byte order of its integers (the type's own, else the protocol's).
    pub order: ByteOrder,
    /// For text: what pads it.
    pub pad: Padding,
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
    /// Written as a character (`type 'A'`).
    pub char_code: bool,
    /// The channel it is published on (a protocol without channels has none).
    pub channel: Option<ChannelId>,
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

/// The integrity check of each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    None,
    /// CRC-32C (Castagnoli) over the whole message, its own field taken as zero.
    Crc32c,
    /// CRC-32 (IEEE 802.3) over the whole message, its own field taken as zero.
    Crc32,
}

/// How messages sit in a datagram or a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Back to back, each as long as its header's `length` (or its type's size).
    Packed,
    /// NASDAQ MoldUDP64: a 20-byte header (session `text[10]` space-padded, sequence u64,
    /// count u16, big-endian), then `count` messages each behind a big-endian u16 length.
    /// Count 0 is a heartbeat, 0xFFFF the end of the session.
    MoldUdp64,
    /// NASDAQ SoupBinTCP: packets of a big-endian u16 length and a packet-type character;
    /// sequenced data packets (`S`) carry one message each.
    SoupBinTcp,
}

impl Framing {
    pub fn name(self) -> &'static str {
        match self {
            Framing::Packed => "packed",
            Framing::MoldUdp64 => "moldudp64",
            Framing::SoupBinTcp => "soupbintcp",
        }
    }
}

/// Where a message's type code is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeCodeAt {
    /// The header's `type` role.
    Header,
    /// The first byte of every message (ITCH), as a number or a character.
    FirstByte { char_code: bool },
}

/// A protocol's header struct and the fields that play its roles (each role optional).
#[derive(Debug, Clone)]
pub struct Header {
    pub id: StructId,
    pub roles: HeaderRoles<Option<usize>>,
}

#[derive(Debug, Clone)]
pub struct Protocol {
    pub name: String,
    pub doc: Vec<String>,
    /// The protocol's name in the schema.
    pub span: Span,
    /// The schema's protocol version (1 when not declared); bounds `since`.
    pub version: u8,
    pub min_version: u8,
    pub magic: Option<u32>,
    pub byte_order: ByteOrder,
    pub checksum: Checksum,
    pub framing: Framing,
    pub type_code: TypeCodeAt,
    pub header: Option<Header>,
    /// Retired type codes that no message may take again (`reserved types 0x74;`).
    pub reserved_types: Vec<(u8, Span)>,
    /// Where each setting is written, for diagnostics that compare schemas.
    pub at: SettingSpans,
}

/// Where each protocol setting is written (None: not written, the default holds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingSpans {
    pub version: Option<Span>,
    pub min_version: Option<Span>,
    pub magic: Option<Span>,
    pub byte_order: Option<Span>,
    pub checksum: Option<Span>,
    pub framing: Option<Span>,
    pub type_code: Option<Span>,
    pub header: Option<Span>,
}

impl SettingSpans {
    /// A setting's span, or the protocol's name when the setting is not written.
    pub fn or(at: Option<Span>, protocol: &Protocol) -> Span {
        at.unwrap_or(protocol.span)
    }
}

/// RLTOP's shape, which every generator of this version emits: a header with all eight
/// roles, a magic, CRC-32C over the message, little-endian, packed framing, and no integer
/// widths, characters, padding or scales beyond RLTOP's. [`Schema::framed`] answers whether
/// a schema has it.
#[derive(Debug, Clone, Copy)]
pub struct Framed {
    pub header: StructId,
    pub roles: HeaderRoles,
    pub magic: u32,
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

    /// The header record of a framed schema.
    pub fn header(&self, framed: &Framed) -> &Record {
        &self.structs[framed.header]
    }

    /// RLTOP's shape, or every way this schema differs from it (what the generators of this
    /// version cannot emit yet).
    pub fn framed(&self) -> Result<Framed, Vec<String>> {
        let p = &self.protocol;
        let mut not = Vec::new();
        if p.byte_order != ByteOrder::Little {
            not.push("it is big-endian".to_string());
        }
        if p.checksum != Checksum::Crc32c {
            not.push("its checksum is not CRC-32C".to_string());
        }
        if p.framing != Framing::Packed {
            not.push(format!("its framing is {}", p.framing.name()));
        }
        let roles = p.header.as_ref().map(|h| h.roles);
        let all_roles = roles.and_then(|r| {
            Some(HeaderRoles {
                magic: r.magic?,
                length: r.length?,
                msg_type: r.msg_type?,
                version: r.version?,
                session: r.session?,
                sequence: r.sequence?,
                timestamp: r.timestamp?,
                checksum: r.checksum?,
            })
        });
        if all_roles.is_none() {
            not.push("it has no header with all eight roles".to_string());
        }
        if p.magic.is_none() {
            not.push("it has no magic".to_string());
        }
        // Each kind of field once, with the first field of that kind as the example.
        let records = self.structs.iter().chain(self.messages.iter());
        let mut kinds: Vec<(&str, &str)> = Vec::new();
        for f in records.flat_map(|r| r.fields.iter()) {
            let prim = self.scalar_prim(&f.ty).or(match &f.ty {
                Ty::Array(e, _) => self.scalar_prim(e),
                _ => None,
            });
            let mut kind = |what| {
                if !kinds.iter().any(|(k, _)| *k == what) {
                    kinds.push((what, &f.name));
                }
            };
            if prim.is_some_and(|p| !p.is_native()) {
                kind("24- or 48-bit integers");
            }
            if prim == Some(Prim::Char) {
                kind("characters");
            }
            if f.order != ByteOrder::Little && prim.is_some_and(|p| p.size() > 1) {
                kind("big-endian fields");
            }
            if f.pad != Padding::Nul {
                kind("space-padded text");
            }
        }
        for (what, example) in kinds {
            not.push(format!("it has {what} (`{example}`, …)"));
        }
        if self.aliases.iter().any(|a| a.scale.is_some()) {
            not.push("it has scaled types".to_string());
        }
        if self
            .messages
            .iter()
            .any(|m| m.message.is_some_and(|i| i.channel.is_none()))
        {
            not.push("a message has no channel".to_string());
        }
        match (p.header.as_ref(), all_roles, p.magic) {
            (Some(h), Some(roles), Some(magic)) if not.is_empty() => Ok(Framed {
                header: h.id,
                roles,
                magic,
            }),
            _ => {
                not.dedup();
                Err(not)
            }
        }
    }
}
