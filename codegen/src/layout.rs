//! The layout pass: the one place that computes sizes and offsets. Every emitter (Rust, the
//! layout table, the derive macro) reads a [`Layout`]; none re-derives an offset.

use crate::diagnostic::Diagnostic;
use crate::model::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLayout {
    /// From the start of the record.
    pub offset: usize,
    pub size: usize,
    /// What its bytes hold, resolved.
    pub shape: Shape,
}

/// A field's bytes as the layout pass resolved them: every scalar (integer, alias, enum,
/// flags) to the integer it is stored as, every array to its element's stride. Emitters take
/// sizes, primitives and strides from here; the field's [`Ty`] only names things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Scalar(Prim),
    Text(usize),
    Reserved(usize),
    /// Index into [`Layout::structs`].
    Struct(StructId),
    Array {
        element: Box<Shape>,
        len: usize,
        /// Bytes from one element to the next (the element's size: records are packed).
        stride: usize,
    },
}

impl Shape {
    /// The integer a scalar is stored as.
    pub fn scalar(&self) -> Option<Prim> {
        match self {
            Shape::Scalar(p) => Some(*p),
            _ => None,
        }
    }

    /// For an array: its element, length and stride.
    pub fn array(&self) -> Option<(&Shape, usize, usize)> {
        match self {
            Shape::Array {
                element,
                len,
                stride,
            } => Some((element, *len, *stride)),
            _ => None,
        }
    }

    /// An array of multi-byte integers (each element has a byte order of its own).
    pub fn is_array_of_wide_ints(&self) -> bool {
        self.array()
            .and_then(|(element, ..)| element.scalar())
            .is_some_and(|p| p.size() > 1)
    }
}

/// What a leaf (a scalar, text or reserved run) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    Int(Prim),
    Enum(EnumId),
    Flags(FlagsId),
    /// Counts entries of an array of `max` elements.
    Count {
        prim: Prim,
        max: usize,
    },
    Text,
    Reserved,
}

/// A scalar, text or reserved run of a record with composites and arrays flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// `bids[3].price`
    pub path: String,
    /// From the start of the record.
    pub offset: usize,
    pub size: usize,
    pub kind: LeafKind,
    pub since: u8,
    /// The top-level field it belongs to.
    pub field: usize,
    /// When that field is an array: the element this leaf is in.
    pub index: Option<usize>,
    /// The byte order of an integer leaf.
    pub order: ByteOrder,
    /// What pads a text leaf.
    pub pad: Padding,
    /// The alias an integer leaf is declared with (`Price`, `Timestamp`), which says what it
    /// means beyond its width.
    pub alias: Option<AliasId>,
}

/// The top-level field a leaf belongs to, and what it gives the leaves of its own type (a
/// nested struct's leaves keep their own byte order and padding).
#[derive(Debug, Clone, Copy)]
struct Owner {
    since: u8,
    field: usize,
    order: ByteOrder,
    pad: Padding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLayout {
    pub size: usize,
    pub fields: Vec<FieldLayout>,
    pub leaves: Vec<Leaf>,
}

impl RecordLayout {
    /// The count leaf that bounds `leaf`, when `leaf` lies in a counted array: entries at or
    /// past the count carry nothing and are not validated.
    pub fn counted_by(&self, record: &Record, leaf: &Leaf) -> Option<(&Leaf, usize)> {
        let index = leaf.index?;
        let count_field = record.counter_of(leaf.field)?;
        let count = self
            .leaves
            .iter()
            .find(|layout| layout.field == count_field)?;
        Some((count, index))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub structs: Table<StructId, RecordLayout>,
    pub messages: Table<MessageId, RecordLayout>,
}

/// Where the header's roles sit, for the runtime's `Protocol` and the sealers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderOffsets {
    pub size: usize,
    /// Each role's offset from the start of the header (and so of the message).
    pub at: HeaderRoles<usize>,
}

impl Layout {
    /// Where a framed schema's header roles sit.
    pub fn header(&self, framed: &Framed) -> HeaderOffsets {
        let header = &self.structs[framed.header];
        HeaderOffsets {
            size: header.size,
            at: framed.roles.map(|field| header.fields[field].offset),
        }
    }
}

struct Pass<'s> {
    schema: &'s Schema,
    /// Each struct's layout once computed (a struct is laid out once, however often used).
    structs: Vec<Option<RecordLayout>>,
}

impl Pass<'_> {
    /// Resolves a type to its shape and size; the one place a type's size is computed.
    fn shape_of(&mut self, ty: &Ty) -> (Shape, usize) {
        match ty {
            Ty::Struct(i) => (Shape::Struct(*i), self.record_struct(*i).size),
            Ty::Array(e, n) => {
                let (element, stride) = self.shape_of(e);
                let shape = Shape::Array {
                    element: Box::new(element),
                    len: *n,
                    stride,
                };
                (shape, stride * n)
            }
            Ty::Text(n) => (Shape::Text(*n), *n),
            Ty::Reserved(n) => (Shape::Reserved(*n), *n),
            Ty::Prim(p) => (Shape::Scalar(*p), p.size()),
            Ty::Alias(a) => self.scalar(self.schema.aliases[*a].prim),
            Ty::Enum(e) => self.scalar(self.schema.enums[*e].repr),
            Ty::Flags(f) => self.scalar(self.schema.flags[*f].repr),
        }
    }

    fn scalar(&self, prim: Prim) -> (Shape, usize) {
        (Shape::Scalar(prim), prim.size())
    }

    fn record_struct(&mut self, id: StructId) -> RecordLayout {
        if let Some(layout) = &self.structs[id.index()] {
            return layout.clone();
        }
        let layout = self.record(&self.schema.structs[id]);
        self.structs[id.index()] = Some(layout.clone());
        layout
    }

    fn record(&mut self, record: &Record) -> RecordLayout {
        let mut offset = 0;
        let mut fields = Vec::with_capacity(record.fields.len());
        let mut leaves = Vec::new();
        for (fi, f) in record.fields.iter().enumerate() {
            let (shape, size) = self.shape_of(&f.ty);
            let kind_of_count = f.count_of.map(|t| match &record.fields[t].ty {
                Ty::Array(_, n) => *n,
                _ => 0,
            });
            let first = leaves.len();
            let owner = Owner {
                since: f.since,
                field: fi,
                order: f.order,
                pad: f.pad,
            };
            self.leaves(&f.ty, &f.name, offset, owner, kind_of_count, &mut leaves);
            if let Ty::Array(_, n) = &f.ty {
                let per = (leaves.len() - first) / n.max(&1);
                for (j, leaf) in leaves[first..].iter_mut().enumerate() {
                    leaf.index = Some(j / per.max(1));
                }
            }
            fields.push(FieldLayout {
                offset,
                size,
                shape,
            });
            offset += size;
        }
        RecordLayout {
            size: offset,
            fields,
            leaves,
        }
    }

    fn leaves(
        &mut self,
        ty: &Ty,
        path: &str,
        offset: usize,
        owner: Owner,
        count_max: Option<usize>,
        out: &mut Vec<Leaf>,
    ) {
        let Owner { since, field, .. } = owner;
        let (shape, size) = self.shape_of(ty);
        let kind = match (ty, shape) {
            (Ty::Prim(_) | Ty::Alias(_), Shape::Scalar(prim)) => match count_max {
                Some(max) => Some(LeafKind::Count { prim, max }),
                None => Some(LeafKind::Int(prim)),
            },
            (Ty::Enum(e), _) => Some(LeafKind::Enum(*e)),
            (Ty::Flags(e), _) => Some(LeafKind::Flags(*e)),
            (Ty::Text(_), _) => Some(LeafKind::Text),
            (Ty::Reserved(_), _) => Some(LeafKind::Reserved),
            _ => None,
        };
        if let Some(kind) = kind {
            out.push(Leaf {
                path: path.to_string(),
                offset,
                size,
                kind,
                since,
                field,
                index: None,
                order: owner.order,
                pad: owner.pad,
                alias: match ty {
                    Ty::Alias(a) => Some(*a),
                    _ => None,
                },
            });
            return;
        }
        match ty {
            Ty::Struct(s) => {
                let inner = self.record_struct(*s);
                for leaf in inner.leaves {
                    out.push(Leaf {
                        path: format!("{path}.{}", leaf.path),
                        offset: offset + leaf.offset,
                        since,
                        field,
                        index: None,
                        ..leaf
                    });
                }
            }
            Ty::Array(e, n) => {
                let (_, step) = self.shape_of(e);
                for k in 0..*n {
                    self.leaves(
                        e,
                        &format!("{path}[{k}]"),
                        offset + k * step,
                        owner,
                        None,
                        out,
                    );
                }
            }
            _ => {}
        }
    }
}

fn field_sum(record: &Record, layout: &RecordLayout) -> String {
    record
        .fields
        .iter()
        .zip(&layout.fields)
        .map(|(f, fl)| format!("{} {}", f.name, fl.size))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn check_size(record: &Record, layout: &RecordLayout, kind: &str, diags: &mut Vec<Diagnostic>) {
    let Some(declared) = record.declared_size else {
        return;
    };
    if declared == layout.size {
        return;
    }
    let (diff, how) = if declared > layout.size {
        (declared - layout.size, "short of")
    } else {
        (layout.size - declared, "over")
    };
    let span = record.size_span.unwrap_or(record.span);
    diags.push(
        Diagnostic::error(
            span,
            format!("{kind} `{}` declares {declared} bytes but its fields sum to {} ({diff} byte{} {how} the declared size)", record.name, layout.size, if diff == 1 { "" } else { "s" }),
        )
        .label(format!("declared {declared}, fields sum to {}", layout.size))
        .note(format!("fields: {} = {}", field_sum(record, layout), layout.size)),
    );
}

/// Multi-byte scalars whose offset (from the message start, or the struct start) is not a
/// multiple of their size cost an unaligned access on some CPUs: a warning, not an error.
/// Only for little-endian integers of a machine's width, which a decoder may load as they
/// are; big-endian and 24/48-bit ones are assembled byte by byte whatever their offset.
fn check_alignment(
    record: &Record,
    layout: &RecordLayout,
    kind: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let mut warned = vec![false; record.fields.len()];
    for leaf in &layout.leaves {
        let scalar = !matches!(leaf.kind, LeafKind::Text | LeafKind::Reserved)
            && leaf.order == ByteOrder::Little
            && matches!(leaf.size, 2 | 4 | 8);
        if scalar && leaf.size > 1 && leaf.offset % leaf.size != 0 && !warned[leaf.field] {
            warned[leaf.field] = true;
            diags.push(
                Diagnostic::warning(record.fields[leaf.field].span, format!("{kind} `{}`, field `{}`: {}-byte value at offset {} is not naturally aligned", record.name, leaf.path, leaf.size, leaf.offset))
                    .label(format!("offset {} is not a multiple of {}", leaf.offset, leaf.size)),
            );
        }
    }
}

/// Computes every record's layout and checks declared sizes and alignment.
pub fn compute(schema: &Schema) -> (Layout, Vec<Diagnostic>) {
    let mut pass = Pass {
        schema,
        structs: vec![None; schema.structs.len()],
    };
    let mut diags = Vec::new();
    let structs: Table<StructId, RecordLayout> = schema
        .structs
        .ids()
        .map(|id| pass.record_struct(id))
        .collect();
    for (record, layout) in schema.structs.iter().zip(&structs) {
        check_size(record, layout, "struct", &mut diags);
        check_alignment(record, layout, "struct", &mut diags);
    }
    let messages: Table<MessageId, RecordLayout> =
        schema.messages.iter().map(|m| pass.record(m)).collect();
    for (record, layout) in schema.messages.iter().zip(&messages) {
        check_size(record, layout, "message", &mut diags);
        check_alignment(record, layout, "message", &mut diags);
        if layout.size > usize::from(u16::MAX) {
            diags.push(Diagnostic::error(
                record.span,
                format!(
                    "message `{}` is {} bytes; the length field holds at most 65535",
                    record.name, layout.size
                ),
            ));
        }
    }
    (Layout { structs, messages }, diags)
}
