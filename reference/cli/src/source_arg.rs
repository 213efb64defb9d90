//! `--source`, parsed once for every command that takes one: `sim`, `multicast`,
//! `pcap:FILE`, `redis` (the URL from `REDIS_URL`) or `redis://…`. Each command says which
//! kinds it serves, and clap refuses the others with the list (exit 2).

use std::path::PathBuf;

/// Where datagrams (or, for the publisher, events) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceArg {
    /// The embedded simulator.
    Sim,
    /// The channel plan's multicast groups.
    Multicast,
    /// A capture file.
    Pcap(PathBuf),
    /// Redis pub/sub: a URL, or None for `REDIS_URL`.
    Redis(Option<String>),
}

impl SourceArg {
    fn parse(s: &str) -> Option<SourceArg> {
        match s {
            "sim" => Some(SourceArg::Sim),
            "multicast" => Some(SourceArg::Multicast),
            "redis" => Some(SourceArg::Redis(None)),
            _ if s.starts_with("redis://") || s.starts_with("rediss://") => {
                Some(SourceArg::Redis(Some(s.to_string())))
            }
            _ => s
                .strip_prefix("pcap:")
                .filter(|p| !p.is_empty())
                .map(|p| SourceArg::Pcap(p.into())),
        }
    }

    /// `s` if it names one of the kinds `takes` lists (`sim`, `multicast`, `pcap:FILE`,
    /// `redis`); the error lists them.
    fn one_of(s: &str, takes: &[&str]) -> Result<SourceArg, String> {
        let kind = |a: &SourceArg| match a {
            SourceArg::Sim => "sim",
            SourceArg::Multicast => "multicast",
            SourceArg::Pcap(_) => "pcap:FILE",
            SourceArg::Redis(_) => "redis",
        };
        match SourceArg::parse(s) {
            Some(a) if takes.contains(&kind(&a)) => Ok(a),
            _ => {
                let mut list = takes.join(", ");
                if takes.contains(&"redis") {
                    list.push_str(" or redis://HOST:PORT");
                }
                Err(format!("expected {list}"))
            }
        }
    }
}

/// What `rltop bridge` serves from.
pub fn bridge(s: &str) -> Result<SourceArg, String> {
    SourceArg::one_of(s, &["sim", "multicast", "pcap:FILE", "redis"])
}

/// What `rltop gateway` serves from.
pub fn gateway(s: &str) -> Result<SourceArg, String> {
    SourceArg::one_of(s, &["multicast", "sim", "pcap:FILE"])
}

/// What `rltop publish` publishes from.
pub fn publish(s: &str) -> Result<SourceArg, String> {
    SourceArg::one_of(s, &["sim", "pcap:FILE"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_takes_its_kinds() {
        assert_eq!(bridge("sim"), Ok(SourceArg::Sim));
        assert_eq!(bridge("redis"), Ok(SourceArg::Redis(None)));
        assert_eq!(
            bridge("redis://h:1"),
            Ok(SourceArg::Redis(Some("redis://h:1".into())))
        );
        assert_eq!(
            gateway("pcap:/x.pcap"),
            Ok(SourceArg::Pcap("/x.pcap".into()))
        );
        assert_eq!(
            gateway("redis"),
            Err("expected multicast, sim, pcap:FILE".into())
        );
        assert_eq!(publish("multicast"), Err("expected sim, pcap:FILE".into()));
        assert_eq!(
            bridge("pcap:"),
            Err("expected sim, multicast, pcap:FILE, redis or redis://HOST:PORT".into())
        );
    }
}
