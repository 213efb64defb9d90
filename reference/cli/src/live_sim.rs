//! The embedded simulator of `--source sim` (`rltop bridge`, `rltop gateway`): its knobs,
//! declared once, with the limits clap checks.

use clap::Args;
use rltop_source::SimSpec;

#[derive(Args, Clone, Debug)]
pub struct LiveSimArgs {
    /// Simulator: seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulator: instruments (symbol ids 1..=N).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub instruments: u32,
    /// Simulator: order-flow events a second (1 to 1e7).
    #[arg(long, default_value_t = 2000.0, value_parser = rate)]
    pub rate: f64,
    /// Simulator: stop after this many events (default: run until stopped; the server
    /// keeps serving what it holds).
    #[arg(long)]
    pub events: Option<u64>,
    /// Simulator: symbols of the first instruments, comma-separated (the others are
    /// SIM<id>USDT).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (1.0..=10_000_000.0).contains(&r) => Ok(r),
        Ok(_) => Err("must be 1 to 1e7 events a second".into()),
        Err(e) => Err(e.to_string()),
    }
}

impl LiveSimArgs {
    /// The simulator source on `plan`.
    pub fn spec(&self, plan: rltop_net::Plan) -> SimSpec {
        SimSpec {
            plan,
            seed: self.seed,
            instruments: self.instruments,
            rate: self.rate,
            events: self.events,
            symbols: self.symbols.clone(),
        }
    }
}
