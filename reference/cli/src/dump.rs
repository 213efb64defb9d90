//! `rltop dump FILE`: every message of a pcap capture, or of a raw file of messages back to
//! back, one line each as canonical JSON (conformance/README.md), with errors where they
//! are — the same bytes as `python -m rltop dump` (its `rltop/__main__.py`).
//!
//! A capture's lines start `#N sec.nanos src > dst`, N the record's place in the file from 0
//! (tshark's frame N + 1), whatever the records before it hold. A record with no UDP
//! datagram over IPv4 in it (another protocol, an IPv4 fragment, a packet malformed or cut
//! short in the capture) gets one line, `#N sec.nanos SKIP reason`, the reason worded by
//! `rltop_capture::Skip`.

use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

use clap::Args;
use rltop_capture::PcapReader;
use rltop_runtime::{canonical, DecodeError};

#[derive(Args)]
pub struct DumpArgs {
    /// A pcap capture, or a raw file of messages.
    file: PathBuf,
}

/// An error's line: `<label> ERROR <kind> offset=<byte>[ field=<path>]: <detail>`, the
/// detail worded as every binding's dump words it ([`DecodeError::detail`]).
fn error_line(label: &str, e: &DecodeError, out: &mut impl Write) -> std::io::Result<()> {
    write!(out, "{label} ERROR {} offset={}", e.name(), e.offset())?;
    if let Some(field) = e.field() {
        write!(out, " field={field}")?;
    }
    writeln!(out, ": {}", e.detail(&rltop::PROTOCOL))
}

/// Writes one datagram's lines; returns how many errors it had.
fn datagram(label: &str, payload: &[u8], out: &mut impl Write) -> std::io::Result<u64> {
    let mut errors = 0;
    for item in rltop::messages(payload) {
        match item {
            Ok(m) => {
                let json = canonical::to_json(&rltop::PROTOCOL, m.message_type(), m.as_bytes());
                writeln!(out, "{label} {json}")?;
            }
            Err(e) => {
                errors += 1;
                error_line(label, &e, out)?;
            }
        }
    }
    Ok(errors)
}

pub fn run(args: DumpArgs) -> Result<(), String> {
    let name = args.file.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(&args.file)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("{name}: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let is_pcap = bytes.len() >= 4 && {
        let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        [0xA1B2_C3D4, 0xA1B2_3C4D, 0xD4C3_B2A1, 0x4D3C_B2A1].contains(&magic)
    };
    let mut errors = 0;
    // Writing stdout is the one I/O that can fail here; a pcap the reader refuses is an
    // error of its own.
    let result: Result<(), Failure> = (|| {
        if is_pcap {
            let bad = |e: rltop_capture::PcapError| Failure::Capture(format!("{name}: {e}"));
            let mut reader = PcapReader::new(BufReader::new(&bytes[..])).map_err(bad)?;
            while let Some(r) = reader.next_record().map_err(bad)? {
                let (sec, nanos) = (r.time_ns / 1_000_000_000, r.time_ns % 1_000_000_000);
                match r.datagram {
                    Ok(p) => {
                        let label = format!("#{} {sec}.{nanos:09} {} > {}", r.index, p.src, p.dst);
                        errors += datagram(&label, &p.payload, &mut out)?;
                    }
                    Err(skip) => writeln!(out, "#{} {sec}.{nanos:09} SKIP {skip}", r.index)?,
                }
            }
        } else {
            errors += datagram(&name, &bytes, &mut out)?;
        }
        Ok(out.flush()?)
    })();
    match result {
        // `rltop dump … | head`: a closed pipe ends the dump quietly.
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(Failure::Output(e)) => Err(format!("writing the dump: {e}")),
        Err(Failure::Capture(e)) => Err(e),
        Ok(()) if errors > 0 => Err(format!(
            "{name}: {errors} message(s) failed to decode (lines with ERROR)"
        )),
        Ok(()) => Ok(()),
    }
}

/// Why a dump stopped.
enum Failure {
    /// Writing the output failed (a closed pipe among others).
    Output(std::io::Error),
    /// The capture cannot be read on.
    Capture(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Output(e)
    }
}
