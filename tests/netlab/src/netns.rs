//! Network namespaces, deleted on drop, and the veth pair that joins two of them.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rltop_devsupport::probe;

/// A network namespace that is deleted (with its interfaces) on drop.
pub struct Netns(String);

impl Netns {
    /// A fresh namespace `name` (one left behind by a killed run is deleted first), its
    /// loopback up.
    pub fn new(name: String) -> Result<Netns, String> {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        sh("ip", &["netns", "add", &name])?;
        let ns = Netns(name);
        ns.exec("ip", &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Runs `program args` inside; Err with its stderr unless it succeeds.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", &self.0, program];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// A command that runs `program` inside.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).arg(program);
        c
    }

    /// `program args` run inside: its standard output.
    pub fn output(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, program])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program} in {}: {e}", self.0))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits (10 s at most) until the namespace has joined every group of `groups`, as
    /// `/proc/net/igmp` read inside it says: a subscriber started there is ready.
    pub fn until_joined(&self, groups: &[Ipv4Addr]) -> Result<(), String> {
        self.until(&format!("joined {groups:?}"), || {
            Ok(joined(&self.output("cat", &["/proc/net/igmp"])?, groups))
        })
    }

    /// Waits (10 s at most) until something listens on TCP `port` inside the namespace.
    pub fn until_listening(&self, port: u16) -> Result<(), String> {
        let filter = format!("sport = :{port}");
        self.until(&format!("listening on {port}"), || {
            Ok(!self.output("ss", &["-ltnH", &filter])?.trim().is_empty())
        })
    }

    fn until(&self, what: &str, ready: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
        probe::until(what, Duration::from_secs(10), ready).map_err(|e| format!("{}: {e}", self.0))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Whether `/proc/net/igmp` lists every group of `groups`. Group lines hold the address as
/// the kernel's u32 in hex, in memory order (little-endian here).
fn joined(igmp: &str, groups: &[Ipv4Addr]) -> bool {
    let listed: Vec<Ipv4Addr> = igmp
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|g| g.len() == 8)
        .filter_map(|g| u32::from_str_radix(g, 16).ok())
        .map(|g| Ipv4Addr::from(g.to_le_bytes()))
        .collect();
    groups.iter().all(|g| listed.contains(g))
}

/// Runs `program args`; Err with the command and its stderr unless it succeeds.
pub(crate) fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces, `publisher` and `subscriber`, joined by a veth pair (10.231.0.1/30 and
/// .2/30), with a multicast route each.
pub struct Link {
    pub publisher: Netns,
    pub subscriber: Netns,
    pub pub_if: String,
    pub sub_if: String,
}

/// A [`Link`] whose names carry `tag` and this process's id (runs of two checkouts do not
/// collide).
pub fn link(tag: &str) -> Result<Link, String> {
    let id = std::process::id() % 10_000;
    let publisher = Netns::new(format!("rltop-pub-{tag}-{id}"))?;
    let subscriber = Netns::new(format!("rltop-sub-{tag}-{id}"))?;
    let (pub_if, sub_if) = (format!("rp{id}"), format!("rs{id}"));
    let veth = [
        "link",
        "add",
        &pub_if,
        "netns",
        &publisher.0,
        "type",
        "veth",
        "peer",
        "name",
        &sub_if,
        "netns",
        &subscriber.0,
    ];
    sh("ip", &veth)?;
    for (ns, ifname, addr) in [
        (&publisher, &pub_if, "10.231.0.1/30"),
        (&subscriber, &sub_if, "10.231.0.2/30"),
    ] {
        ns.exec("ip", &["addr", "add", addr, "dev", ifname])?;
        ns.exec("ip", &["link", "set", ifname, "up"])?;
        ns.exec("ip", &["route", "add", "224.0.0.0/4", "dev", ifname])?;
    }
    Ok(Link {
        publisher,
        subscriber,
        pub_if,
        sub_if,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn igmp_groups_are_read_in_memory_order() {
        let igmp = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     2      V3\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    \t\t\t\t0200FFEF     1 0:00000000\t\t0\n";
        let want = Ipv4Addr::new(239, 255, 0, 2);
        assert!(joined(igmp, &[want, Ipv4Addr::new(224, 0, 0, 1)]));
        assert!(!joined(igmp, &[Ipv4Addr::new(239, 255, 0, 3)]));
    }
}
