//! The schema as written: every name and number keeps its span for diagnostics.

use crate::diagnostic::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    pub value: i128,
    pub span: Span,
    /// Written as a character literal (`'A'`): its ASCII code.
    pub char: bool,
}

/// `///` lines before an item, field or variant, without the slashes.
pub type Doc = Vec<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// A primitive (`u32`) or a declared name (`Price`, `PriceLevel`).
    Named(Ident),
    /// `[T; N]`
    Array {
        elem: Box<TypeExpr>,
        len: Number,
        span: Span,
    },
    /// `text[N]`: fixed-width ASCII.
    Text { len: Number, span: Span },
    /// `reserved[N]`: zero on the wire, ignored when read.
    Reserved { len: Number, span: Span },
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            Self::Named(i) => i.span,
            Self::Array { span, .. } | Self::Text { span, .. } | Self::Reserved { span, .. } => {
                *span
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub doc: Doc,
    pub name: Ident,
    pub ty: TypeExpr,
    /// `count(array)`: this integer counts the valid entries of `array`.
    pub count_of: Option<Ident>,
    /// `since N`: the field exists from protocol version N.
    pub since: Option<Number>,
    /// `pad space` / `pad nul` after a text type.
    pub pad: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Struct {
    pub doc: Doc,
    pub name: Ident,
    pub size: Option<Number>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub doc: Doc,
    pub name: Ident,
    pub type_code: Number,
    pub size: Option<Number>,
    pub channel: Option<Ident>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub doc: Doc,
    pub name: Ident,
    pub value: Number,
}

/// `enum E: u8 { A = 1 }` and `flags F: u8 { A = 0 }` (bit numbers) share a shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    pub doc: Doc,
    pub name: Ident,
    pub repr: Ident,
    pub variants: Vec<Variant>,
    /// `reserved 3, 5;`: retired values no variant may take again.
    pub reserved: Vec<Number>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub doc: Doc,
    pub name: Ident,
    pub target: Ident,
    /// `scale N`: implied decimal places.
    pub scale: Option<Number>,
}

/// `channel Snapshot = 1 types 0x70..=0x77;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub doc: Doc,
    pub name: Ident,
    pub id: Number,
    pub first: Number,
    pub last: Number,
}

/// One `key value;` of the protocol block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Version(Number),
    MinVersion(Number),
    ByteOrder(Ident),
    Magic(Number),
    Checksum {
        algorithm: Ident,
        covers: Option<Ident>,
    },
    /// `framing packed | moldudp64 | soupbintcp;`
    Framing(Ident),
    /// `type_code u8 | char;`: the first byte of every message holds its type code.
    TypeCode(Ident),
    /// `reserved types 0x74, 0x7D;`: retired type codes no message may take again.
    ReservedTypes(Vec<Number>),
    /// `header T { role = field; ... }`
    Header {
        ty: Ident,
        roles: Vec<(Ident, Ident)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    pub doc: Doc,
    pub name: Ident,
    pub settings: Vec<(Setting, Span)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Protocol(Protocol),
    Alias(Alias),
    Enum(Enum),
    Flags(Enum),
    Channel(Channel),
    Struct(Struct),
    Message(Message),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaAst {
    pub items: Vec<Item>,
}
