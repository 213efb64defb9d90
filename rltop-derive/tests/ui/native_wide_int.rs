use rltop::MessageHeader;

// Raw multi-byte integers would read the wire's little-endian bytes natively.
#[derive(rltop_derive::Message)]
#[repr(C, packed)]
#[rltop(type_code = 0x86, size = 56)]
struct NativeInts {
    header: MessageHeader,
    symbol_id: u32,
    price: rltop::Price,
    _reserved: [u8; 4],
}

fn main() {}
