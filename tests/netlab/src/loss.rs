//! The loss run: `rltop publish` in one namespace, `rltop listen` in the other with
//! nftables dropping increment datagrams in between, optionally a gateway beside the
//! publisher that the subscriber asks for what it lost. The subscriber's books must equal
//! the simulator's oracle books for the same seed, and the loss must have happened.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rltop_devsupport::process::Running;

use crate::netns::{link, Link, Netns};

/// A loss pattern on the increment groups (239.255.1.0/24, port 9002).
#[derive(Clone, Copy)]
pub enum Loss {
    /// Each datagram dropped with this probability, in percent.
    Percent(u32),
    /// `burst` consecutive datagrams of every `every`.
    Bursts { burst: u32, every: u32 },
    /// A and B lines (the plan's B line on 239.255.128.0/17), each datagram of either
    /// dropped with this probability, independently.
    BothLines(u32),
}

impl Loss {
    pub fn name(self) -> String {
        match self {
            Loss::Percent(p) => format!("{p}% loss"),
            Loss::Bursts { burst, every } => format!("bursts of {burst} in {every}"),
            Loss::BothLines(p) => format!("A and B lines, {p}% loss on each"),
        }
    }

    fn rule(self) -> String {
        let m = "ip daddr 239.255.1.0/24 udp dport 9002";
        match self {
            Loss::Percent(p) => format!("{m} numgen random mod 100 < {p} counter drop"),
            Loss::Bursts { burst, every } => {
                format!("{m} numgen inc mod {every} < {burst} counter drop")
            }
            Loss::BothLines(p) => format!(
                "ip daddr {{ 239.255.1.0/24, 239.255.129.0/24 }} udp dport 9002 numgen random mod 100 < {p} counter drop"
            ),
        }
    }
}

/// A plan with a B line: the draft's groups, and the same on 239.255.128+.
fn ab_plan(dir: &Path) -> Result<PathBuf, String> {
    let mut text = String::new();
    for (table, base) in [("streams", 0), ("b_line", 128)] {
        for (key, third, last, port, stride) in [
            ("full_book", 0, 1, 9001, 2),
            ("top_of_book", 0, 2, 9001, 2),
            ("incremental", 1, 1, 9002, 1),
            ("trades", 2, 1, 9003, 1),
            ("statistics", 3, 1, 9004, 1),
        ] {
            text += &format!(
                "[{table}.{key}]\naddr = \"239.255.{}.{last}\"\nport = {port}\nstride = {stride}\n",
                base + third
            );
        }
    }
    let path = dir.join("ab-plan.toml");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// A gateway beside the publisher (in its namespace, joined to the plan's groups), which the
/// subscriber asks for what it lost (`rltop listen --gateway`).
#[derive(Clone, Copy)]
pub struct GatewaySetup {
    /// Messages retained per channel: small enough, and every replay is refused.
    pub retention_messages: usize,
}

pub const GATEWAY_ADDR: &str = "10.231.0.1:9400";

/// What `rltop listen --summary-json` says, as far as the checks and `bench gateway` read it.
#[derive(serde::Deserialize)]
pub struct ListenSummary {
    pub repairs: Repairs,
    pub gateway: Option<Replays>,
}

#[derive(serde::Deserialize)]
pub struct Repairs {
    pub count: u64,
    pub stale_p50_ms: Option<f64>,
    pub stale_p99_ms: Option<f64>,
}

#[derive(serde::Deserialize)]
pub struct Replays {
    pub replays_served: u64,
    pub replays_refused: u64,
}

/// One [`loss_run`]: what nftables dropped, and the subscriber's summary.
pub struct LossRun {
    pub dropped: u64,
    pub listen: ListenSummary,
    /// `rltop listen`'s summary line, for people.
    pub line: String,
    /// What was run: the loss, and the gateway if any.
    pub setup: String,
}

impl std::fmt::Display for LossRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} datagrams dropped; books equal the oracle's; {}",
            self.setup,
            self.dropped,
            self.line.trim()
        )
    }
}

/// Datagrams that the rules of `table inet rltop_loss` in `ns` dropped (`nft -j`'s counters).
fn dropped_by_nft(ns: &Netns) -> Result<u64, String> {
    let json = ns.output("nft", &["-j", "list", "table", "inet", "rltop_loss"])?;
    let v: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("nft -j list table: {e}: {json}"))?;
    let rules = v["nftables"].as_array().into_iter().flatten();
    let exprs = rules.filter_map(|o| o["rule"]["expr"].as_array()).flatten();
    let packets = exprs.filter_map(|e| e["counter"]["packets"].as_u64());
    Ok(packets.sum())
}

/// One run with `loss` on the increments: the subscriber's books must equal the oracle's,
/// nftables must have dropped something, and a gateway (if any) must have served replays
/// (or, beyond its retention, refused them). `rltop` is the binary; `dir` takes the books,
/// the summary and the rules, named after `seed`.
pub fn loss_run(
    rltop: &Path,
    loss: Loss,
    seed: u64,
    dir: &Path,
    gateway: Option<GatewaySetup>,
) -> Result<LossRun, String> {
    let l = link("loss")?;
    let _gateway = gateway.map(|g| start_gateway(rltop, &l, g)).transpose()?;
    let plan: Vec<String> = match loss {
        Loss::BothLines(_) => vec!["--plan".into(), ab_plan(dir)?.display().to_string()],
        _ => Vec::new(),
    };
    drop_in(&l.subscriber, loss, &dir.join(format!("loss-{seed}.nft")))?;
    let books = dir.join(format!("listen-{seed}.json"));
    let oracle = dir.join(format!("oracle-{seed}.json"));
    let summary_json = dir.join(format!("summary-{seed}.json"));
    let mut listen = l.subscriber.command(rltop);
    listen
        .args([
            "listen",
            "--iface",
            &l.sub_if,
            "--until-end",
            "--for",
            "60s",
            "--quiet",
        ])
        .arg("--books-out")
        .arg(&books)
        .arg("--summary-json")
        .arg(&summary_json)
        .args(&plan)
        .stdout(Stdio::null());
    if gateway.is_some() {
        listen.args(["--gateway", GATEWAY_ADDR]);
    }
    let listener = Running::start(&mut listen, "rltop listen")?;
    if gateway.is_none() {
        l.subscriber.until_joined(&groups_of(&plan)?)?;
    }
    let seed_arg = seed.to_string();
    let mut publish = l.publisher.command(rltop);
    publish
        .args([
            "publish",
            "--iface",
            &l.pub_if,
            "--events",
            "30000",
            "--instruments",
            "4",
        ])
        .args([
            "--seed", &seed_arg, "--rate", "60000", "--tail", "2", "--books",
        ])
        .arg(&oracle)
        .args(&plan)
        .stdout(Stdio::null());
    Running::start(&mut publish, "rltop publish")?.finish(Duration::from_secs(60))?;
    let line = listener.finish(Duration::from_secs(70))?;
    let run = LossRun {
        dropped: dropped_by_nft(&l.subscriber)?,
        listen: read_summary(&summary_json)?,
        line,
        setup: match gateway {
            Some(g) => format!(
                "{}, gaps repaired from a gateway retaining {} messages a channel",
                loss.name(),
                g.retention_messages
            ),
            None => loss.name(),
        },
    };
    if read(&books)? != read(&oracle)? {
        return Err(format!(
            "{}: the subscriber's books differ from the oracle's ({} vs {})\n{}",
            loss.name(),
            books.display(),
            oracle.display(),
            run.line
        ));
    }
    run.check(loss, gateway)?;
    Ok(run)
}

impl LossRun {
    /// The loss happened, and a gateway did what its retention allows: replays served
    /// (none refused) with a large one, refusals with a tiny one.
    fn check(&self, loss: Loss, gateway: Option<GatewaySetup>) -> Result<(), String> {
        if self.dropped == 0 {
            return Err(format!(
                "{}: nftables dropped no datagram; the test did not test loss",
                loss.name()
            ));
        }
        let Some(g) = gateway else {
            return Ok(());
        };
        let (served, refused) = self
            .listen
            .gateway
            .as_ref()
            .map_or((0, 0), |r| (r.replays_served, r.replays_refused));
        let tiny = g.retention_messages < 1000;
        if (tiny && refused == 0) || (!tiny && (served == 0 || refused != 0)) {
            return Err(format!(
                "{} with a gateway (retention {}): {served} replays served, {refused} refused\n{}",
                loss.name(),
                g.retention_messages,
                self.line
            ));
        }
        Ok(())
    }
}

/// `rltop gateway` in the publisher's namespace on [`GATEWAY_ADDR`], fed by the plan's
/// groups; returns once it listens.
fn start_gateway(rltop: &Path, l: &Link, g: GatewaySetup) -> Result<Running, String> {
    let retention = g.retention_messages.to_string();
    let mut command = l.publisher.command(rltop);
    command
        .args(["gateway", "--source", "multicast", "--iface", &l.pub_if])
        .args(["--listen", GATEWAY_ADDR, "--for", "100s"])
        .args(["--retention-messages", &retention])
        .stdout(Stdio::null());
    let running = Running::start(&mut command, "rltop gateway")?;
    let port = GATEWAY_ADDR.rsplit(':').next().and_then(|p| p.parse().ok());
    l.publisher
        .until_listening(port.ok_or("GATEWAY_ADDR has no port")?)?;
    Ok(running)
}

/// The loss rule as `table inet rltop_loss`, written to `rules` and loaded in `ns`.
fn drop_in(ns: &Netns, loss: Loss, rules: &Path) -> Result<(), String> {
    let table = format!(
        "table inet rltop_loss {{\n  chain input {{\n    type filter hook prerouting priority -300; policy accept;\n    {}\n  }}\n}}\n",
        loss.rule()
    );
    std::fs::write(rules, table).map_err(|e| format!("{}: {e}", rules.display()))?;
    ns.exec("nft", &["-f", &rules.to_string_lossy()])
}

/// Every group of the plan that `--plan FILE` arguments name (none: the draft's).
fn groups_of(plan_args: &[String]) -> Result<Vec<std::net::Ipv4Addr>, String> {
    let plan = match plan_args {
        [flag, file] if flag == "--plan" => {
            rltop_net::Plan::load(Path::new(file)).map_err(|e| e.to_string())?
        }
        _ => rltop_net::Plan::default(),
    };
    Ok(plan.endpoints().iter().map(|e| *e.addr.ip()).collect())
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// The `summary` of `rltop listen --summary-json`'s file.
fn read_summary(path: &Path) -> Result<ListenSummary, String> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        summary: ListenSummary,
    }
    serde_json::from_str::<Wrapped>(&read(path)?)
        .map(|w| w.summary)
        .map_err(|e| format!("{}: {e}", path.display()))
}
