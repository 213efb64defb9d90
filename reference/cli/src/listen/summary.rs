//! What `rltop listen` reports at exit. One [`Summary`] is built from the run's counters and
//! written two ways: as the line people read ([`std::fmt::Display`]) and as JSON for programs
//! (`--json`'s last line, `--summary-json FILE`). Both come from the same value, so a script
//! never has to parse the prose, and the two cannot disagree.
//!
//! Text that came from the gateway (a refusal's detail) is untrusted: the JSON writer escapes
//! it for JSON, and the line escapes it for a terminal.

use serde::Serialize;

/// The run's figures.
#[derive(Debug, Serialize)]
pub(super) struct Summary {
    pub messages: u64,
    pub datagrams: u64,
    pub bytes: u64,
    /// Datagrams refused as malformed.
    pub rejected: u64,
    pub duplicates: u64,
    pub session_gaps: u64,
    pub recoveries: u64,
    /// Time any book was stale, summed over books, seconds.
    pub stale_s: f64,
    pub instruments: usize,
    pub live: usize,
    pub trades: u64,
    /// Header timestamp → kernel receive timestamp, ns (none without samples).
    pub latency_ns: Option<Percentiles>,
    pub repairs: Repairs,
    /// What the gateway did (`--gateway` only).
    pub gateway: Option<Gateway>,
    /// Instruments not live at exit.
    pub not_live: Vec<u32>,
}

#[derive(Debug, Serialize)]
pub(super) struct Percentiles {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
}

/// Each recovery's time stale: from the gap (or refusal) to the live book again.
#[derive(Debug, Serialize)]
pub(super) struct Repairs {
    pub count: usize,
    pub stale_p50_ms: Option<f64>,
    pub stale_p99_ms: Option<f64>,
}

impl Repairs {
    /// From each repair's time stale, ns, in any order.
    pub fn of(mut ns: Vec<u64>) -> Repairs {
        ns.sort_unstable();
        let at = |q: f64| {
            let last = ns.len().checked_sub(1)?;
            Some(ns[(last as f64 * q).round() as usize] as f64 / 1e6)
        };
        Repairs {
            count: ns.len(),
            stale_p50_ms: at(0.5),
            stale_p99_ms: at(0.99),
        }
    }
}

/// Replays asked of the gateway and what came of them.
#[derive(Debug, Serialize)]
pub(super) struct Gateway {
    pub ranges_asked: u64,
    pub messages_asked: u64,
    pub replays_served: u64,
    pub replays_refused: u64,
    /// Asked again: the gateway had not received them yet.
    pub asked_again: u64,
    pub disconnects: u64,
    pub last_refusal: Option<String>,
}

impl Gateway {
    pub fn of(r: &rltop_gateway::Recovery) -> Gateway {
        let st = r.stats();
        Gateway {
            ranges_asked: st.requested_ranges,
            messages_asked: st.requested_messages,
            replays_served: st.completed,
            replays_refused: st.rejected,
            asked_again: st.retried,
            disconnects: st.disconnects,
            last_refusal: r.last_rejection.clone(),
        }
    }
}

impl Summary {
    /// `{"summary": {…}}`: one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "summary": self }).to_string()
    }
}

fn micros(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1e3)
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rltop listen: {} messages in {} datagrams ({} bytes), {} rejected, {} duplicates, {} session gaps, {} recoveries, {:.3} s stale in all, {} instruments ({} live), {} trades; latency header→receive: ",
            self.messages,
            self.datagrams,
            self.bytes,
            self.rejected,
            self.duplicates,
            self.session_gaps,
            self.recoveries,
            self.stale_s,
            self.instruments,
            self.live,
            self.trades,
        )?;
        match &self.latency_ns {
            Some(p) => write!(
                f,
                "p50 {} p99 {} p99.9 {}; ",
                micros(p.p50),
                micros(p.p99),
                micros(p.p999)
            )?,
            None => write!(f, "no samples; ")?,
        }
        match (self.repairs.stale_p50_ms, self.repairs.stale_p99_ms) {
            (Some(p50), Some(p99)) => write!(
                f,
                "{} repairs, stale p50 {p50:.3} ms p99 {p99:.3} ms",
                self.repairs.count
            )?,
            _ => write!(f, "no repairs")?,
        }
        if let Some(g) = &self.gateway {
            write!(
                f,
                "; gateway: {} ranges asked ({} messages), {} replays served, {} refused, {} asked again (not yet at the gateway), {} disconnects",
                g.ranges_asked,
                g.messages_asked,
                g.replays_served,
                g.replays_refused,
                g.asked_again,
                g.disconnects
            )?;
            if let Some(why) = &g.last_refusal {
                // The gateway's words, escaped for a terminal.
                write!(f, " (last refusal: {})", why.escape_debug())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            messages: 10,
            datagrams: 4,
            bytes: 400,
            rejected: 1,
            duplicates: 2,
            session_gaps: 3,
            recoveries: 3,
            stale_s: 0.25,
            instruments: 2,
            live: 1,
            trades: 5,
            latency_ns: None,
            repairs: Repairs::of(vec![3_000_000, 1_000_000, 2_000_000]),
            gateway: Some(Gateway {
                ranges_asked: 3,
                messages_asked: 30,
                replays_served: 2,
                replays_refused: 1,
                asked_again: 0,
                disconnects: 0,
                last_refusal: Some("out of window \u{1b}[2J\"x\"".into()),
            }),
            not_live: vec![7],
        }
    }

    #[test]
    fn repairs_take_the_rounded_rank_and_are_none_without_samples() {
        let r = Repairs::of(vec![5_000_000, 1_000_000, 3_000_000]);
        assert_eq!(
            (r.count, r.stale_p50_ms, r.stale_p99_ms),
            (3, Some(3.0), Some(5.0))
        );
        let none = Repairs::of(Vec::new());
        assert_eq!((none.count, none.stale_p50_ms), (0, None));
    }

    #[test]
    fn the_json_holds_every_figure_of_the_line() {
        let s = summary();
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        let v = &v["summary"];
        assert_eq!(v["messages"], 10);
        assert_eq!(v["session_gaps"], 3);
        assert_eq!(v["repairs"]["count"], 3);
        assert_eq!(v["repairs"]["stale_p99_ms"], 3.0);
        assert_eq!(v["gateway"]["replays_served"], 2);
        assert_eq!(v["gateway"]["replays_refused"], 1);
        assert_eq!(v["gateway"]["last_refusal"], "out of window \u{1b}[2J\"x\"");
        assert_eq!(v["not_live"], serde_json::json!([7]));
        assert!(v["latency_ns"].is_null());
    }

    #[test]
    fn the_line_escapes_the_gateways_text_for_a_terminal() {
        let line = summary().to_string();
        assert!(
            line.contains("3 repairs, stale p50 2.000 ms p99 3.000 ms"),
            "{line}"
        );
        assert!(line.contains("2 replays served, 1 refused,"), "{line}");
        assert!(!line.contains('\u{1b}'), "{line}");
        assert!(line.contains(r#"out of window \u{1b}[2J\"x\""#), "{line}");
    }
}
