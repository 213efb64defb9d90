//! `rltop replay FILE.pcap`: sends a capture's UDP datagrams to their recorded destinations
//! again (multicast groups, checked for a route first; a unicast destination is sent to as
//! well), at recorded pace (default), scaled (`--speed X`) or flat out (`--flat`).

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use rltop_capture::{replay, Pace, PcapReader};
use rltop_net::mcast::{check_route, resolve_interface, Outgoing, SendMode, Sender};

#[derive(Args)]
pub struct ReplayArgs {
    /// The capture (classic pcap, Ethernet or raw IPv4; non-UDP packets are passed over).
    file: PathBuf,
    /// Replay this many times faster than recorded.
    #[arg(long, conflicts_with = "flat")]
    speed: Option<f64>,
    /// No waiting between datagrams.
    #[arg(long)]
    flat: bool,
    /// Interface to send on: a name (lo, eth0), one of its addresses, or `any` (by route).
    #[arg(long, default_value = "any")]
    iface: String,
    /// Multicast TTL.
    #[arg(long, default_value_t = 1)]
    ttl: u8,
    /// Do not deliver to listeners on this host.
    #[arg(long)]
    no_loopback: bool,
}

pub fn run(args: ReplayArgs) -> Result<(), String> {
    let name = args.file.display().to_string();
    let pace = match (args.flat, args.speed) {
        (true, _) => Pace::AsFastAsPossible,
        (false, Some(x)) if (1e-3..=1e6).contains(&x) => Pace::Scaled(x),
        (false, Some(x)) => return Err(format!("--speed {x:e}: must be 0.001 to 1000000")),
        (false, None) => Pace::Recorded,
    };
    let iface = resolve_interface(&args.iface)?;
    let file = File::open(&args.file).map_err(|e| format!("{name}: {e}"))?;
    let mut reader = PcapReader::new(BufReader::new(file)).map_err(|e| format!("{name}: {e}"))?;
    let mut sender = Sender::new(iface, args.ttl, !args.no_loopback, SendMode::SendMmsg)
        .map_err(|e| format!("cannot open a socket: {e}"))?;
    let mut checked = std::collections::HashSet::new();
    let mut route_error = None;
    let sent = replay(reader.by_ref(), pace, |p| {
        if checked.insert(p.dst) && p.dst.ip().is_multicast() {
            if let Err(e) = check_route(p.dst, iface) {
                route_error = Some(e.clone());
                return Err(std::io::Error::other(e));
            }
        }
        sender.send(&[Outgoing {
            dst: p.dst,
            payload: &p.payload,
        }])
    })
    .map_err(|e| {
        route_error
            .clone()
            .unwrap_or_else(|| format!("{name}: {e}"))
    })?;
    eprintln!("rltop replay: {name}: {sent} datagrams sent");
    crate::util::warn_fragments("replay", &name, reader.fragments_skipped());
    Ok(())
}
