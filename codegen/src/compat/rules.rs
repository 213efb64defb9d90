//! The rules of `compat`: one row per kind of change, each with the class that says whom it
//! breaks. This table is the documentation too: `rltop-codegen compat --rules` prints it as
//! the Markdown table of `docs/compat.md`, and a test holds the two equal.

use super::Class;

/// A rule: an id as `buf breaking` spells its own, the class, and what a reviewer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: RuleId,
    pub class: Class,
    /// What changed.
    pub what: &'static str,
    /// Why it has its class.
    pub why: &'static str,
    /// A change that fires it.
    pub example: &'static str,
}

macro_rules! rules {
    ($($id:ident, $class:ident, $what:literal, $why:literal, $example:literal;)*) => {
        /// Every rule's id; [`RuleId::rule`] gives its row.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId { $($id),* }

        /// The table, in the order the docs list it.
        pub const RULES: &[Rule] = &[$(Rule {
            id: RuleId::$id,
            class: Class::$class,
            what: $what,
            why: $why,
            example: $example,
        }),*];

        impl RuleId {
            /// The id as written in findings and docs (`FIELD_MOVED`).
            pub fn name(self) -> &'static str {
                match self { $(RuleId::$id => stringify!($id)),* }
            }

            /// The rule an id names (`FIELD_MOVED`), if one does.
            pub fn from_name(name: &str) -> Option<RuleId> {
                match name { $(stringify!($id) => Some(RuleId::$id),)* _ => None }
            }
        }
    };
}

rules! {
    MAGIC_CHANGED, Wire, "The protocol's magic changed.",
        "Every reader checks the magic first (SPEC.md §4 check 2): the other side's messages all fail it.",
        "`magic 0x524C544F;` → `magic 0x524C5432;`";
    BYTE_ORDER_CHANGED, Wire, "The protocol's byte order changed.",
        "Every multi-byte integer is read in the other order.",
        "`byte_order little;` → `byte_order big;`";
    CHECKSUM_CHANGED, Wire, "The checksum algorithm changed (or was added or dropped).",
        "A reader verifies the other algorithm and refuses every message (`BadChecksum`).",
        "`checksum crc32c over message;` → `checksum crc32 over message;`";
    FRAMING_CHANGED, Wire, "The framing changed (packed, MoldUDP64, SoupBinTCP).",
        "A reader walks datagrams or streams of another shape.",
        "`framing moldudp64;` → `framing packed;`";
    TYPE_CODE_POSITION_CHANGED, Wire, "Where the type code is read from changed (the header's `type` role or the first byte).",
        "A reader takes another byte for the type code.",
        "`type_code char;` added to a protocol with a header";
    HEADER_ROLE_MOVED, Wire, "A header role (magic, length, type, version, session, sequence, timestamp, checksum) is played by a field at another offset or of another size, or is added or dropped.",
        "Readers find the length, type or sequence number in other bytes, so they frame and order messages wrongly.",
        "`sequence = seq_num;` → `sequence = session_id;`";
    VERSION_NOT_BUMPED, Wire, "The bytes changed (any finding but a source-only one) and the protocol version did not go up.",
        "The header's version is how a reader tells which fields a message has (`since N`); two layouts under one number cannot be told apart.",
        "a field carved from reserved bytes, `version 1;` left as it was";
    MIN_VERSION_RAISED, NewReaders, "`min_version` went up.",
        "New readers refuse the messages of old writers (`UnsupportedVersion`).",
        "`min_version 1;` → `min_version 2;`";
    MESSAGE_ADDED, OldReaders, "A message type was added.",
        "Old readers do not know the type: they report `UnknownType` and skip it by its length (SPEC.md §4 check 6). Nothing else of the datagram is lost.",
        "`message TradeBust type 0x7D …` added";
    MESSAGE_REMOVED, NewReaders, "A message type was removed. Mark its code `reserved types` so that no later version reuses it.",
        "New readers report `UnknownType` for what old writers still send.",
        "`message Trade type 0x7C …` deleted";
    MESSAGE_RENAMED, Source, "A message was renamed; its type code and bytes are the same.",
        "The generated names change (`AddOrder` → `NewOrder`); no byte does.",
        "`message AddOrder type 0x78` → `message NewOrder type 0x78`";
    TYPE_CODE_CHANGED, Wire, "A message kept its name and took another type code.",
        "Each side takes the other's messages for another type, or for none.",
        "`message Trade type 0x7C` → `message Trade type 0x7D`";
    TYPE_CODE_REUSED, Wire, "A type code now names another message: one removed, or one whose code was reserved.",
        "Old readers decode the new message as the old one, field by field, without an error.",
        "`Trade` (0x7C) deleted and `TradeBust type 0x7C` added";
    MESSAGE_SIZE_CHANGED, Wire, "A message's size changed.",
        "A known type's `length` must equal its size (SPEC.md §4 check 3): the other side's messages fail with `BadLength`, and the rest of the datagram is lost.",
        "`message Heartbeat type 0x85 size 64` → `size 72`";
    MESSAGE_CHANNEL_CHANGED, Wire, "A message type moved to another channel.",
        "It is published on another multicast group: subscribers of the old channel stop receiving it.",
        "`message Trade … channel Trade` → `channel Statistics` (with a code in that range)";
    CHANNEL_ADDED, OldReaders, "A channel was added.",
        "The `Channel` enumeration gets a value that old readers refuse (`BadEnum`) where a field holds it.",
        "`channel Auction = 6 types 0xA0..=0xA7;` added";
    CHANNEL_REMOVED, NewReaders, "A channel was removed.",
        "New readers know neither its id nor its type codes.",
        "`channel Trade …` deleted (and its messages)";
    CHANNEL_ID_CHANGED, Wire, "A channel's id changed.",
        "The id is a value of the `Channel` enumeration on the wire (`Heartbeat.channel`): each side reads the other's as another channel.",
        "`channel Trade = 3` → `channel Trade = 6`";
    CHANNEL_RANGE_NARROWED, NewReaders, "A channel's range of type codes lost codes.",
        "Codes the old schema left free for later versions and venue extensions fall outside every channel: extension messages of old writers no longer build or decode on new readers.",
        "`types 0x7C..=0x7F` → `types 0x7C..=0x7D`";
    FIELD_MOVED, Wire, "A field is at another offset.",
        "Each side reads the other's field from the wrong bytes.",
        "`price` swapped with `quantity`";
    FIELD_RESIZED, Wire, "A field's size changed (an integer widened or narrowed, a text or struct resized).",
        "The bytes of the field and of everything after it are misread.",
        "`level_order_count: u32` → `u64`, taking four reserved bytes";
    FIELD_SIGN_CHANGED, Wire, "An integer field changed signedness at the same width.",
        "Values past the common range change meaning (`0xFFFFFFFF`: 4294967295 or -1).",
        "`trade_count: u32` → `i32`";
    FIELD_TYPE_CHANGED, Wire, "A field changed kind at the same size: integer, enumeration, flags, text, struct, character, or another enumeration.",
        "The same bytes are validated and read as something else.",
        "`side: Side` → `side: u8`";
    FIELD_BYTE_ORDER_CHANGED, Wire, "A field's byte order changed while the protocol's did not.",
        "Each side reads the other's integer reversed.",
        "`type Id = u32;` → `type Id = u32be;`";
    SCALE_CHANGED, Wire, "A scaled field's implied decimal places changed: the same bytes, a new meaning.",
        "No decoder can notice: a price of 1.2345 is read as 12.345.",
        "`type Price4 = u32 scale 4;` → `scale 3`";
    TEXT_PADDING_CHANGED, Wire, "A text field's padding changed (NUL or space).",
        "Each side refuses or mis-trims the other's text.",
        "`symbol: text[8] pad space` → `symbol: text[8]`";
    ARRAY_LENGTH_CHANGED, Wire, "An array's number of entries changed.",
        "The array, and every field after it, is read at other offsets or sizes.",
        "`bids: [PriceLevel; 10]` → `[PriceLevel; 8]`";
    COUNT_CHANGED, Wire, "A `count(array)` link was added, dropped or pointed at another array.",
        "One side reads entries past the count as data, the other ignores them (and checks none of them).",
        "`num_trades: u8 count(trades)` → `num_trades: u8`";
    FIELD_SINCE_CHANGED, NewReaders, "A field's `since N` changed.",
        "New readers take it as absent, or present, in messages of versions where old readers did the other.",
        "`since 2` → `since 3`";
    FIELD_REMOVED, OldReaders, "A field was removed and its bytes are reserved again.",
        "New writers write zero there; old readers read that zero as the field's value.",
        "`trade_id: u64` → `_reserved3: reserved[8]`";
    FIELD_REPLACED, Wire, "A field was removed and other fields now hold its bytes.",
        "Each side reads the other's field as its own.",
        "`order_id: u64` → `participant: u32, account: u32`";
    FIELD_RENAMED, Source, "A field was renamed; its offset, size and type are the same.",
        "The generated accessors and JSON keys change; no byte does.",
        "`seq_num: u64` → `sequence: u64`";
    TYPE_RENAMED, Source, "A field's type was renamed, or another type with the same bytes and values took its place.",
        "The generated type names change; no byte does.",
        "`enum Side` renamed `OrderSide`, the same values";
    RESERVED_CARVED, Safe, "A field was carved from reserved bytes, `since` a version after the old schema's.",
        "Old readers ignore reserved bytes, and new readers take the field as absent in messages older than its version (SPEC.md §5). Safe only because old writers zeroed reserved bytes (SPEC.md §1) and the field is absent, not zero, in their messages: a protocol whose writers leave reserved bytes unset does not have this guarantee.",
        "`_reserved2: reserved[36]` → `participant_id: u32 since 2, _reserved2: reserved[32]`";
    FIELD_CARVED_WITHOUT_SINCE, NewReaders, "A field was carved from reserved bytes without a `since` later than the old version.",
        "New readers read the zeros of old writers as a value: a zero that means something, or, for an enumeration without a zero, `BadEnum` on every old message.",
        "`_reserved2: reserved[36]` → `participant_id: u32, _reserved2: reserved[32]`";
    ENUM_VALUE_ADDED, OldReaders, "An enumeration gained a value.",
        "Old readers refuse it: only listed values are valid (SPEC.md §1), so they report `BadEnum` and skip the message.",
        "`enum TradingStatus` gains `Auction = 5`";
    ENUM_VALUE_REMOVED, NewReaders, "An enumeration lost a value. Mark it `reserved` so that no later version reuses it.",
        "New readers refuse it (`BadEnum`) in what old writers send.",
        "`Rejected = 4` deleted from `DeleteReason`";
    ENUM_VALUE_RENUMBERED, Wire, "An enumeration value or a flag kept its name and took another number.",
        "Each side reads the other's value as another, or refuses it.",
        "`Sell = 2` → `Sell = 3`";
    ENUM_VALUE_RENAMED, Source, "An enumeration value or a flag was renamed; its number is the same.",
        "The generated names change; no byte does.",
        "`Canceled = 1` → `Cancelled = 1`";
    ENUM_VALUE_REUSED, Wire, "A value or bit the old schema reserved is taken again.",
        "Old readers take it for the retired meaning.",
        "`reserved 5;` dropped and `Auction = 5` added";
    ENUM_WIDTH_CHANGED, Wire, "An enumeration's or flag set's underlying integer changed.",
        "Every field of the type changes size or sign.",
        "`enum Side: u8` → `enum Side: u16`";
    FLAGS_BIT_ADDED, Safe, "A flag set gained a bit.",
        "Decoders carry unknown bits without complaint and encoders write them back (SPEC.md §1).",
        "`flags OrderFlags` gains `Iceberg = 2`";
    FLAGS_BIT_REMOVED, Source, "A flag set lost a bit. Mark it `reserved` so that no later version reuses it.",
        "The bit is carried as an unknown one; the generated constant goes.",
        "`PostOnly = 1` deleted from `OrderFlags`";
}

impl RuleId {
    /// The rule's row.
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    pub fn class(self) -> Class {
        self.rule().class
    }
}

/// The table as Markdown: what `compat --rules` prints and `docs/compat.md` holds.
pub fn markdown() -> String {
    let mut out = String::from("| rule | class | what | why | example |\n|---|---|---|---|---|\n");
    for r in RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.id.name(),
            r.class.describe(),
            r.what,
            r.why,
            r.example
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_indexes_its_own_row() {
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.id as usize, i, "{}", r.id.name());
            assert_eq!(r.id.rule().id, r.id);
            assert_eq!(RuleId::from_name(r.id.name()), Some(r.id));
        }
        assert_eq!(RuleId::from_name("FIELD_MOVE"), None);
    }
}
