//! `cargo xtask bench itch [--sample ritch|synthetic] [--messages N] [--rounds R] [--json]`:
//! the Rust crate generated from schema/examples/itch50.rlt against `itchy` (an independent
//! nom ITCH 5.0 parser, from crates.io), on the same bytes, in the same run, in messages a
//! second.
//!
//! The bytes: RITCH's published sample ([`rltop_bench::itch::ritch`], 12 012 messages, the
//! default) repeated to `--messages`, or [`rltop_bench::itch::sample`] (the twelve busiest
//! types in rotation), in NASDAQ's file format (each message behind a big-endian u16
//! length), held in memory, so neither side reads a disk. The work, the same
//! for both: walk the file, decode every message, and fold its timestamp, stock locate and
//! one type-specific field into a checksum, which both sides must agree on (so neither can
//! skip a message or a field).
//! * generated: `Message::decode_at` on each length-prefixed block: a borrowed view after
//!   the type, length and every field-value check (enumerations, text), as a feed handler
//!   uses it;
//! * itchy: `MessageStream::from_reader` over the bytes, its documented entry point, which
//!   parses each message into an owned `itchy::Message` (enumerations checked, prices and
//!   text copied).
//!
//! * the generated C header (`bench/c/itch.c`, built by bench/build.rs at -O2): `itch_decode`
//!   and the accessors, through FFI on the same bytes;
//! * the generated Python package, once, in the pyenv venv: per-message `itch.decode` on the
//!   first `--python-messages` messages, and `itch.bulk.load` (numpy) on the whole file.
//!
//! Rust, itchy and C run `--rounds` times alternately; the best round of each is reported (the
//! least disturbed by other processes on this shared 2-core machine), with the median beside
//! it. Every side's checksum must equal the generated Rust decoder's before anything counts.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rltop_bench::itch;
use rltop_bench::report::rate;
use rltop_itch50 as gen;

/// The generated ITCH decoder against itchy, same bytes, same run.
#[derive(clap::Parser)]
#[command(name = "bench-itch", about)]
struct Args {
    /// Which messages: RITCH's sample, repeated, or the synthetic rotation of twelve types.
    #[arg(long, value_enum, default_value_t = Sample::Ritch)]
    sample: Sample,
    /// Messages decoded per round.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1_000..))]
    messages: u64,
    /// Rounds per decoder.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Messages the Python per-message decoder walks (it is ~100× slower than the others).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    python_messages: u64,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Sample {
    Ritch,
    Synthetic,
}

impl Sample {
    fn messages(self, count: usize) -> Result<Vec<Vec<u8>>, String> {
        Ok(match self {
            Sample::Ritch => itch::ritch()?.into_iter().cycle().take(count).collect(),
            Sample::Synthetic => itch::sample(count),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Sample::Ritch => "RITCH's sample, repeated",
            Sample::Synthetic => "the synthetic twelve-type sample",
        }
    }
}

/// The target: the generated decoder at least this many times itchy's rate.
const TARGET: f64 = 3.0;

fn fold(sum: u64, timestamp: u64, locate: u16, field: u64) -> u64 {
    sum.wrapping_mul(31)
        .wrapping_add(timestamp ^ u64::from(locate) ^ field)
}

/// The type-specific field each side folds in: an order reference, a match number or a
/// level, by type.
fn ours(m: &gen::Message<'_>) -> (u64, u16, u64) {
    use gen::Message as M;
    match m {
        M::AddOrder(m) => (m.timestamp(), m.stock_locate(), m.order_reference_number()),
        M::AddOrderMpid(m) => (m.timestamp(), m.stock_locate(), m.order_reference_number()),
        M::OrderExecuted(m) => (m.timestamp(), m.stock_locate(), m.match_number()),
        M::OrderExecutedWithPrice(m) => (m.timestamp(), m.stock_locate(), m.match_number()),
        M::OrderCancel(m) => (m.timestamp(), m.stock_locate(), m.order_reference_number()),
        M::OrderDelete(m) => (m.timestamp(), m.stock_locate(), m.order_reference_number()),
        M::OrderReplace(m) => (
            m.timestamp(),
            m.stock_locate(),
            m.new_order_reference_number(),
        ),
        M::Trade(m) => (m.timestamp(), m.stock_locate(), m.match_number()),
        M::CrossTrade(m) => (m.timestamp(), m.stock_locate(), m.match_number()),
        M::BrokenTrade(m) => (m.timestamp(), m.stock_locate(), m.match_number()),
        M::Noii(m) => (m.timestamp(), m.stock_locate(), m.paired_shares()),
        M::MwcbDeclineLevel(m) => (m.timestamp(), m.stock_locate(), m.level1()),
        other => (0, 0, u64::from(other.type_code())),
    }
}

fn theirs(m: &itchy::Message) -> (u64, u16, u64) {
    use itchy::Body as B;
    let field = match &m.body {
        B::AddOrder(o) => o.reference,
        B::OrderExecuted { match_number, .. } => *match_number,
        B::OrderExecutedWithPrice { match_number, .. } => *match_number,
        B::OrderCancelled { reference, .. } => *reference,
        B::DeleteOrder { reference } => *reference,
        B::ReplaceOrder(o) => o.new_reference,
        B::NonCrossTrade(o) => o.match_number,
        B::CrossTrade(o) => o.match_number,
        B::BrokenTrade { match_number } => *match_number,
        B::Imbalance(o) => o.paired_shares,
        B::MwcbDeclineLevel { level1, .. } => level1.raw(),
        _ => return (0, 0, u64::from(m.tag)),
    };
    (m.timestamp, m.stock_locate, field)
}

/// One pass of the generated decoder: (messages, checksum).
fn generated(file: &[u8]) -> Result<(u64, u64), String> {
    let (mut pos, mut n, mut sum) = (0, 0u64, 0u64);
    while let Some(&[hi, lo]) = file.get(pos..).and_then(|r| r.first_chunk::<2>()) {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let block = file
            .get(pos + 2..pos + 2 + len)
            .ok_or_else(|| format!("the sample is cut at byte {pos}"))?;
        let m = gen::Message::decode_at(block, pos + 2).map_err(|e| e.to_string())?;
        let (t, l, f) = ours(&m);
        sum = fold(sum, t, l, f);
        n += 1;
        pos += 2 + len;
    }
    Ok((n, sum))
}

/// One pass of itchy: (messages, checksum).
fn itchy_pass(file: &[u8]) -> Result<(u64, u64), String> {
    let (mut n, mut sum) = (0u64, 0u64);
    for m in itchy::MessageStream::from_reader(file) {
        let m = m.map_err(|e| format!("itchy: {e}"))?;
        let (t, l, f) = theirs(&m);
        sum = fold(sum, t, l, f);
        n += 1;
    }
    Ok((n, sum))
}

unsafe extern "C" {
    /// bench/c/itch.c: the checksum of the file in NASDAQ's format, decoded by the generated C
    /// header; `count` is u64::MAX (and `offset` the byte at fault) if a message does not decode.
    fn rltop_bench_itch_walk(
        file: *const u8,
        len: usize,
        count: *mut u64,
        offset: *mut usize,
    ) -> u64;
}

/// One pass of the generated C header: (messages, checksum).
fn c_pass(file: &[u8]) -> Result<(u64, u64), String> {
    let (mut count, mut offset) = (0u64, 0usize);
    // SAFETY: `file` is a live slice of `file.len()` bytes the C side only reads, within
    // bounds it checks against `len`; `count` and `offset` are valid for writes.
    let sum = unsafe { rltop_bench_itch_walk(file.as_ptr(), file.len(), &mut count, &mut offset) };
    if count == u64::MAX {
        return Err(format!("the C header refused the sample at byte {offset}"));
    }
    Ok((count, sum))
}

/// The Python package's figures: (per-message msgs/s, bulk msgs/s), after checking its
/// per-message checksum against the Rust decoder's on the same messages.
fn python(messages: &[Vec<u8>], file: &[u8], limit: u64) -> Result<(f64, f64), String> {
    let dir = rltop_devsupport::target_dir().join("bench-itch");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("sample.itch");
    std::fs::write(&path, file).map_err(|e| format!("{}: {e}", path.display()))?;
    let py = rltop_devsupport::pyenv::python(&["numpy"])?;
    let out = std::process::Command::new(py)
        .arg(rltop_devsupport::root().join("bench/python/bench_itch.py"))
        .arg(&path)
        .arg(limit.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| format!("cannot run the Python benchmark: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the Python benchmark failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the Python benchmark printed no JSON ({e})"))?;
    let n = r["per_message_messages"].as_u64().unwrap_or(0) as usize;
    let prefix = itch::file(&messages[..n.min(messages.len())]);
    let (_, expected) = generated(&prefix)?;
    if r["per_message_checksum"].as_str() != Some(expected.to_string().as_str()) {
        return Err(format!(
            "Python's checksum differs from the Rust decoder's: {r}"
        ));
    }
    if r["bulk_messages"].as_u64() != Some(messages.len() as u64) {
        return Err(format!("Python's bulk decoder read a different count: {r}"));
    }
    Ok((
        r["per_message_msgs_per_s"].as_f64().unwrap_or(0.0),
        r["bulk_msgs_per_s"].as_f64().unwrap_or(0.0),
    ))
}

/// Best and median messages a second over the rounds.
struct Figures {
    best: f64,
    median: f64,
}

fn figures(mut rates: Vec<f64>) -> Figures {
    rates.sort_by(f64::total_cmp);
    Figures {
        best: rates.last().copied().unwrap_or(0.0),
        median: rates[rates.len() / 2],
    }
}

fn run(args: &Args) -> Result<(), String> {
    let messages = args.sample.messages(args.messages as usize)?;
    let file = itch::file(&messages);
    let expected = generated(&file)?;
    for (who, got) in [
        ("itchy", itchy_pass(&file)?),
        ("the C header", c_pass(&file)?),
    ] {
        if got != expected {
            return Err(format!(
                "{who} disagrees with the generated Rust decoder on the sample: {got:?} against {expected:?}"
            ));
        }
    }
    let (mut ours, mut theirs, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        for (rates, pass) in [
            (
                &mut ours,
                generated as fn(&[u8]) -> Result<(u64, u64), String>,
            ),
            (&mut theirs, itchy_pass),
            (&mut c, c_pass),
        ] {
            let start = Instant::now();
            let got = black_box(pass(black_box(&file))?);
            rates.push(got.0 as f64 / start.elapsed().as_secs_f64());
        }
    }
    let (ours, theirs, c) = (figures(ours), figures(theirs), figures(c));
    let (py_each, py_bulk) = python(&messages, &file, args.python_messages)?;
    let ratio = ours.best / theirs.best;
    let met = ratio >= TARGET;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "sample": args.sample.name(),
                "messages": args.messages,
                "bytes": file.len(),
                "rounds": args.rounds,
                "generated_msgs_per_s": ours.best,
                "generated_median_msgs_per_s": ours.median,
                "itchy_msgs_per_s": theirs.best,
                "itchy_median_msgs_per_s": theirs.median,
                "c_msgs_per_s": c.best,
                "c_median_msgs_per_s": c.median,
                "python_msgs_per_s": py_each,
                "python_bulk_msgs_per_s": py_bulk,
                "ratio": ratio,
                "target": TARGET,
                "met": met,
            })
        );
        return Ok(());
    }
    println!(
        "ITCH 5.0, {} messages of {} ({} bytes, NASDAQ file format, in memory), best of {} rounds\n",
        args.messages,
        args.sample.name(),
        file.len(),
        args.rounds
    );
    println!("| decoder | messages/s (best) | messages/s (median) | vs itchy |");
    println!("|---|---:|---:|---:|");
    println!(
        "| generated (rltop-itch50) | {} | {} | {ratio:.2}× |",
        rate(ours.best),
        rate(ours.median)
    );
    println!(
        "| itchy 0.3 | {} | {} | 1.00× |",
        rate(theirs.best),
        rate(theirs.median)
    );
    println!(
        "| generated C header (gcc -O2) | {} | {} | {:.2}× |",
        rate(c.best),
        rate(c.median),
        c.best / theirs.best
    );
    println!(
        "| generated Python, per message (first {}) | {} | – | {:.3}× |",
        args.python_messages,
        rate(py_each),
        py_each / theirs.best
    );
    println!(
        "| generated Python, numpy bulk | {} | – | {:.3}× |",
        rate(py_bulk),
        py_bulk / theirs.best
    );
    println!(
        "\ntarget ≥ {TARGET}× itchy: {}",
        if met { "met" } else { "NOT met" }
    );
    Ok(())
}

fn main() -> ExitCode {
    rltop_devsupport::exit(run(&Args::parse()))
}
