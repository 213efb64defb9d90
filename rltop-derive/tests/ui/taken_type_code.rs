use rltop::MessageHeader;

#[derive(rltop_derive::Message)]
#[repr(C, packed)]
#[rltop(type_code = 0x78, size = 48)]
struct Clash {
    header: MessageHeader,
    value: rltop_runtime::le::U64,
}

fn main() {}
