//! `rltop-sim`: runs the simulator and writes its datagrams as a pcap capture.
//!
//!     rltop-sim --out capture.pcap [--seed N] [--instruments N] [--events N] [--quiet-tail S]
//!               [--books books.json]
//!
//! The same arguments give the same bytes. `--books` also writes the engines' final books
//! (the oracle: best 10 levels per side and instrument) as JSON, in the conformance suite's
//! book form, so any subscriber can be checked against a capture.

use std::fs::File;
use std::io::BufWriter;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;

use rltop_capture::PcapWriter;
use rltop_sim::{Config, Oracle, Simulation, Stream};

const USAGE: &str = "usage: rltop-sim --out FILE.pcap [--seed N] [--instruments N] [--events N] [--quiet-tail SECONDS] [--books FILE.json]";

struct Args {
    cfg: Config,
    out: String,
    books: Option<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut cfg = Config::default();
    let mut out = None;
    let mut books = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        let num = |v: &String| {
            v.parse::<u64>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--out" => out = Some(value()?.clone()),
            "--books" => books = Some(value()?.clone()),
            "--seed" => cfg.seed = num(value()?)?,
            "--instruments" => {
                cfg.instruments = u32::try_from(num(value()?)?)
                    .map_err(|_| "--instruments: too many".to_string())?
            }
            "--events" => cfg.events = num(value()?)?,
            "--quiet-tail" => cfg.quiet_tail_s = num(value()?)?,
            _ => return Err(format!("unknown argument {a}\n{USAGE}")),
        }
    }
    if cfg.instruments == 0 {
        return Err("--instruments must be at least 1".into());
    }
    Ok(Args {
        cfg,
        out: out.ok_or_else(|| USAGE.to_string())?,
        books,
    })
}

/// The oracle's books as JSON: `[{"symbol_id", "bids": [{"price", "quantity",
/// "order_count"}], "asks": […]}]`, 64-bit integers as decimal strings.
fn books_json(oracle: &Oracle) -> String {
    let side = |levels: &[(i64, u64, u32)]| {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, q, c)| {
                format!(r#"{{"price": "{p}", "quantity": "{q}", "order_count": {c}}}"#)
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    let books: Vec<String> = oracle
        .books
        .iter()
        .map(|(id, bids, asks)| {
            format!(
                r#"  {{"symbol_id": {id}, "bids": {}, "asks": {}}}"#,
                side(bids),
                side(asks)
            )
        })
        .collect();
    format!("[\n{}\n]\n", books.join(",\n"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Args { cfg, out, books } = match parse(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (datagrams, oracle) = Simulation::new(cfg).run();
    let write = || -> std::io::Result<()> {
        let mut w = PcapWriter::new(BufWriter::new(File::create(&out)?))?;
        for d in &datagrams {
            let src = SocketAddrV4::new(
                Ipv4Addr::new(10, 0, 0, 1),
                40000 + d.stream.session() as u16,
            );
            w.write(d.time_ns, src, d.stream.group(), &d.bytes)?;
        }
        use std::io::Write;
        w.into_inner().flush()
    };
    if let Err(e) = write() {
        eprintln!("rltop-sim: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(path) = &books {
        if let Err(e) = std::fs::write(path, books_json(&oracle)) {
            eprintln!("rltop-sim: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let bytes: usize = datagrams.iter().map(|d| d.bytes.len()).sum();
    let mut summary = format!(
        "{out}: {} datagrams, {bytes} bytes of messages, {} instruments\n",
        datagrams.len(),
        oracle.books.len()
    );
    for s in Stream::ALL {
        let n = datagrams.iter().filter(|d| d.stream == s).count();
        summary += &format!("  {:?} {}: {n} datagrams\n", s, s.group());
    }
    // A closed stdout (`| head`) is not an error of the simulation: the files are written.
    use std::io::Write;
    let _ = std::io::stdout().write_all(summary.as_bytes());
    ExitCode::SUCCESS
}
