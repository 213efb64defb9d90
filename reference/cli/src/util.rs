//! Small things several subcommands share: durations, the clock, stopping on a signal.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The source address written into captures the simulator makes.
pub const SIM_SOURCE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40000);

/// A duration such as `30s`, `500ms`, `2m`, `1.5s`, `1h 30m` (humantime's syntax), or a
/// bare number of seconds (`10`, `2.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("`{s}`: not a duration this clock can hold"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}`: {e} (expected a duration such as 30s, 500ms or 2m)"))
}

pub use rltop_net::realtime_ns;

/// Says, on stderr, that a capture held IPv4 fragments that were passed over (datagrams
/// larger than the capturing link's MTU are not reassembled).
pub fn warn_fragments(command: &str, file: &str, fragments: u64) {
    if fragments > 0 {
        eprintln!(
            "rltop {command}: warning: {file}: {fragments} IPv4 fragment(s) passed over (fragmented datagrams are not reassembled)"
        );
    }
}

/// Set by SIGINT or SIGTERM once [`stop_on_signals`] has run.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn stop_flag() -> &'static Arc<AtomicBool> {
    STOP.get_or_init(Arc::default)
}

/// Makes SIGINT and SIGTERM set a flag ([`stopped`]) instead of killing the process, so a
/// subcommand can finish cleanly (summary, files written).
pub fn stop_on_signals() -> Result<(), String> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(stop_flag()))
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM came.
pub fn stopped() -> bool {
    stop_flag().load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        let e = parse_duration("5 parsecs").unwrap_err();
        assert!(
            e.starts_with("`5 parsecs`: unknown time unit \"parsecs\""),
            "{e}"
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("100000000000000000000").is_err());
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn a_signal_sets_the_stop_flag() {
        stop_on_signals().unwrap();
        assert!(!stopped());
        signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
        assert!(stopped(), "SIGTERM did not set the flag");
    }
}
