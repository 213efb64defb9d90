//! What every emitter makes of a small schema, pinned with insta: the Rust crate, the C
//! header, the Python module and the layout table. A change to any emitter shows up here
//! as a readable diff. The schema has one of each kind of field (integer, alias, enum,
//! flags, count, text, struct array, integer array, reserved).

const SMALL: &str = "\
/// A tiny protocol.
protocol Tiny {
    version 1;
    byte_order little;
    magic 0x594E4954;
    checksum crc32c over message;
    header Hdr { magic = magic; length = length; type = kind; version = version; session = session; sequence = seq; timestamp = ts; checksum = crc; }
}
/// The only channel.
channel Main = 1 types 0x01..=0x0F;
type Px = i64;
/// Direction.
enum Dir: u8 {
    /// Up.
    Up = 1,
    Down = 2,
}
flags Marks: u8 { Hot = 0, Cold = 3 }
struct Hdr size 40 { magic: u32, length: u16, kind: u8, version: u8, session: u64, seq: u64, ts: u64, crc: u32, _r: reserved[4] }
struct Level size 16 { px: Px, qty: u64 }
/// A tick.
message Tick type 0x01 size 96 channel Main {
    header: Hdr,
    /// Price.
    px: Px,
    dir: Dir,
    marks: Marks,
    n: u8 count(levels),
    name: text[5],
    levels: [Level; 2],
    ticks: [i32; 2],
}
";

fn banner() -> rltop_codegen::Banner {
    rltop_codegen::Banner::new("rltop-codegen", "small.rlt")
}

fn model() -> rltop_codegen::Model {
    rltop_codegen::check("small.rlt", SMALL)
        .into_model()
        .unwrap()
}

#[test]
fn emitted_rust() {
    insta::assert_snapshot!(rltop_codegen::rust::lib_rs(
        &model(),
        &banner(),
        rltop_codegen::rust::Form::Crate
    )
    .unwrap());
}

#[test]
fn layout_table() {
    let m = model();
    insta::assert_snapshot!(rltop_codegen::table::render(&m.schema, &m.layout));
}

#[test]
fn emitted_c() {
    insta::assert_snapshot!(rltop_codegen::c::header(&model(), &banner()));
}

#[test]
fn emitted_python() {
    let files = rltop_codegen::python::package(&model(), &banner());
    let (_, messages) = files
        .iter()
        .find(|(path, _)| path == "rltop/messages.py")
        .expect("the package has its messages module");
    insta::assert_snapshot!(messages);
}
