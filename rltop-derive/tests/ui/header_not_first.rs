use rltop::MessageHeader;

#[derive(rltop_derive::Message)]
#[repr(C, packed)]
#[rltop(type_code = 0x86, size = 48)]
struct HeaderLast {
    value: rltop_runtime::le::U64,
    header: MessageHeader,
}

fn main() {}
