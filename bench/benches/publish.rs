//! `cargo xtask bench publish` (or `cargo bench -p rltop-bench --bench publish`): the
//! reference publisher flat out, from order-level events to the network, side by side in
//! one run:
//!
//! * the publisher alone (book upkeep, encode, CRC-32C, packing; datagrams discarded): the
//!   ceiling every backend shares;
//! * kernel UDP multicast on loopback, with a subscriber thread draining every group:
//!   one `sendto` per message (no packing, what a naive publisher does), packed datagrams
//!   with one `sendto` each, packed datagrams with `sendmmsg` (64 a call), and with UDP GSO
//!   on top (runs of equal-size datagrams to one group as one buffer);
//! * DPDK into `net_null` (built with `--features dpdk`).
//!
//! Then the event-to-send latency with no hold time (every `publish` call ends with its
//! datagrams handed over): the time from the call to the return of `sendmmsg` / the tx
//! burst, p50 / p99 / p99.9, per backend.
//!
//! Prints markdown tables; ratios are against packed + `sendmmsg`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rltop_net::mcast::{Outgoing, Receiver, SendMode};
use rltop_net::Plan;
use rltop_publish::transport::Kernel;
use rltop_publish::{Event, Publisher, Transport};

const EVENTS: u64 = 1_000_000;

/// The simulator's order flow, generated once: (virtual time, event).
fn workload() -> Vec<(u64, Event)> {
    let mut market = rltop_sim::Market::new(rltop_sim::Config {
        seed: 42,
        instruments: 8,
        events: EVENTS,
        ..rltop_sim::Config::default()
    });
    let mut out = Vec::new();
    let mut batch = Vec::new();
    market.definitions(&mut batch);
    loop {
        let t = market.now();
        out.extend(batch.drain(..).map(|e| (t, e)));
        if !market.step(&mut batch) {
            break;
        }
    }
    out
}

/// Discards datagrams, counting them (the publisher alone).
#[derive(Default)]
struct Discard {
    datagrams: u64,
}

impl Transport for Discard {
    fn send(&mut self, batch: &[Outgoing<'_>], _now_ns: u64) -> std::io::Result<()> {
        self.datagrams += batch.len() as u64;
        std::hint::black_box(batch);
        Ok(())
    }
}

/// The draft's plan moved to groups of its own, on loopback.
fn plan(hold_us: u64) -> Plan {
    let mut plan = Plan::default();
    for (s, octet) in [
        (&mut plan.streams.full_book, 20u8),
        (&mut plan.streams.top_of_book, 21),
        (&mut plan.streams.incremental, 22),
        (&mut plan.streams.trades, 23),
        (&mut plan.streams.statistics, 24),
    ] {
        s.addr = toml::Spanned::new(0..0, Ipv4Addr::new(239, 254, octet, 1));
        s.port += 10_000;
        s.stride = 1;
    }
    plan.hold_us = hold_us;
    plan
}

struct Run {
    name: &'static str,
    messages: u64,
    datagrams: u64,
    seconds: f64,
    received: Option<u64>,
}

/// The wall clock in ns, as a publisher flat out sees time: the hold time then packs
/// datagrams full (on the simulator's virtual time, 100 µs hold only a few events).
fn wall_ns(start: Instant) -> u64 {
    1_700_000_000_000_000_000 + start.elapsed().as_nanos() as u64
}

/// Events stamped with one clock reading: a matching engine stamps the events of what it
/// matched at once, and a clock read costs ~33 ns on this VM (a third of the publisher's
/// cost per event), which is the engine's, not the publisher's.
const EVENTS_PER_CLOCK_READ: usize = 8;

fn drive<T: Transport>(
    name: &'static str,
    mut p: Publisher<T>,
    work: &[(u64, Event)],
) -> (Run, Publisher<T>) {
    let start = Instant::now();
    for chunk in work.chunks(EVENTS_PER_CLOCK_READ) {
        let now = wall_ns(start);
        for (_, e) in chunk {
            p.publish(e, now).expect("the simulator's events fit");
        }
    }
    p.flush(wall_ns(start)).expect("flush");
    let seconds = start.elapsed().as_secs_f64();
    let s = p.stats();
    (
        Run {
            name,
            messages: s.messages,
            datagrams: s.datagrams,
            seconds,
            received: None,
        },
        p,
    )
}

/// A subscriber thread draining every group of the plan on loopback; returns its count.
fn drain(plan: &Plan) -> (Arc<AtomicBool>, Arc<AtomicU64>, std::thread::JoinHandle<()>) {
    let groups: Vec<SocketAddrV4> = plan.endpoints().iter().map(|e| e.addr).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut rx = Receiver::join(&groups, Ipv4Addr::LOCALHOST, 64 << 20).expect("join on loopback");
    let (s, c) = (stop.clone(), count.clone());
    let handle = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            let _ = rx.poll(Duration::from_millis(20), &mut |_| {
                c.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    (stop, count, handle)
}

fn kernel(name: &'static str, pack: bool, mode: SendMode, work: &[(u64, Event)]) -> Run {
    kernel_mtu(name, pack, mode, 1472, work)
}

fn kernel_mtu(
    name: &'static str,
    pack: bool,
    mode: SendMode,
    mtu: u32,
    work: &[(u64, Event)],
) -> Run {
    let mut plan = plan(100);
    plan.mtu = toml::Spanned::new(0..0, mtu);
    let (stop, count, handle) = drain(&plan);
    let transport = Kernel::new(Ipv4Addr::LOCALHOST, 1, true, mode).expect("socket");
    let mut p = Publisher::new(plan, transport);
    p.set_packing(pack);
    let (mut run, _) = drive(name, p, work);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    handle.join().expect("drain thread");
    run.received = Some(count.load(Ordering::Relaxed));
    run
}

/// Per-call latency of `publish` with no hold time: each call sends what it made.
fn latency<T: Transport>(p: &mut Publisher<T>, work: &[(u64, Event)]) -> [f64; 3] {
    let mut samples = Vec::with_capacity(work.len());
    let clock = Instant::now();
    for (_, e) in work {
        let start = Instant::now();
        p.publish(e, wall_ns(clock)).expect("fits");
        samples.push(start.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64;
    [at(0.5), at(0.99), at(0.999)]
}

fn plan_hold0() -> Plan {
    plan(0)
}

/// The rows, measured in rounds: every row once per round, so that this VM's drift in
/// speed touches all rows alike; each row reports its median round.
const ROUNDS: usize = 3;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks for a list; this harness has nothing to list.
        return;
    }
    let work = workload();
    eprintln!(
        "workload: {} events from the simulator (8 instruments); {ROUNDS} rounds",
        work.len()
    );
    #[cfg(feature = "dpdk")]
    let mut dpdk = {
        let eal = "--no-huge -m 512 --no-pci --vdev net_null0 --log-level=error --file-prefix rltop-bench";
        let src = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 40000);
        Some(rltop_publish::transport::Dpdk::open(eal, src, &plan(100)).expect("DPDK net_null"))
    };
    let mut rounds: Vec<Vec<Run>> = Vec::new();
    for _ in 0..ROUNDS {
        let mut runs = Vec::new();
        let (run, _) = drive(
            "publisher alone (datagrams discarded)",
            Publisher::new(plan(100), Discard::default()),
            &work,
        );
        runs.push(run);
        runs.push(kernel(
            "kernel, one sendto per message",
            false,
            SendMode::SendTo,
            &work,
        ));
        runs.push(kernel(
            "kernel, packed, one sendto per datagram",
            true,
            SendMode::SendTo,
            &work,
        ));
        runs.push(kernel(
            "kernel, packed + sendmmsg",
            true,
            SendMode::SendMmsg,
            &work,
        ));
        runs.push(kernel(
            "kernel, packed + sendmmsg + UDP GSO",
            true,
            SendMode::Gso,
            &work,
        ));
        // The kernel's cost is per datagram: jumbo datagrams (loopback allows them) show it.
        runs.push(kernel_mtu(
            "kernel, packed + sendmmsg, 8972-byte datagrams",
            true,
            SendMode::SendMmsg,
            8972,
            &work,
        ));
        #[cfg(feature = "dpdk")]
        {
            let t = dpdk.take().expect("the port stays open between rounds");
            let (run, p) = drive(
                "DPDK net_null, packed, tx bursts of 64",
                Publisher::new(plan(100), t),
                &work,
            );
            runs.push(run);
            dpdk = Some(p.into_transport());
        }
        rounds.push(runs);
    }
    let mut lat = Vec::new();
    {
        let mut p = Publisher::new(plan_hold0(), Discard::default());
        lat.push((
            "publisher alone (no send)",
            latency(&mut p, &work[..200_000]),
        ));
        let plan = plan_hold0();
        let (stop, _count, handle) = drain(&plan);
        let t = Kernel::new(Ipv4Addr::LOCALHOST, 1, true, SendMode::SendMmsg).expect("socket");
        let mut p = Publisher::new(plan, t);
        lat.push(("kernel, sendmmsg", latency(&mut p, &work[..200_000])));
        let t = Kernel::new(Ipv4Addr::LOCALHOST, 1, true, SendMode::Gso).expect("socket");
        let mut p = Publisher::new(plan_hold0(), t);
        lat.push((
            "kernel, sendmmsg + UDP GSO",
            latency(&mut p, &work[..200_000]),
        ));
        stop.store(true, Ordering::Relaxed);
        handle.join().expect("drain");
    }
    #[cfg(feature = "dpdk")]
    {
        let t = dpdk.take().expect("open");
        let mut p = Publisher::new(plan_hold0(), t);
        lat.push(("DPDK net_null, tx burst", latency(&mut p, &work[..200_000])));
    }

    let base_of = |runs: &[Run]| {
        runs.iter()
            .find(|r| r.name == "kernel, packed + sendmmsg")
            .map(|r| r.messages as f64 / r.seconds)
            .expect("the sendmmsg run")
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("| publisher path | messages/s | datagrams/s | received by the subscriber | × packed + sendmmsg |");
    println!("|---|---:|---:|---:|---:|");
    for (k, r) in rounds[0].iter().enumerate() {
        let rate = median(
            rounds
                .iter()
                .map(|rs| rs[k].messages as f64 / rs[k].seconds)
                .collect(),
        );
        let dgrams = median(
            rounds
                .iter()
                .map(|rs| rs[k].datagrams as f64 / rs[k].seconds)
                .collect(),
        );
        let ratio = median(
            rounds
                .iter()
                .map(|rs| rs[k].messages as f64 / rs[k].seconds / base_of(rs))
                .collect(),
        );
        let received = r.received.map(|_| {
            let worst = rounds
                .iter()
                .map(|rs| {
                    100.0 * rs[k].received.unwrap_or(0) as f64 / rs[k].datagrams.max(1) as f64
                })
                .fold(f64::INFINITY, f64::min);
            format!("{worst:.1} %")
        });
        println!(
            "| {} | {:.2} M | {:.2} M | {} | {:.2} |",
            r.name,
            rate / 1e6,
            dgrams / 1e6,
            received.unwrap_or_else(|| "—".to_string()),
            ratio
        );
    }
    println!();
    println!("| event-to-send latency, no hold time | p50 | p99 | p99.9 |");
    println!("|---|---:|---:|---:|");
    for (name, [p50, p99, p999]) in &lat {
        println!(
            "| {name} | {:.0} ns | {:.0} ns | {:.0} ns |",
            p50, p99, p999
        );
    }
}
