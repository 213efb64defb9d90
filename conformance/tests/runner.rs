//! The runner against small testees written in sh: what passes, what fails, the failure
//! list kept honest, a testee that cannot start or exits badly, and the three report formats
//! (with hostile text in a testee's answer).

use std::time::Duration;

use rltop_conformance::cases::{self, Expect};
use rltop_conformance::report;
use rltop_conformance::run::{self, Options, Status};
use rltop_conformance::{FieldMap, Vectors};

/// The embedded cases whose name contains `filter`.
fn cases(filter: &str) -> Vec<rltop_conformance::Case> {
    let mut all = cases::load(&Vectors::Embedded).unwrap();
    all.retain(|c| c.name.contains(filter));
    assert!(!all.is_empty(), "no case matches {filter}");
    all
}

fn options(testee: &str, known: &[&str]) -> Options {
    Options {
        testee: testee.to_string(),
        timeout: Duration::from_secs(5),
        known: known.iter().map(|s| s.to_string()).collect(),
        filtered: true,
    }
}

fn go(cases: &[rltop_conformance::Case], o: &Options) -> run::Report {
    let fields = FieldMap::load(&Vectors::Embedded).unwrap();
    run::run(cases, Some(&fields), o, &mut |_| {})
}

/// A testee that refuses every encode: right exactly for the encode-error cases.
const REFUSE_ALL: &str = r#"while read -r line; do echo '{"error":"refused"}'; done"#;

#[test]
fn the_embedded_vectors_are_the_checked_in_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let names = |v: &Vectors| -> Vec<String> {
        cases::load(v)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    let embedded = names(&Vectors::Embedded);
    assert!(embedded.len() > 1000, "{} cases", embedded.len());
    assert_eq!(embedded, names(&Vectors::Dir(dir)));
}

#[test]
fn encode_errors_pass_and_encodes_fail_against_a_testee_that_refuses_everything() {
    let refusals = cases("/unknown-key");
    assert!(refusals
        .iter()
        .all(|c| matches!(c.expect, Expect::EncodeError)));
    let r = go(&refusals, &options(REFUSE_ALL, &[]));
    assert_eq!((r.passed(), r.failed()), (refusals.len(), 0));
    assert!(r.ok());
    let encodes = cases("encode/AddOrder/typical");
    let r = go(&encodes, &options(REFUSE_ALL, &[]));
    assert_eq!((r.passed(), r.failed()), (0, encodes.len()));
    assert!(!r.ok());
    assert!(matches!(&r.results[0].status, Status::Fail(why) if why.contains("expected bytes")));
}

#[test]
fn the_failure_list_must_stay_honest() {
    let encodes = cases("encode/AddOrder/typical-0");
    let name = encodes[0].name.as_str();
    // Listed and failing: a known failure, the run passes.
    let r = go(&encodes, &options(REFUSE_ALL, &[name]));
    assert!(matches!(r.results[0].status, Status::KnownFailure(_)));
    assert!(r.ok());
    // Listed and passing: stale, the run fails.
    let refusal = cases("encode/AddOrder/unknown-key");
    let listed = refusal[0].name.as_str();
    let r = go(&refusal, &options(REFUSE_ALL, &[listed]));
    assert_eq!(r.results[0].status, Status::Stale);
    assert!(!r.ok());
    // Listed but no such case, in an unfiltered run: stale too.
    let mut o = options(REFUSE_ALL, &["decode/NoSuchCase"]);
    o.filtered = false;
    let r = go(&refusal, &o);
    assert_eq!(r.unknown_listed, ["decode/NoSuchCase"]);
    assert!(!r.ok());
}

#[test]
fn a_testee_that_cannot_start_stops_the_run_at_once() {
    let some = cases("encode/AddOrder/");
    let r = go(&some, &options("./no-such-testee-here", &[]));
    assert!(
        r.stopped
            .as_deref()
            .is_some_and(|s| s.contains("could not find")),
        "{r:?}"
    );
    assert_eq!(r.not_run(), some.len());
    assert!(report::verdict(&r).is_some());
}

#[test]
fn a_testee_that_exits_badly_after_its_last_answer_fails_the_run() {
    let refusal = cases("encode/AddOrder/unknown-key");
    let testee = format!("{REFUSE_ALL}; exit 3");
    let r = go(&refusal, &options(&testee, &[]));
    assert_eq!(r.passed(), refusal.len());
    assert!(
        r.bad_exit.as_deref().is_some_and(|s| s.contains('3')),
        "{r:?}"
    );
    assert!(!r.ok());
}

/// A testee whose every answer is unsupported, with text no report may pass through raw.
const HOSTILE: &str =
    r#"while read -r line; do printf '%s\n' '{"unsupported":"<b>&\"x\u0001\u0027]]>"}'; done"#;

#[test]
fn reports_escape_what_the_testee_says() {
    let some = cases("encode/AddOrder/typical-1");
    let r = go(&some, &options(HOSTILE, &[]));
    let why = match &r.results[0].status {
        Status::Fail(why) => why.clone(),
        other => panic!("{other:?}"),
    };
    assert!(why.contains("<b>&") && why.contains("']]>"), "{why}");
    let json: serde_json::Value = serde_json::from_str(&report::json(&r).to_string()).unwrap();
    assert_eq!(json["cases"][0]["detail"], why.as_str());
    assert_eq!(json["ok"], false);
    let xml = report::junit(&r);
    assert!(!xml.contains("<b>") && !xml.contains("]]>"), "{xml}");
    assert!(
        xml.contains("&lt;b&gt;&amp;") && xml.contains("&apos;]]&gt;"),
        "{xml}"
    );
    assert_eq!(
        report::xml_escape("a\u{1}b\tc\u{fffe}"),
        "a\u{fffd}b\tc\u{fffd}"
    );
    assert!(
        xml.contains("tests=\"1\" failures=\"1\" skipped=\"0\""),
        "{xml}"
    );
    assert_eq!(report::counts(&r), "0 passed, 1 failed");
}

#[test]
fn the_layout_names_the_field_of_an_encode_difference() {
    // The checksum and AddOrder's side are where layout.json says.
    let fields = FieldMap::load(&Vectors::Embedded).unwrap();
    let case = &cases("encode/AddOrder/typical-0")[0];
    let Expect::Hex(want) = &case.expect else {
        panic!("an encode case")
    };
    let mut bytes = want.clone();
    // Byte 60 (AddOrder.side) changed: named, and the checksum is not blamed.
    let at = 60 * 2;
    let flipped = if &bytes[at..at + 2] == "01" {
        "02"
    } else {
        "01"
    };
    bytes.replace_range(at..at + 2, flipped);
    let answer = serde_json::json!({ "hex": bytes });
    let why = rltop_conformance::judge::judge(case, &answer, Some(&fields)).unwrap_err();
    assert!(why.contains("in AddOrder.side (bytes 60..61"), "{why}");
}
