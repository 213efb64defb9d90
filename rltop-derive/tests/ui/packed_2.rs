use rltop::MessageHeader;

#[derive(rltop_derive::Message)]
#[repr(C, packed(2))]
#[rltop(type_code = 0x86, size = 48)]
struct PackedTwo {
    header: MessageHeader,
    value: rltop_runtime::le::U64,
}

fn main() {}
