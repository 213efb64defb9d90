//! `rltop gateway`: the TCP gateway (crate `rltop-gateway`, SPEC.md §11). It takes the
//! feed from the plan's multicast groups (or the simulator through the publisher
//! in-process, or a capture), retains each channel, and serves replay and unicast delivery
//! to TCP clients (`rltop listen --gateway` / `--unicast`, the Python client).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rltop_source::{Input, SourceSpec, SourceState};

use crate::source_arg::SourceArg;
use crate::util::{parse_duration, stop_on_signals, stopped};

#[derive(Args)]
pub struct GatewayArgs {
    /// Where clients connect (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:9400")]
    listen: SocketAddr,
    /// Where the datagrams come from: `multicast` (the channel plan's groups), `sim` (the
    /// embedded simulator through the publisher, in-process) or `pcap:FILE`.
    #[arg(long, default_value = "multicast", value_parser = crate::source_arg::gateway)]
    source: SourceArg,
    /// Channel plan (default: the draft's; see `rltop plan`).
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Multicast source: interface to join on (name, address or `any`).
    #[arg(long, default_value = "any")]
    iface: String,
    /// Token a client's Login must carry; none: any.
    #[arg(long, env = "RLTOP_GATEWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Serve Prometheus counters at http://ADDR/metrics.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Messages retained per channel for replay.
    #[arg(long, default_value_t = 1 << 20)]
    retention_messages: usize,
    /// Bytes retained per channel for replay.
    #[arg(long, default_value_t = 256 << 20)]
    retention_bytes: usize,
    /// Heartbeat interval, ms (a client may ask for another); idle timeout: three of them.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    heartbeat_ms: u64,
    /// Time a connection has to log in.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    login_timeout: Duration,
    /// Connections at once; a Login past it gets ServerFull.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Bytes queued for a connection before it is closed as a slow consumer.
    #[arg(long, default_value_t = 8 << 20)]
    queue_bytes: usize,
    /// Most messages one ReplayRequest may ask for.
    #[arg(long, default_value_t = 100_000)]
    max_replay_count: u32,
    /// Replayed messages a second per connection.
    #[arg(long, default_value_t = 2_000_000)]
    replay_rate: u32,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this long (e.g. 30s).
    #[arg(long = "for", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Capture source: pace relative to the recording (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    #[command(flatten)]
    sim: crate::live_sim::LiveSimArgs,
}

pub fn run(args: GatewayArgs) -> Result<(), String> {
    let plan = crate::load_plan(args.plan.as_ref())?;
    let source = match &args.source {
        SourceArg::Sim => SourceSpec::Sim(args.sim.spec(plan.clone())),
        SourceArg::Multicast => SourceSpec::Multicast {
            plan: plan.clone(),
            iface: args.iface.clone(),
        },
        SourceArg::Pcap(path) => SourceSpec::Pcap {
            path: path.clone(),
            plan: plan.clone(),
            speed: args.speed,
        },
        SourceArg::Redis(_) => {
            return Err("--source redis: the gateway takes multicast, sim or pcap:FILE".into())
        }
    };
    let config = rltop_gateway::Config {
        listen: args.listen,
        metrics: args.metrics,
        token: args.token.filter(|t| !t.is_empty()),
        retention_messages: args.retention_messages,
        retention_bytes: args.retention_bytes,
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        login_timeout: args.login_timeout,
        max_connections: args.max_connections,
        queue_bytes: args.queue_bytes,
        max_replay_count: args.max_replay_count,
        replay_rate: args.replay_rate,
        threads: args
            .threads
            .unwrap_or_else(|| rltop_gateway::Config::default().threads),
    };
    stop_on_signals()?;
    let running = rltop_gateway::start(config, &plan)?;
    let describe = source.describe();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Input>(4096);
    let stop = Arc::new(AtomicBool::new(false));
    let source_thread = source.start(tx, stop.clone())?;
    // The first line says where: scripts (and the tests) read the port from it.
    println!(
        "rltop gateway: listening on {} (source: {describe})",
        running.addr
    );
    if let Some(m) = running.metrics_addr {
        println!("rltop gateway: metrics at http://{m}/metrics");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let deadline = args.duration.and_then(|d| started.checked_add(d));
    let gateway = running.gateway().clone();
    loop {
        if stopped() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Input::Datagram { bytes, .. }) => gateway.ingest(&bytes),
            Ok(Input::State(SourceState::Down(why))) => {
                eprintln!("rltop gateway: source down: {why}")
            }
            Ok(Input::State(SourceState::Ended)) => {
                eprintln!("rltop gateway: the source has ended; still serving what is retained")
            }
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // The source is done: serve what is held until stopped.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(rx);
    let _ = source_thread.join();
    let m = gateway.metrics();
    use std::sync::atomic::Ordering::Relaxed;
    eprintln!(
        "rltop gateway: {} datagrams, {} messages in ({} duplicates), {} logins, {} replay requests ({} refused, {} messages replayed), {} slow-consumer closes",
        m.datagrams_in.load(Relaxed),
        m.messages_in.load(Relaxed),
        m.messages_duplicate.load(Relaxed),
        m.logins.load(Relaxed),
        m.replay_requests.load(Relaxed),
        m.replay_rejected.load(Relaxed),
        m.replayed_messages.load(Relaxed),
        m.slow_closes.load(Relaxed),
    );
    running.shutdown();
    Ok(())
}
