//! `rltop`: the one command users meet. Each subcommand is a thin front end of a library
//! crate under `reference/` (the simulator, the publisher, the feed handler, captures).
//! Errors print one line, `rltop <subcommand>: <reason>`, and exit with status 2.

mod bridge;
mod dump;
mod gateway;
mod listen;
mod live_sim;
mod publish;
mod replay;
mod source_arg;
mod util;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rltop_net::Plan;

#[derive(Parser)]
#[command(
    name = "rltop",
    version,
    about = "RLTOP market data: simulate, publish on UDP multicast, listen, replay, dump, and bridge to WebSocket",
    long_about = "RLTOP market data: simulate, publish on UDP multicast, listen, replay, dump, and bridge to WebSocket.\n\n\
On one machine, in two terminals:\n    rltop listen\n    rltop publish --for 10s\n\
Both use the draft's channel plan (rltop plan) unless given --plan FILE."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the market simulator through the publisher on virtual time; write a pcap capture.
    Sim(SimArgs),
    /// Publish market data on the channel plan's multicast groups.
    Publish(publish::PublishArgs),
    /// Join the plan's groups, rebuild the books, show them; a summary at exit.
    Listen(listen::ListenArgs),
    /// Send a capture's datagrams to their groups again, at recorded pace or faster.
    Replay(replay::ReplayArgs),
    /// Print every message of a pcap capture or a raw file of messages as canonical JSON.
    Dump(dump::DumpArgs),
    /// Print the draft's channel plan, its JSON Schema, or check a plan file.
    Plan(PlanArgs),
    /// Serve the feed as Binance-compatible WebSocket streams and REST, raw datagrams, and
    /// a live page.
    Bridge(bridge::BridgeArgs),
    /// Serve the feed over TCP: replay of missed messages and unicast delivery (SPEC.md §11).
    Gateway(gateway::GatewayArgs),
}

/// The simulator's knobs, shared by `rltop sim` and `rltop publish --source sim`.
#[derive(Args, Clone, Debug)]
pub struct MarketArgs {
    /// Seed: the same arguments give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Instruments (symbol ids 1..=N).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub instruments: u32,
    /// Order-flow events, all instruments together.
    #[arg(long, default_value_t = 20_000)]
    pub events: u64,
    /// Seconds of quiet after the flow: snapshots, statistics and heartbeats go on.
    #[arg(long, default_value_t = 3)]
    pub quiet_tail: u64,
    /// Symbols of the first instruments, comma-separated (the others are SIM<id>USDT).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

impl MarketArgs {
    /// The simulator's settings; an error names a symbol the definition cannot carry.
    pub fn config(&self) -> Result<rltop_sim::Config, String> {
        let cfg = rltop_sim::Config {
            seed: self.seed,
            instruments: self.instruments,
            events: self.events,
            quiet_tail_s: self.quiet_tail,
            symbols: self.symbols.clone(),
            ..rltop_sim::Config::default()
        };
        cfg.check().map_err(|e| format!("--symbols: {e}"))?;
        Ok(cfg)
    }
}

#[derive(Args)]
struct SimArgs {
    /// The capture to write (classic pcap: Ethernet/IPv4/UDP).
    #[arg(long)]
    out: PathBuf,
    /// Also write the matching engines' final books (the oracle) as JSON.
    #[arg(long)]
    books: Option<PathBuf>,
    /// Channel plan (default: the draft's).
    #[arg(long)]
    plan: Option<PathBuf>,
    #[command(flatten)]
    market: MarketArgs,
}

#[derive(Args)]
struct PlanArgs {
    /// Print the JSON Schema of plan files.
    #[arg(long, conflicts_with = "check")]
    schema: bool,
    /// Check a plan file; errors name file:line:col.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

/// Loads `--plan FILE`, or the draft's plan.
pub fn load_plan(path: Option<&PathBuf>) -> Result<Plan, String> {
    match path {
        Some(p) => Plan::load(p).map_err(|e| e.to_string()),
        None => Ok(Plan::default()),
    }
}

fn sim(args: SimArgs) -> Result<(), String> {
    use std::io::Write;
    let plan = load_plan(args.plan.as_ref())?;
    let (datagrams, oracle) = rltop_sim::Simulation::with_plan(args.market.config()?, plan).run();
    let out = args.out.display().to_string();
    let write = || -> std::io::Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
        let mut w = rltop_capture::PcapWriter::new(file)?;
        for d in &datagrams {
            w.write(d.time_ns, util::SIM_SOURCE, d.dst, &d.bytes)?;
        }
        w.into_inner().flush()
    };
    write().map_err(|e| format!("cannot write {out}: {e}"))?;
    if let Some(path) = &args.books {
        std::fs::write(path, oracle.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let bytes: usize = datagrams.iter().map(|d| d.bytes.len()).sum();
    let mut summary = format!(
        "{out}: {} datagrams, {bytes} bytes of messages, {} instruments\n",
        datagrams.len(),
        oracle.books.len()
    );
    for s in rltop_net::Stream::ALL {
        let n = datagrams.iter().filter(|d| d.stream == s).count();
        summary += &format!("  {}: {n} datagrams\n", s.key());
    }
    // A closed stdout (`| head`) is not an error of the simulation: the files are written.
    let _ = std::io::stdout().write_all(summary.as_bytes());
    Ok(())
}

fn plan(args: PlanArgs) -> Result<(), String> {
    if args.schema {
        println!("{}", Plan::json_schema());
    } else if let Some(file) = args.check {
        let plan = Plan::load(&file).map_err(|e| e.to_string())?;
        println!(
            "{}: ok: {} instrument group(s), {} multicast groups{}",
            file.display(),
            plan.groups(),
            plan.endpoints().len(),
            if plan.b_line.is_some() {
                " (A and B lines)"
            } else {
                ""
            }
        );
    } else {
        print!("{}", Plan::default().to_toml());
    }
    Ok(())
}

/// Logs (the servers' accept and TLS failures, refusals, warnings) go to stderr as
/// `tracing` events, filtered by `RUST_LOG` (default: `info`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let (name, result) = match cli.command {
        Command::Sim(a) => ("sim", sim(a)),
        Command::Publish(a) => ("publish", publish::run(a)),
        Command::Listen(a) => ("listen", listen::run(a)),
        Command::Replay(a) => ("replay", replay::run(a)),
        Command::Dump(a) => ("dump", dump::run(a)),
        Command::Plan(a) => ("plan", plan(a)),
        Command::Bridge(a) => ("bridge", bridge::run(a)),
        Command::Gateway(a) => ("gateway", gateway::run(a)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rltop {name}: {e}");
            ExitCode::from(2)
        }
    }
}
