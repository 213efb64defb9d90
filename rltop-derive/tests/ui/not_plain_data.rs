use rltop::MessageHeader;

#[derive(rltop_derive::Message)]
#[repr(C, packed)]
#[rltop(type_code = 0x86, size = 64)]
struct WithString {
    header: MessageHeader,
    name: String,
    flag: bool,
}

fn main() {}
