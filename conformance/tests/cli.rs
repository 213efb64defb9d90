//! The `rltop-conformance` command against tiny scripted testees and vector directories of
//! its own: what passes, what fails, and that a failure list cannot go stale.

use std::path::PathBuf;
use std::process::Command;

/// A vector directory with one decode case and one encode case (`decode/X/a`, `encode/X/a`),
/// and the stream cases `streams` (a `streams.json` text).
fn vectors(tag: &str, streams: &str) -> PathBuf {
    vectors_with(
        tag,
        r#"{"cases":[{"name":"X/a","hex":"00","json":{"type":"X"}}]}"#,
        streams,
    )
}

/// A vector directory whose `messages/X.json` is `messages`.
fn vectors_with(tag: &str, messages: &str, streams: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-runner-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("messages")).unwrap();
    std::fs::write(dir.join("messages/X.json"), messages).unwrap();
    for f in ["datagrams.json", "errors.json", "encode_errors.json"] {
        std::fs::write(dir.join(f), r#"{"cases":[]}"#).unwrap();
    }
    std::fs::write(dir.join("streams.json"), streams).unwrap();
    dir
}

const NO_STREAMS: &str = r#"{"cases":[]}"#;

/// One stream case: a gap, then a book at order_book_seq 5.
const ONE_STREAM: &str = r#"{"cases":[{"name":"stream/s","depth":5,"datagrams":[{"line":"A","hex":"00"}],
  "events":[{"rejected":{"kind":"BadMagic","offset":0}},{"book":{"symbol_id":1,"order_book_seq":"5"}}],
  "books":[{"symbol_id":1,"state":"live","order_book_seq":"5","bids":[],"asks":[]}]}]}"#;

const GOOD: &str = r#"while read -r l; do case "$l" in *'"op":"decode"'*) echo '{"results":[{"message":{"type":"X"}}]}';; *) echo '{"hex":"00"}';; esac; done"#;
const WRONG_DECODE: &str = r#"while read -r l; do case "$l" in *'"op":"decode"'*) echo '{"results":[]}';; *) echo '{"hex":"00"}';; esac; done"#;

fn run(tag: &str, testee: &str, failure_list: Option<&str>, extra: &[&str]) -> (bool, String) {
    run_streams(tag, testee, failure_list, extra, NO_STREAMS)
}

fn run_streams(
    tag: &str,
    testee: &str,
    failure_list: Option<&str>,
    extra: &[&str],
    streams: &str,
) -> (bool, String) {
    run_in(vectors(tag, streams), testee, failure_list, extra)
}

/// The runner on vector directory `dir` (removed after); an empty `testee` passes none.
fn run_in(
    dir: PathBuf,
    testee: &str,
    failure_list: Option<&str>,
    extra: &[&str],
) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rltop-conformance"));
    cmd.arg("--vectors").arg(&dir).args(extra);
    if !testee.is_empty() {
        cmd.args(["--testee", testee]);
    }
    if let Some(list) = failure_list {
        let path = dir.join("failures.txt");
        std::fs::write(&path, list).unwrap();
        cmd.arg("--failure-list").arg(path);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn all_passing() {
    let (ok, out) = run("good", GOOD, None, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

#[test]
fn unlisted_failure_fails_the_run_with_a_diff() {
    let (ok, out) = run("wrong", WRONG_DECODE, None, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL decode/X/a: results: expected 1 entries, got 0"),
        "{out}"
    );
    // What came back instead is shown.
    assert!(out.contains("; the testee returned []"), "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn listed_failure_is_tolerated() {
    let (ok, out) = run("known", WRONG_DECODE, Some("# known\ndecode/X/a\n"), &[]);
    assert!(ok, "{out}");
    assert!(out.contains("known failure decode/X/a"), "{out}");
}

#[test]
fn stale_failure_list_entry_fails_the_run() {
    let (ok, out) = run("stale", GOOD, Some("decode/X/a\n"), &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("STALE decode/X/a: listed as a known failure but passes"),
        "{out}"
    );
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

#[test]
fn failure_list_naming_no_case_is_stale() {
    let (ok, out) = run("nocase", GOOD, Some("decode/X/gone\n"), &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("STALE decode/X/gone: listed as a known failure but no such case exists"),
        "{out}"
    );
}

#[test]
fn crashing_testee_fails_the_case_not_the_runner() {
    let (ok, out) = run("crash", "read -r l; exit 3", None, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL decode/X/a: testee died without answering (exit status: 3)"),
        "{out}"
    );
    assert!(
        out.contains("FAIL encode/X/a: testee died"),
        "the runner restarts the testee: {out}"
    );
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

#[test]
fn hanging_testee_times_out_per_case() {
    let (ok, out) = run("hang", "sleep 30", None, &["--timeout-ms", "300"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL decode/X/a: no response within 300 ms"),
        "{out}"
    );
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

#[test]
fn testee_failing_at_exit_fails_the_run() {
    // What a sanitizer does when it finds a leak: every answer right, a bad exit status.
    let (ok, out) = run("exit", &format!("{GOOD}; exit 23"), None, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "FAIL testee exit: after the last case the testee exited with exit status: 23"
        ),
        "{out}"
    );
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

/// Answers every stream request with `answer`.
fn stream_testee(answer: &str) -> String {
    format!(
        r#"while read -r l; do case "$l" in *'"op":"stream"'*) echo '{answer}';; *) echo '{{"unsupported":"x"}}';; esac; done"#
    )
}

#[test]
fn stream_case_passes_with_the_same_events_and_books() {
    // A rejected message's detail text is the implementation's own.
    let testee = stream_testee(
        r#"{"events":[{"rejected":{"kind":"BadMagic","offset":0,"detail":"bad magic"}},{"book":{"symbol_id":1,"order_book_seq":"5"}}],"books":[{"symbol_id":1,"state":"live","order_book_seq":"5","bids":[],"asks":[]}]}"#,
    );
    let (ok, out) = run_streams(
        "stream-good",
        &testee,
        None,
        &["--filter", "stream/"],
        ONE_STREAM,
    );
    assert!(ok, "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}

#[test]
fn stream_case_fails_on_the_first_different_event_or_book() {
    let testee = stream_testee(
        r#"{"events":[{"rejected":{"kind":"BadMagic","offset":0}},{"book":{"symbol_id":1,"order_book_seq":"4"}}],"books":[]}"#,
    );
    let (ok, out) = run_streams(
        "stream-event",
        &testee,
        None,
        &["--filter", "stream/"],
        ONE_STREAM,
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(r#"FAIL stream/s: events[1].book.order_book_seq: expected "5", got "4""#),
        "{out}"
    );
    // Both sides of the first event that differs, whole.
    assert!(
        out.contains(r#"expected events[1]: {"book":{"symbol_id":1,"order_book_seq":"5"}}"#),
        "{out}"
    );
    assert!(
        out.contains(r#"testee's events[1]: {"book":{"symbol_id":1,"order_book_seq":"4"}}"#),
        "{out}"
    );
    // An event missing at the end: the expected one, and that the testee's end there.
    let testee =
        stream_testee(r#"{"events":[{"rejected":{"kind":"BadMagic","offset":0}}],"books":[]}"#);
    let (ok, out) = run_streams(
        "stream-short",
        &testee,
        None,
        &["--filter", "stream/"],
        ONE_STREAM,
    );
    assert!(!ok, "{out}");
    assert!(out.contains("events: expected 2 entries, got 1"), "{out}");
    assert!(
        out.contains("testee's events[1]: (none: the events end here)"),
        "{out}"
    );
    let testee = stream_testee(
        r#"{"events":[{"rejected":{"kind":"BadMagic","offset":0}},{"book":{"symbol_id":1,"order_book_seq":"5"}}],"books":[{"symbol_id":1,"state":"stale","order_book_seq":"5","bids":[],"asks":[]}]}"#,
    );
    let (ok, out) = run_streams(
        "stream-book",
        &testee,
        None,
        &["--filter", "stream/"],
        ONE_STREAM,
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(r#"FAIL stream/s: books[0].state: expected "live", got "stale""#),
        "{out}"
    );
}

/// The first real AddOrder vector, as the generator wrote it: (its vector file text, its hex).
fn add_order_vector() -> (String, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vectors/messages/AddOrder.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = file["cases"][0].clone();
    let hex = case["hex"].as_str().unwrap().to_string();
    (serde_json::json!({ "cases": [case] }).to_string(), hex)
}

/// `dir` with the protocol's `layout.json`, which names the fields of each message.
fn with_layout(dir: PathBuf) -> PathBuf {
    let layout = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/layout.json");
    std::fs::copy(layout, dir.join("layout.json")).unwrap();
    dir
}

/// `hex` with byte `at` changed.
fn flip(hex: &str, at: usize) -> String {
    let byte = u8::from_str_radix(&hex[at * 2..at * 2 + 2], 16).unwrap() ^ 0x01;
    format!("{}{byte:02x}{}", &hex[..at * 2], &hex[at * 2 + 2..])
}

#[test]
fn an_encode_difference_names_the_field_and_tells_a_checksum_apart() {
    let (vector, hex) = add_order_vector();
    let answer = |hex: &str| format!(r#"while read -r l; do echo '{{"hex":"{hex}"}}'; done"#);
    // SPEC.md §9's table: AddOrder's price is bytes 64..72. A body difference changes the
    // checksum too (byte 33 here); the report names the body's field, not the checksum.
    let (ok, out) = run_in(
        with_layout(vectors_with("encode-field", &vector, NO_STREAMS)),
        &answer(&flip(&flip(&hex, 65), 33)),
        None,
        &["--filter", "encode/"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "bytes differ from byte 65, in AddOrder.price (bytes 64..72; 128 vs 128 bytes)"
        ),
        "{out}"
    );
    // The same body with another checksum.
    let (ok, out) = run_in(
        with_layout(vectors_with("encode-checksum", &vector, NO_STREAMS)),
        &answer(&flip(&hex, 33)),
        None,
        &["--filter", "encode/"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "only the checksum differs (bytes 32..36, the rest is equal; 128 vs 128 bytes)"
        ),
        "{out}"
    );
    // One byte short: the difference is where the testee's bytes end.
    let (ok, out) = run_in(
        with_layout(vectors_with("encode-short", &vector, NO_STREAMS)),
        &answer(&hex[..hex.len() - 2]),
        None,
        &["--filter", "encode/"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("bytes differ from byte 127, in AddOrder."),
        "{out}"
    );
    assert!(out.contains("128 vs 127 bytes"), "{out}");
    // Vectors without a layout.json: the difference by byte offset only.
    let (ok, out) = run_in(
        vectors_with("encode-no-layout", &vector, NO_STREAMS),
        &answer(&flip(&flip(&hex, 65), 33)),
        None,
        &["--filter", "encode/"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("bytes differ from byte 33 (128 vs 128 bytes)"),
        "{out}"
    );
}

#[test]
fn help_list_and_a_filter_that_matches_nothing() {
    let help = Command::new(env!("CARGO_BIN_EXE_rltop-conformance"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: rltop-conformance"));
    let usage = Command::new(env!("CARGO_BIN_EXE_rltop-conformance"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let (ok, out) = run("list", "", None, &["--list"]);
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["decode/X/a", "encode/X/a"]
    );
    let (ok, out) = run("list-filter", "", None, &["--list", "--filter", "encode/"]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["encode/X/a"]);
    let (ok, out) = run("filter-none", GOOD, None, &["--filter", "no-such-case"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(r#"--filter "no-such-case" matches none of the 2 cases"#),
        "{out}"
    );
}

/// Ten cases: decode and encode of X/0 to X/4.
fn ten_cases(tag: &str) -> PathBuf {
    let cases: Vec<String> = (0..5)
        .map(|k| format!(r#"{{"name":"X/{k}","hex":"00","json":{{"type":"X"}}}}"#))
        .collect();
    vectors_with(
        tag,
        &format!(r#"{{"cases":[{}]}}"#, cases.join(",")),
        NO_STREAMS,
    )
}

#[test]
fn a_testee_that_hangs_or_cannot_start_stops_the_run_early() {
    let started = std::time::Instant::now();
    let (ok, out) = run_in(
        ten_cases("hang-many"),
        "sleep 30",
        None,
        &["--timeout-ms", "300"],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("0 passed, 3 failed, 7 not run"), "{out}");
    assert!(
        out.contains("left 3 cases in a row without an answer"),
        "{out}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{out}"
    );
    // One answer in between resets the count: a testee that crashes every other case runs
    // every case.
    let flaky = r#"n=0; while read -r l; do n=$((n+1)); [ $((n%2)) = 0 ] && exit 1; echo '{"results":[{"message":{"type":"X"}}]}'; done"#;
    let (ok, out) = run_in(ten_cases("flaky"), flaky, None, &[]);
    assert!(!ok, "{out}");
    assert!(!out.contains("not run"), "{out}");
    // A command the shell cannot find: the run stops at the first case.
    let (ok, out) = run_in(ten_cases("missing"), "/nonexistent/testee", None, &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("0 passed, 0 failed, 10 not run"), "{out}");
    assert!(
        out.contains("the shell could not find the command"),
        "{out}"
    );
}
