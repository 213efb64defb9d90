use rltop::MessageHeader;

#[derive(Clone, Copy, rltop_runtime::bytemuck::Pod, rltop_runtime::bytemuck::Zeroable, rltop_derive::Message)]
#[bytemuck(crate = "rltop_runtime::bytemuck")]
#[repr(C, packed)]
#[rltop(type_code = 0x86, size = 72)]
struct VenueStatus {
    header: MessageHeader,
    symbol_id: rltop_runtime::le::U32,
    status: u8,
    _reserved: [u8; 19],
}

fn main() {}
