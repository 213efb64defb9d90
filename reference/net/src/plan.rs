//! The channel plan: which multicast group and port each stream of each instrument group
//! goes to, the session id its messages carry, the datagram size and hold time, and the
//! cadence of snapshots, statistics and heartbeats (SPEC.md §10).
//!
//! A plan is a TOML file (`Plan::from_toml`), or the draft's plan (`Plan::default()`). The
//! draft publishes one group per stream: full book 239.255.0.1:9001, top of book
//! 239.255.0.2:9001 (same port), increments 239.255.1.1:9002, trades 239.255.2.1:9003,
//! statistics 239.255.3.1:9004. With `groups = N`, instruments are partitioned over N
//! instrument groups and each stream has N multicast groups: group `g` (0-based) of a
//! stream is its `addr` plus `g × stride` in the last octets. The full-book and top-of-book
//! streams share 239.255.0.x, so they use stride 2 (x = 1, 3, 5, … and 2, 4, 6, …); the
//! others stride 1. An optional B line repeats every stream on other groups with the same
//! sessions and sequence numbers, for A/B arbitration.
//!
//! Every question about the plan — where does instrument 7's increment go, which session
//! numbers it, which sockets does a subscriber open — is answered here, once
//! ([`Plan::endpoint`], [`Plan::endpoints`], [`Plan::group_of`]).
//!
//! Errors carry `file:line:col`: syntax and type errors from the TOML parser's spans, and
//! the plan's own rules (multicast addresses, no two streams on one group:port, sizes)
//! from the spans kept on the values they concern.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::Range;

use rltop_capture::frame::MAX_UDP_PAYLOAD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A stream of the plan: one kind of traffic, with its own multicast groups and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// Full order-book snapshots (and trade snapshots), channel Snapshot.
    FullBook,
    /// Top-of-book snapshots, channel Snapshot, on the full book's port.
    TopOfBook,
    /// Order-level increments, channel Incremental.
    Incremental,
    /// Trades, channel Trade.
    Trades,
    /// Statistics, tickers, klines, liquidations, instrument definitions.
    Statistics,
}

impl Stream {
    pub const ALL: [Stream; 5] = [
        Stream::FullBook,
        Stream::TopOfBook,
        Stream::Incremental,
        Stream::Trades,
        Stream::Statistics,
    ];

    /// The stream's number within an instrument group: 1 to 5. Session ids are built from
    /// it ([`Plan::session`]).
    pub fn code(self) -> u64 {
        match self {
            Stream::FullBook => 1,
            Stream::TopOfBook => 2,
            Stream::Incremental => 3,
            Stream::Trades => 4,
            Stream::Statistics => 5,
        }
    }

    /// The protocol channel (SPEC.md §6) whose messages the stream carries.
    pub fn channel(self) -> rltop::Channel {
        match self {
            Stream::FullBook | Stream::TopOfBook => rltop::Channel::Snapshot,
            Stream::Incremental => rltop::Channel::Incremental,
            Stream::Trades => rltop::Channel::Trade,
            Stream::Statistics => rltop::Channel::Statistics,
        }
    }

    /// Its position in [`Stream::ALL`].
    pub fn index(self) -> usize {
        self.code() as usize - 1
    }

    /// The key naming the stream in a plan file.
    pub fn key(self) -> &'static str {
        match self {
            Stream::FullBook => "full_book",
            Stream::TopOfBook => "top_of_book",
            Stream::Incremental => "incremental",
            Stream::Trades => "trades",
            Stream::Statistics => "statistics",
        }
    }

    /// The stream a message type is published on: its channel's stream, except that
    /// top-of-book snapshots have a stream of their own. (Heartbeats go on every stream;
    /// this answers for a type's regular traffic.)
    pub fn of_type(msg_type: u8) -> Option<Stream> {
        if msg_type == rltop::TopOfBookSnapshot::TYPE_CODE {
            return Some(Stream::TopOfBook);
        }
        Some(match rltop::Channel::of_type(msg_type)? {
            rltop::Channel::Snapshot => Stream::FullBook,
            rltop::Channel::Incremental => Stream::Incremental,
            rltop::Channel::Trade => Stream::Trades,
            rltop::Channel::Statistics => Stream::Statistics,
            // Gateway control messages are never published on a stream.
            rltop::Channel::Session => return None,
        })
    }

    /// The schema's name for the stream (`Stream` in `ChannelStatus`), same numbering.
    pub fn wire(self) -> rltop::Stream {
        match self {
            Stream::FullBook => rltop::Stream::FullBook,
            Stream::TopOfBook => rltop::Stream::TopOfBook,
            Stream::Incremental => rltop::Stream::Incremental,
            Stream::Trades => rltop::Stream::Trades,
            Stream::Statistics => rltop::Stream::Statistics,
        }
    }

    /// The stream's bit in a `StreamSet` (Subscribe, Unsubscribe).
    pub fn bit(self) -> rltop::StreamSet {
        match self {
            Stream::FullBook => rltop::StreamSet::FULL_BOOK,
            Stream::TopOfBook => rltop::StreamSet::TOP_OF_BOOK,
            Stream::Incremental => rltop::StreamSet::INCREMENTAL,
            Stream::Trades => rltop::StreamSet::TRADES,
            Stream::Statistics => rltop::StreamSet::STATISTICS,
        }
    }
}

/// Which copy of a stream: the A line, or the redundant B line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    A,
    B,
}

/// One multicast group of a stream: where its datagrams go and which session numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub stream: Stream,
    /// Instrument group, 0-based.
    pub group: u32,
    pub line: Line,
    pub addr: SocketAddrV4,
    pub session: u64,
}

/// Where one stream's groups are: `addr + g × stride` for instrument group `g`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamPlan {
    /// Multicast address of instrument group 0 (224.0.0.0/4; 239.0.0.0/8 for a site).
    #[schemars(with = "Ipv4Addr")]
    pub addr: Spanned<Ipv4Addr>,
    /// UDP destination port.
    pub port: u16,
    /// Address step from one instrument group to the next.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub stride: u32,
}

/// Cadences are at most a day (and so fit a heartbeat's `u32` `interval_ms`).
const DAY_MS: u64 = 86_400_000;
/// The hold time is at most a second.
const SECOND_US: u64 = 1_000_000;
/// Session ids `session_base + 8 g + c` must not overflow.
const MAX_SESSION_BASE: u64 = u64::MAX - 8 * 64;

/// A `u64` of at most `MAX`: out of range is a parse error, which the TOML reader places
/// at the value (`file:line:col`).
fn at_most<'de, D: serde::Deserializer<'de>, const MAX: u64>(d: D) -> Result<u64, D::Error> {
    let value = u64::deserialize(d)?;
    if value > MAX {
        return Err(serde::de::Error::custom(format!(
            "{value} is more than {MAX}, the most allowed"
        )));
    }
    Ok(value)
}

fn one() -> u32 {
    1
}

/// The five streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Streams {
    pub full_book: StreamPlan,
    pub top_of_book: StreamPlan,
    pub incremental: StreamPlan,
    pub trades: StreamPlan,
    pub statistics: StreamPlan,
}

impl Streams {
    pub fn get(&self, stream: Stream) -> &StreamPlan {
        match stream {
            Stream::FullBook => &self.full_book,
            Stream::TopOfBook => &self.top_of_book,
            Stream::Incremental => &self.incremental,
            Stream::Trades => &self.trades,
            Stream::Statistics => &self.statistics,
        }
    }
}

/// How often the publisher repeats state, per instrument (0 disables an item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Cadence {
    /// Full order-book snapshot (and trade snapshot) of each instrument (draft: 1 Hz).
    #[serde(deserialize_with = "at_most::<_, DAY_MS>")]
    #[schemars(range(max = DAY_MS))]
    pub full_book_ms: u64,
    /// Also a full snapshot after this many increments of an instrument (draft: 100).
    pub full_book_every_increments: u64,
    /// Top-of-book snapshot of each instrument (draft: 10 Hz); changes in between are
    /// conflated.
    #[serde(deserialize_with = "at_most::<_, DAY_MS>")]
    #[schemars(range(max = DAY_MS))]
    pub top_of_book_ms: u64,
    /// Daily statistics, ticker and kline of each instrument.
    #[serde(deserialize_with = "at_most::<_, DAY_MS>")]
    #[schemars(range(max = DAY_MS))]
    pub statistics_ms: u64,
    /// Instrument definitions.
    #[serde(deserialize_with = "at_most::<_, DAY_MS>")]
    #[schemars(range(max = DAY_MS))]
    pub definitions_ms: u64,
    /// A heartbeat on any stream silent for this long.
    #[serde(deserialize_with = "at_most::<_, DAY_MS>")]
    #[schemars(range(max = DAY_MS))]
    pub heartbeat_ms: u64,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            full_book_ms: 1000,
            full_book_every_increments: 100,
            top_of_book_ms: 100,
            statistics_ms: 1000,
            definitions_ms: 10_000,
            heartbeat_ms: 1000,
        }
    }
}

/// A channel plan. See the module documentation; `rltop plan --schema` prints its JSON
/// Schema, `rltop plan --check FILE` validates a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Instrument groups: instrument `s` (symbol id) belongs to group `(s - 1) mod groups`.
    #[serde(default = "one_group")]
    #[schemars(with = "u32", range(min = 1, max = 64))]
    pub groups: Spanned<u32>,
    /// Largest UDP payload, bytes: messages of one stream are packed into datagrams up to
    /// this size. 1472 fits a 1500-byte Ethernet MTU.
    #[serde(default = "default_mtu")]
    #[schemars(with = "u32", range(min = 576, max = 65507))]
    // literals: the largest message, MAX_UDP_PAYLOAD (`validate` checks with both)
    pub mtu: Spanned<u32>,
    /// Longest a message waits in a partly filled datagram, microseconds (0: every
    /// publish call's messages go out at once).
    #[serde(default = "default_hold", deserialize_with = "at_most::<_, SECOND_US>")]
    #[schemars(range(max = SECOND_US))]
    pub hold_us: u64,
    /// Multicast TTL: 1 keeps datagrams on the local network.
    #[serde(default = "one_u8")]
    pub ttl: u8,
    /// Deliver to listeners on the publishing host too (IP_MULTICAST_LOOP).
    #[serde(default = "yes")]
    pub loopback: bool,
    /// Added to every session id: lets two publishers share a subscriber's view.
    #[serde(default, deserialize_with = "at_most::<_, MAX_SESSION_BASE>")]
    #[schemars(range(max = MAX_SESSION_BASE))]
    pub session_base: u64,
    #[serde(default)]
    pub cadence: Cadence,
    pub streams: Streams,
    /// A redundant copy of every stream on other groups (A/B arbitration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_line: Option<Streams>,
}

fn one_group() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}
fn default_mtu() -> Spanned<u32> {
    Spanned::new(0..0, 1472)
}
fn default_hold() -> u64 {
    100
}
fn one_u8() -> u8 {
    1
}
fn yes() -> bool {
    true
}

fn stream(addr: [u8; 4], port: u16, stride: u32) -> StreamPlan {
    StreamPlan {
        addr: Spanned::new(0..0, Ipv4Addr::from(addr)),
        port,
        stride,
    }
}

impl Default for Plan {
    /// The draft's plan (seed 004, "channel plan"), one instrument group, no B line.
    fn default() -> Self {
        Self {
            groups: one_group(),
            mtu: default_mtu(),
            hold_us: default_hold(),
            ttl: 1,
            loopback: true,
            session_base: 0,
            cadence: Cadence::default(),
            streams: Streams {
                full_book: stream([239, 255, 0, 1], 9001, 2),
                top_of_book: stream([239, 255, 0, 2], 9001, 2),
                incremental: stream([239, 255, 1, 1], 9002, 1),
                trades: stream([239, 255, 2, 1], 9003, 1),
                statistics: stream([239, 255, 3, 1], 9004, 1),
            },
            b_line: None,
        }
    }
}

/// A plan that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// `file:line:col` (1-based), or just the file when the span is unknown.
    pub location: String,
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for PlanError {}

/// `file:line:col` of a byte offset in `text` (columns count characters).
fn locate(file: &str, text: &str, span: Option<Range<usize>>) -> String {
    let Some(span) = span.filter(|s| s.end > 0 || s.start > 0) else {
        return file.to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{file}:{line}:{col}")
}

impl Plan {
    /// Parses and validates a plan file's text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Plan, PlanError> {
        let plan: Plan = toml::from_str(text).map_err(|e| PlanError {
            location: locate(file, text, e.span()),
            message: e.message().trim().to_string(),
        })?;
        plan.validate().map_err(|(span, message)| PlanError {
            location: locate(file, text, span),
            message,
        })?;
        Ok(plan)
    }

    /// Reads, parses and validates a plan file.
    pub fn load(path: &std::path::Path) -> Result<Plan, PlanError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PlanError {
            location: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_toml(&text, &file)
    }

    /// The plan as TOML (what `rltop plan` prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a plan always serialises")
    }

    /// The JSON Schema of plan files.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Plan);
        serde_json::to_string_pretty(&schema).expect("a schema always serialises")
    }

    pub fn groups(&self) -> u32 {
        *self.groups.get_ref()
    }

    pub fn mtu(&self) -> usize {
        *self.mtu.get_ref() as usize
    }

    /// The instrument group of a symbol id.
    pub fn group_of(&self, symbol_id: u32) -> u32 {
        symbol_id.wrapping_sub(1) % self.groups()
    }

    /// The session id of a stream in an instrument group: `session_base + 8 g + code`,
    /// so the draft's single group numbers its streams 1 to 5. Both lines share it.
    pub fn session(&self, stream: Stream, group: u32) -> u64 {
        self.session_base + 8 * u64::from(group) + stream.code()
    }

    fn address(streams: &Streams, stream: Stream, group: u32) -> SocketAddrV4 {
        let s = streams.get(stream);
        let base = u32::from(*s.addr.get_ref());
        SocketAddrV4::new(Ipv4Addr::from(base + group * s.stride), s.port)
    }

    /// Where a stream of an instrument group goes on a line (None: the plan has no B line).
    pub fn endpoint(&self, stream: Stream, group: u32, line: Line) -> Option<Endpoint> {
        let streams = match line {
            Line::A => &self.streams,
            Line::B => self.b_line.as_ref()?,
        };
        Some(Endpoint {
            stream,
            group,
            line,
            addr: Self::address(streams, stream, group),
            session: self.session(stream, group),
        })
    }

    /// Every endpoint of the plan: each line, instrument group and stream.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let lines: &[Line] = if self.b_line.is_some() {
            &[Line::A, Line::B]
        } else {
            &[Line::A]
        };
        let mut out = Vec::new();
        for &line in lines {
            for group in 0..self.groups() {
                for stream in Stream::ALL {
                    out.extend(self.endpoint(stream, group, line));
                }
            }
        }
        out
    }

    /// The plan's own rules, beyond TOML's types. Err: (span, message).
    fn validate(&self) -> Result<(), (Option<Range<usize>>, String)> {
        let groups = self.groups();
        if !(1..=64).contains(&groups) {
            return Err((
                Some(self.groups.span()),
                format!("groups = {groups}: must be 1 to 64"),
            ));
        }
        let mtu = self.mtu();
        let largest = rltop::MESSAGE_TYPES
            .iter()
            .map(|t| t.size)
            .max()
            .unwrap_or(0);
        if mtu < largest || mtu > MAX_UDP_PAYLOAD {
            return Err((
                Some(self.mtu.span()),
                format!(
                    "mtu = {mtu}: must hold the largest message ({largest} bytes) and be at most {MAX_UDP_PAYLOAD} (the largest UDP payload)"
                ),
            ));
        }
        let mut taken: HashMap<SocketAddrV4, (String, Option<Range<usize>>)> = HashMap::new();
        let lines = [
            ("streams", Some(&self.streams)),
            ("b_line", self.b_line.as_ref()),
        ];
        for (line_name, streams) in lines {
            let Some(streams) = streams else { continue };
            for stream in Stream::ALL {
                let s = streams.get(stream);
                let addr = *s.addr.get_ref();
                let span = Some(s.addr.span());
                if !addr.is_multicast() {
                    return Err((
                        span,
                        format!(
                            "{line_name}.{}.addr = {addr}: not a multicast address (224.0.0.0/4)",
                            stream.key()
                        ),
                    ));
                }
                if s.stride == 0 {
                    return Err((
                        span,
                        format!("{line_name}.{}: stride must be at least 1", stream.key()),
                    ));
                }
                let last = u64::from(u32::from(addr)) + u64::from(groups - 1) * u64::from(s.stride);
                if last > u64::from(u32::from(Ipv4Addr::new(239, 255, 255, 255))) {
                    return Err((
                        span,
                        format!(
                            "{line_name}.{}: {groups} groups with stride {} run past 239.255.255.255",
                            stream.key(),
                            s.stride
                        ),
                    ));
                }
                for group in 0..groups {
                    let at = Self::address(streams, stream, group);
                    let name = format!("{line_name}.{} group {group} ({at})", stream.key());
                    if let Some((other, _)) = taken.insert(at, (name.clone(), span.clone())) {
                        return Err((
                            span,
                            format!("{name} is also {other}: every stream of every group needs its own group:port"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drafts_plan() {
        let plan = Plan::default();
        let addrs: Vec<String> = plan
            .endpoints()
            .iter()
            .map(|e| format!("{} {}", e.addr, e.session))
            .collect();
        assert_eq!(
            addrs,
            [
                "239.255.0.1:9001 1",
                "239.255.0.2:9001 2",
                "239.255.1.1:9002 3",
                "239.255.2.1:9003 4",
                "239.255.3.1:9004 5"
            ]
        );
        // Printed and parsed back, it is the same plan.
        assert_eq!(
            Plan::from_toml(&plan.to_toml(), "p.toml")
                .unwrap()
                .endpoints(),
            plan.endpoints()
        );
    }

    #[test]
    fn instrument_groups_partition_symbols_and_get_their_own_groups_and_sessions() {
        let plan = Plan {
            groups: Spanned::new(0..0, 3),
            ..Plan::default()
        };
        assert_eq!([1, 2, 3, 4, 7].map(|s| plan.group_of(s)), [0, 1, 2, 0, 0]);
        let fb = |g| plan.endpoint(Stream::FullBook, g, Line::A).unwrap();
        let tob = |g| plan.endpoint(Stream::TopOfBook, g, Line::A).unwrap();
        assert_eq!(
            (fb(2).addr.to_string(), tob(2).addr.to_string()),
            ("239.255.0.5:9001".into(), "239.255.0.6:9001".into())
        );
        assert_eq!((fb(0).session, fb(1).session, tob(2).session), (1, 9, 18));
        assert_eq!(plan.endpoints().len(), 15);
        assert!(plan.endpoint(Stream::Trades, 0, Line::B).is_none());
    }

    #[test]
    fn rule_errors_point_at_the_value() {
        let base = Plan::default().to_toml();
        // Two streams on one group:port.
        let text = base.replacen("239.255.0.2", "239.255.0.1", 1);
        let e = Plan::from_toml(&text, "p.toml").unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("239.255.0.1"))
            .unwrap();
        let second = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("239.255.0.1"))
            .nth(1)
            .unwrap()
            .0;
        assert!(second > line);
        assert_eq!(e.location, format!("p.toml:{}:8", second + 1), "{e}");
        assert!(
            e.message.contains("is also streams.full_book group 0"),
            "{e}"
        );
        // Adjacent groups collide when the stride is too small.
        let text = format!(
            "groups = 2\n{}",
            base.replacen("stride = 2", "stride = 1", 1)
                .replace("groups = 1\n", "")
        );
        let e = Plan::from_toml(&text, "p.toml").unwrap_err();
        assert!(e.message.contains("239.255.0.2:9001"), "{e}");
        // Sizes.
        let e = Plan::from_toml(&base.replace("mtu = 1472", "mtu = 500"), "p.toml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.toml:2:7: mtu = 500: must hold the largest message (576 bytes)"),
            "{e}"
        );
        // Cadences, hold time and session base are bounded where they are written.
        let text = base.replace("heartbeat_ms = 1000", "heartbeat_ms = 4294968296");
        let line = text
            .lines()
            .position(|l| l.starts_with("heartbeat_ms"))
            .unwrap()
            + 1;
        let e = Plan::from_toml(&text, "p.toml").unwrap_err();
        assert_eq!(e.location, format!("p.toml:{line}:16"), "{e}");
        assert!(
            e.message.contains("4294968296 is more than 86400000"),
            "{e}"
        );
        let e = Plan::from_toml(
            &base.replace("hold_us = 100", "hold_us = 2000000"),
            "p.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.toml:3:11: 2000000 is more than 1000000"),
            "{e}"
        );
        // Unknown keys are errors, not ignored.
        let e = Plan::from_toml(&format!("hold = 5\n{base}"), "p.toml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.toml:1:1: unknown field `hold`"),
            "{e}"
        );
    }
}
