use rltop::MessageHeader;

#[derive(Clone, Copy, rltop_derive::Message)]
#[rltop(type_code = 0x86, size = 48)]
struct NotPacked {
    header: MessageHeader,
    value: rltop_runtime::le::U64,
}

fn main() {}
