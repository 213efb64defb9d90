//! Properties of the layout pass over random schemas: whatever the fields, the leaves tile
//! the record exactly (no byte twice, none left out), fields follow one another, arrays
//! step by their element's size, and each leaf's bytes fit the integer it holds.
//!
//! The schemas are written as text and go through the parser and checker, as a user's
//! would; the expected sizes are computed here from the field list, not by the layout pass.

use proptest::prelude::*;
use rltop_codegen::layout::{LeafKind, Shape};

/// A field type and its size in bytes, worked out independently of the layout pass.
#[derive(Debug, Clone)]
enum FieldTy {
    Int(&'static str, usize),
    Alias,
    Enum,
    Flags,
    Text(usize),
    Reserved(usize),
    Level,
    IntArray(&'static str, usize, usize),
    LevelArray(usize),
}

const LEVEL_SIZE: usize = 12; // struct Level { px: Px (i64), qty: u32 }

impl FieldTy {
    fn size(&self) -> usize {
        match self {
            FieldTy::Int(_, n) => *n,
            FieldTy::Alias => 8,
            FieldTy::Enum | FieldTy::Flags => 2,
            FieldTy::Text(n) | FieldTy::Reserved(n) => *n,
            FieldTy::Level => LEVEL_SIZE,
            FieldTy::IntArray(_, n, len) => n * len,
            FieldTy::LevelArray(len) => LEVEL_SIZE * len,
        }
    }

    fn text(&self) -> String {
        match self {
            FieldTy::Int(name, _) => (*name).to_string(),
            FieldTy::Alias => "Px".into(),
            FieldTy::Enum => "Dir".into(),
            FieldTy::Flags => "Marks".into(),
            FieldTy::Text(n) => format!("text[{n}]"),
            FieldTy::Reserved(n) => format!("reserved[{n}]"),
            FieldTy::Level => "Level".into(),
            FieldTy::IntArray(name, _, len) => format!("[{name}; {len}]"),
            FieldTy::LevelArray(len) => format!("[Level; {len}]"),
        }
    }
}

fn int() -> impl Strategy<Value = (&'static str, usize)> {
    prop_oneof![
        Just(("u8", 1)),
        Just(("i8", 1)),
        Just(("u16", 2)),
        Just(("i16", 2)),
        Just(("u32", 4)),
        Just(("i32", 4)),
        Just(("u64", 8)),
        Just(("i64", 8)),
    ]
}

fn field_ty() -> impl Strategy<Value = FieldTy> {
    prop_oneof![
        int().prop_map(|(name, size)| FieldTy::Int(name, size)),
        Just(FieldTy::Alias),
        Just(FieldTy::Enum),
        Just(FieldTy::Flags),
        (1usize..20).prop_map(FieldTy::Text),
        (1usize..20).prop_map(FieldTy::Reserved),
        Just(FieldTy::Level),
        (int(), 1usize..6).prop_map(|((name, size), len)| FieldTy::IntArray(name, size, len)),
        (1usize..4).prop_map(FieldTy::LevelArray),
    ]
}

fn schema(fields: &[FieldTy]) -> (String, usize) {
    let size = 40 + fields.iter().map(FieldTy::size).sum::<usize>();
    let body: String = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = if matches!(f, FieldTy::Reserved(_)) {
                format!("_r{i}")
            } else {
                format!("f{i}")
            };
            format!("    {name}: {},\n", f.text())
        })
        .collect();
    let text = format!(
        "protocol P {{\n    version 1;\n    byte_order little;\n    magic 0x50;\n    checksum crc32c over message;\n    \
         header Hdr {{ magic = magic; length = length; type = kind; version = version; session = session; sequence = seq; timestamp = ts; checksum = crc; }}\n}}\n\
         channel Main = 1 types 0x01..=0x0F;\ntype Px = i64;\nenum Dir: u16 {{ Up = 1 }}\nflags Marks: u16 {{ Hot = 0 }}\n\
         struct Hdr size 40 {{ magic: u32, length: u16, kind: u8, version: u8, session: u64, seq: u64, ts: u64, crc: u32, _r: reserved[4] }}\n\
         struct Level size {LEVEL_SIZE} {{ px: Px, qty: u32 }}\n\
         message M type 0x01 size {size} channel Main {{\n    header: Hdr,\n{body}}}\n"
    );
    (text, size)
}

proptest! {
    #[test]
    fn leaves_tile_the_record_and_fields_follow_one_another(fields in prop::collection::vec(field_ty(), 0..12)) {
        let (text, size) = schema(&fields);
        let model = rltop_codegen::check("random.rlt", &text)
            .into_model()
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let layout = model.layout.messages.iter().next().expect("one message");
        prop_assert_eq!(layout.size, size);

        // Fields: back to back from 0, each as large as computed here.
        let mut next = 0;
        for (i, field) in layout.fields.iter().enumerate() {
            prop_assert_eq!(field.offset, next, "field {} starts where the previous ends", i);
            let expected = if i == 0 { 40 } else { fields[i - 1].size() };
            prop_assert_eq!(field.size, expected, "field {}", i);
            if let Shape::Array { element, len, stride } = &field.shape {
                prop_assert_eq!(stride * len, field.size, "field {}: stride × length", i);
                if let Some(prim) = element.scalar() {
                    prop_assert_eq!(*stride, prim.size());
                }
            }
            if let Some(prim) = field.shape.scalar() {
                prop_assert_eq!(prim.size(), field.size);
            }
            next += field.size;
        }
        prop_assert_eq!(next, size);

        // Leaves: in order, no overlap, no hole, each inside its field.
        let mut covered = 0;
        for leaf in &layout.leaves {
            prop_assert_eq!(leaf.offset, covered, "leaf {} leaves no hole and overlaps nothing", &leaf.path);
            let field = &layout.fields[leaf.field];
            prop_assert!(leaf.offset >= field.offset && leaf.offset + leaf.size <= field.offset + field.size, "leaf {} lies in its field", &leaf.path);
            match leaf.kind {
                LeafKind::Int(prim) | LeafKind::Count { prim, .. } => prop_assert_eq!(prim.size(), leaf.size),
                LeafKind::Enum(_) | LeafKind::Flags(_) => prop_assert_eq!(leaf.size, 2),
                LeafKind::Text | LeafKind::Reserved => prop_assert!(leaf.size > 0),
            }
            covered += leaf.size;
        }
        prop_assert_eq!(covered, size);
    }
}
