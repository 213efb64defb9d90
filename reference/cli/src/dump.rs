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
    let result: Result<(), String> = (|| {
        if is_pcap {
            let mut reader =
                PcapReader::new(BufReader::new(&bytes[..])).map_err(|e| format!("{name}: {e}"))?;
            while let Some(r) = reader.next_record().map_err(|e| format!("{name}: {e}"))? {
                let (sec, nanos) = (r.time_ns / 1_000_000_000, r.time_ns % 1_000_000_000);
                match r.datagram {
                    Ok(p) => {
                        let label = format!("#{} {sec}.{nanos:09} {} > {}", r.index, p.src, p.dst);
                        errors +=
                            datagram(&label, &p.payload, &mut out).map_err(|e| e.to_string())?;
                    }
                    Err(skip) => writeln!(out, "#{} {sec}.{nanos:09} SKIP {skip}", r.index)
                        .map_err(|e| e.to_string())?,
                }
            }
        } else {
            errors += datagram(&name, &bytes, &mut out).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())
    })();
    match result {
        // `rltop dump … | head`: a closed pipe ends the dump quietly.
        Err(e) if e.contains("Broken pipe") => Ok(()),
        Err(e) => Err(e),
        Ok(()) if errors > 0 => Err(format!(
            "{name}: {errors} message(s) failed to decode (lines with ERROR)"
        )),
        Ok(()) => Ok(()),
    }
}
