use rltop::MessageHeader;

#[derive(rltop_derive::Message)]
#[repr(C, packed)]
#[rltop(type_code = 0x20, size = 48)]
struct Stray {
    header: MessageHeader,
    value: rltop_runtime::le::U64,
}

fn main() {}
