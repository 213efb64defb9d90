//! The conformance runner against tiny scripted testees: what passes, what fails, and that a
//! failure list cannot go stale.

use std::path::PathBuf;
use std::process::Command;

/// A vector directory with one decode case and one encode case (`decode/X/a`, `encode/X/a`),
/// and the stream cases `streams` (a `streams.json` text).
fn vectors(tag: &str, streams: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-runner-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("messages")).unwrap();
    std::fs::write(
        dir.join("messages/X.json"),
        r#"{"cases":[{"name":"X/a","hex":"00","json":{"type":"X"}}]}"#,
    )
    .unwrap();
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
    let dir = vectors(tag, streams);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["conformance", "--vectors"])
        .arg(&dir)
        .args(["--testee", testee])
        .args(extra);
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
