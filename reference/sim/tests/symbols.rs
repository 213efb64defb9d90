//! Instrument symbols: the configured ones in symbol-id order, `SIM<id>USDT` past them, and
//! a symbol the definition cannot carry refused before anything runs.

use std::collections::BTreeMap;

use rltop_feed::{Event, FeedHandler};
use rltop_sim::{Config, Simulation};

#[test]
fn configured_symbols_name_the_first_instruments() {
    let cfg = Config {
        instruments: 3,
        events: 200,
        quiet_tail_s: 0,
        symbols: vec!["BTC-USD".into(), "EV\"L\\X".into()],
        ..Config::default()
    };
    cfg.check().unwrap();
    let (datagrams, _) = Simulation::new(cfg).run();
    let mut feed = FeedHandler::default();
    let mut names = BTreeMap::new();
    for d in &datagrams {
        feed.on_datagram(&d.bytes, &mut |e| {
            if let Event::Instrument(def) = e {
                names.insert(def.symbol_id(), def.symbol().to_string());
            }
        });
    }
    let want: BTreeMap<u32, String> = [(1, "BTC-USD"), (2, "EV\"L\\X"), (3, "SIM3USDT")]
        .into_iter()
        .map(|(id, s)| (id, s.to_string()))
        .collect();
    assert_eq!(names, want);
}

#[test]
fn a_symbol_the_field_cannot_carry_is_refused_by_name() {
    for (symbol, why) in [
        ("ABCDEFGHIJKLMNOPQ", "17"),
        ("BTC\u{1b}[2J", "ASCII"),
        ("ÉTÉ", "ASCII"),
    ] {
        let cfg = Config {
            symbols: vec!["OK".into(), symbol.into()],
            ..Config::default()
        };
        let e = cfg.check().unwrap_err();
        assert!(e.starts_with("symbol 2 ("), "{e}");
        assert!(e.contains(why), "{symbol:?}: {e}");
    }
}
