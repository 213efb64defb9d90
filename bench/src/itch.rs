//! The ITCH 5.0 workloads of `bench-itch` and of codec-tests' ITCH tests.
//!
//! * [`ritch`]: RITCH's published sample file (tests/data/ritch), 12 012 real messages of ten
//!   types, framed by [`frame_by_type`] because its length prefixes are zero.
//! * [`sample`]: a deterministic sample of the twelve busiest types, written by the generated
//!   `rltop-itch50` crate, in a fixed rotation, with values drawn from their ranges by a seeded
//!   generator. It reaches the types RITCH's file lacks (cross trades, imbalances, MWCB
//!   levels) and any length. Only codes the `itchy` parser knows are drawn, so the same bytes
//!   can be read by both decoders.

use rltop_itch50 as itch;

/// A small deterministic generator (xorshift64*): the sample is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

const STOCKS: [&str; 5] = ["AAPL", "MSFT", "BRK A", "ZVZZT", "QQQ"];

/// Sets the four fields every ITCH message starts with.
macro_rules! head {
    ($m:expr, $rng:expr, $t:expr) => {{
        $m.set_stock_locate($rng.below(9000) as u16 + 1);
        $m.set_tracking_number($rng.below(1 << 16) as u16);
        $m.set_timestamp($t).unwrap();
    }};
}

/// One message of each type itchy reads, cycling, with random values in their ranges.
pub fn sample(count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let t = 34_200_000_000_000 + i as u64 * 1_000 + rng.below(1_000);
        let stock = rng.pick(&STOCKS);
        let side = rng.pick(&itch::BuySell::ALL);
        let price = rng.below(10_000_000) as u32;
        let bytes = match i % 12 {
            0 => {
                let mut m = itch::AddOrder::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_buy_sell_indicator(side);
                m.set_shares(rng.below(100_000) as u32);
                m.set_stock(stock).unwrap();
                m.set_price(price);
                m.as_bytes().to_vec()
            }
            1 => {
                let mut m = itch::AddOrderMpid::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_buy_sell_indicator(side);
                m.set_shares(rng.below(100_000) as u32);
                m.set_stock(stock).unwrap();
                m.set_price(price);
                m.set_attribution(rng.pick(&["GSCO", "MS", "JPMS"]))
                    .unwrap();
                m.as_bytes().to_vec()
            }
            2 => {
                let mut m = itch::OrderExecuted::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_executed_shares(rng.below(10_000) as u32);
                m.set_match_number(rng.next_u64());
                m.as_bytes().to_vec()
            }
            3 => {
                let mut m = itch::OrderExecutedWithPrice::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_executed_shares(rng.below(10_000) as u32);
                m.set_match_number(rng.next_u64());
                m.set_printable(rng.pick(&itch::YesNo::ALL));
                m.set_execution_price(price);
                m.as_bytes().to_vec()
            }
            4 => {
                let mut m = itch::OrderCancel::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_cancelled_shares(rng.below(10_000) as u32);
                m.as_bytes().to_vec()
            }
            5 => {
                let mut m = itch::OrderDelete::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.as_bytes().to_vec()
            }
            6 => {
                let mut m = itch::OrderReplace::new();
                head!(m, rng, t);
                m.set_original_order_reference_number(rng.next_u64());
                m.set_new_order_reference_number(rng.next_u64());
                m.set_shares(rng.below(100_000) as u32);
                m.set_price(price);
                m.as_bytes().to_vec()
            }
            7 => {
                let mut m = itch::Trade::new();
                head!(m, rng, t);
                m.set_order_reference_number(rng.next_u64());
                m.set_buy_sell_indicator(side);
                m.set_shares(rng.below(100_000) as u32);
                m.set_stock(stock).unwrap();
                m.set_price(price);
                m.set_match_number(rng.next_u64());
                m.as_bytes().to_vec()
            }
            8 => {
                let mut m = itch::CrossTrade::new();
                head!(m, rng, t);
                m.set_shares(rng.next_u64() >> 20);
                m.set_stock(stock).unwrap();
                m.set_cross_price(price);
                m.set_match_number(rng.next_u64());
                m.set_cross_type(rng.pick(&itch::CrossType::ALL));
                m.as_bytes().to_vec()
            }
            9 => {
                let mut m = itch::BrokenTrade::new();
                head!(m, rng, t);
                m.set_match_number(rng.next_u64());
                m.as_bytes().to_vec()
            }
            10 => {
                let mut m = itch::Noii::new();
                head!(m, rng, t);
                m.set_paired_shares(rng.next_u64() >> 24);
                m.set_imbalance_shares(rng.next_u64() >> 24);
                // Not `Paused` ('P'): NASDAQ added it after itchy was written.
                use itch::ImbalanceDirection as D;
                m.set_imbalance_direction(rng.pick(&[
                    D::Buy,
                    D::Sell,
                    D::NoImbalance,
                    D::InsufficientOrders,
                ]));
                m.set_stock(stock).unwrap();
                m.set_far_price(price);
                m.set_near_price(price / 2);
                m.set_current_reference_price(price / 3);
                m.set_cross_type(rng.pick(&itch::NoiiCrossType::ALL));
                m.set_price_variation_indicator(rng.pick(&itch::PriceVariation::ALL));
                m.as_bytes().to_vec()
            }
            _ => {
                let mut m = itch::MwcbDeclineLevel::new();
                head!(m, rng, t);
                m.set_level1(rng.next_u64() >> 8);
                m.set_level2(rng.next_u64() >> 8);
                m.set_level3(rng.next_u64() >> 8);
                m.as_bytes().to_vec()
            }
        };
        out.push(bytes);
    }
    out
}

/// `messages` in NASDAQ's file format (each behind a big-endian u16 length), as `itchy` and
/// NASDAQ's own sample files have them.
pub fn file(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(messages.iter().map(|m| m.len() + 2).sum());
    for m in messages {
        let len = u16::try_from(m.len()).expect("an ITCH message is at most 50 bytes");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// RITCH's sample file (see tests/data/ritch/README.md for its origin and licence).
pub const RITCH_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/ritch/ex20101224.TEST_ITCH_50"
);

/// RITCH's sample, one message a `Vec`, framed by [`frame_by_type`].
pub fn ritch() -> Result<Vec<Vec<u8>>, String> {
    let file = std::fs::read(RITCH_FILE).map_err(|e| format!("{RITCH_FILE}: {e}"))?;
    frame_by_type(&file)
}

/// Splits a file of ITCH messages, each behind a two-byte prefix, by each message's type code
/// and the size the schema gives that type.
///
/// RITCH's sample writes every prefix as zero, so the prefix cannot frame it. A prefix is
/// accepted when it is zero or the type's size; any other value, an unknown type code or a
/// message cut by the end of the file is an error naming the byte.
pub fn frame_by_type(file: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < file.len() {
        let Some(&[hi, lo, code]) = file[pos..].first_chunk::<3>() else {
            return Err(format!("byte {pos}: the file ends inside a length prefix"));
        };
        let size = itch::Message::size_of_type(code).ok_or_else(|| {
            format!(
                "byte {}: unknown type code '{}'",
                pos + 2,
                char::from(code).escape_default()
            )
        })?;
        let prefix = usize::from(u16::from_be_bytes([hi, lo]));
        if prefix != 0 && prefix != size {
            return Err(format!(
                "byte {pos}: length prefix {prefix}, but type '{}' is {size} bytes",
                char::from(code)
            ));
        }
        let message = file.get(pos + 2..pos + 2 + size).ok_or_else(|| {
            format!(
                "byte {}: type '{}' is {size} bytes, the file ends after {}",
                pos + 2,
                char::from(code),
                file.len() - pos - 2
            )
        })?;
        out.push(message.to_vec());
        pos += 2 + size;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::frame_by_type;

    #[test]
    fn framing_by_type_takes_zero_or_the_size_and_names_the_byte_of_anything_else() {
        let mut file = vec![0, 0, b'S'];
        file.extend([0; 11]);
        file.extend([0, 12, b'S']);
        file.extend([0; 11]);
        let got = frame_by_type(&file).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].len(), got[1][0]), (12, b'S'));

        let mut wrong = file.clone();
        wrong[15] = 13;
        assert_eq!(
            frame_by_type(&wrong).unwrap_err(),
            "byte 14: length prefix 13, but type 'S' is 12 bytes"
        );
        wrong = file.clone();
        wrong[16] = b'!';
        assert_eq!(
            frame_by_type(&wrong).unwrap_err(),
            "byte 16: unknown type code '!'"
        );
        assert_eq!(
            frame_by_type(&file[..27]).unwrap_err(),
            "byte 16: type 'S' is 12 bytes, the file ends after 11"
        );
        assert_eq!(
            frame_by_type(&file[..15]).unwrap_err(),
            "byte 14: the file ends inside a length prefix"
        );
    }
}
