//! `rltop bridge`: the WebSocket bridge (crate `rltop-bridge`): Binance-compatible streams
//! and REST over the books rebuilt from a source, raw datagrams as binary frames, Redis
//! envelopes, a live page at `/`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rltop_source::{RedisSpec, SourceSpec};

use crate::source_arg::SourceArg;
use rltop_bridge::streams::SymbolAlphabet;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Alphabet {
    Binance,
    Printable,
}

use crate::util::parse_duration;

#[derive(Args)]
pub struct BridgeArgs {
    /// Where the datagrams come from: `sim` (the embedded simulator), `multicast` (the
    /// channel plan's groups), `pcap:FILE` (replayed at pace), `redis` (REDIS_URL) or
    /// `redis://HOST:PORT`.
    #[arg(long, default_value = "sim", value_parser = crate::source_arg::bridge)]
    source: SourceArg,
    /// Port for HTTP and WebSocket (and TLS, with --tls-cert).
    #[arg(long, env = "WS_PORT", default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// Token clients must send (`?token=` or `Authorization: Bearer`); none: open.
    #[arg(long, env = "WS_AUTH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Redis for `--source redis`.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Redis channel patterns to listen to (comma-separated).
    #[arg(long, default_value = "*", value_delimiter = ',')]
    redis_channels: Vec<String>,
    /// Redis channels `<prefix><stream key>` carry RLTOP datagrams (e.g. rltop:incremental).
    #[arg(long, default_value = "rltop:")]
    redis_prefix: String,
    /// PEM certificate chain: serve https and wss (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Channel plan (default: the draft's; see `rltop plan`).
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Multicast source: interface to join on (name, address or `any`).
    #[arg(long, default_value = "any")]
    iface: String,
    /// Capture source: pace relative to the recording (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    #[command(flatten)]
    sim: crate::live_sim::LiveSimArgs,
    /// Which instrument symbols are served: `binance` (A–Z 0–9 . _ -, as Binance's clients
    /// expect; others are refused and counted) or `printable` (any the feed carries, with
    /// no per-symbol stream for those outside Binance's alphabet).
    #[arg(long, value_enum, default_value = "binance")]
    symbol_alphabet: Alphabet,
    /// Most WebSocket connections at once.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    /// Per-client send queue bound, bytes: a client behind a trade or diff stream by more
    /// is closed (1008); book and ticker streams conflate instead.
    #[arg(long, default_value_t = 4 << 20)]
    queue_bytes: usize,
    /// All send queues together, bytes: past it, a client with frames already waiting is
    /// closed (1008); one that keeps up always gets its frame.
    #[arg(long, default_value_t = 512 << 20)]
    queue_bytes_total: usize,
    /// Largest incoming WebSocket message, bytes (larger: closed with 1009).
    #[arg(long, default_value_t = 64 << 10)]
    max_frame: usize,
    /// Incoming messages a second before a connection is closed (Binance: 5).
    #[arg(long, default_value_t = 5)]
    incoming_rate: u32,
    /// Server ping interval (Binance: 20s).
    #[arg(long, value_parser = parse_duration, default_value = "20s")]
    ping_interval: Duration,
    /// Close a connection that has not answered a ping for this long (Binance: 1m).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pong_timeout: Duration,
    /// The source is stale after this long without a datagram.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    stale_after: Duration,
}

pub fn run(args: BridgeArgs) -> Result<(), String> {
    let plan = crate::load_plan(args.plan.as_ref())?;
    let source = match &args.source {
        SourceArg::Sim => SourceSpec::Sim(args.sim.spec(plan)),
        SourceArg::Multicast => SourceSpec::Multicast {
            plan,
            iface: args.iface.clone(),
        },
        SourceArg::Redis(url) => redis(&args, url.clone().unwrap_or(args.redis_url.clone())),
        SourceArg::Pcap(path) => {
            if !(0.0..=1e6).contains(&args.speed) {
                return Err(format!("--speed {}: must be 0 to 1e6", args.speed));
            }
            SourceSpec::Pcap {
                path: path.clone(),
                plan,
                speed: args.speed,
            }
        }
    };
    let mut config = rltop_bridge::Config::new(SocketAddr::new(args.listen, args.port), source);
    config.token = args.token.filter(|t| !t.is_empty());
    config.tls = args.tls_cert.zip(args.tls_key);
    config.max_connections = args.max_connections;
    config.queue_bytes = args.queue_bytes;
    config.queue_bytes_total = args.queue_bytes_total;
    config.max_frame = args.max_frame;
    config.incoming_per_second = args.incoming_rate;
    config.ping_interval = args.ping_interval;
    config.pong_timeout = args.pong_timeout;
    config.symbol_alphabet = match args.symbol_alphabet {
        Alphabet::Binance => SymbolAlphabet::Binance,
        Alphabet::Printable => SymbolAlphabet::Printable,
    };
    config.stale_after = args.stale_after;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let source = config.source.describe();
    rltop_bridge::run(config, |addr| {
        eprintln!("rltop bridge: listening on {scheme}://{addr} (source: {source})");
    })
}

fn redis(args: &BridgeArgs, url: String) -> SourceSpec {
    SourceSpec::Redis(RedisSpec {
        url,
        patterns: args.redis_channels.clone(),
        datagram_prefix: args.redis_prefix.clone(),
    })
}
