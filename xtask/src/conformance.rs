//! `cargo xtask conformance --testee CMD [--failure-list FILE]`: runs the conformance vectors
//! against an implementation under test, as protobuf's conformance runner does.
//!
//! The runner starts `CMD` (through `sh -c`) and speaks line-delimited JSON with it, one
//! request per line on its stdin and one response per line on its stdout (the protocol is
//! documented in conformance/README.md). Each case has a time limit; a testee that crashes or
//! hangs fails that case and is restarted for the next one.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

const USAGE: &str = "\
usage: cargo xtask conformance --testee CMD [--failure-list FILE] [--vectors DIR]
                               [--filter SUBSTRING] [--timeout-ms N] [--schema FILE]
       cargo xtask conformance --list [--vectors DIR] [--filter SUBSTRING]

  --testee CMD         the implementation under test, run with `sh -c CMD`
  --failure-list FILE  known failures, one case name per line (# comments); the run fails on
                       a failure not listed and on a listed case that passes
  --vectors DIR        vector directory (default: conformance/vectors)
  --filter SUBSTRING   run only the cases whose name contains SUBSTRING (an error if none)
  --timeout-ms N       per-case time limit (default 5000)
  --schema FILE        the schema whose layout names the field of an encode difference
                       (default: schema/rltop.rlt)
  --list               print the case names, one a line, and run nothing
  -h, --help           print this and exit

The run stops early when the testee cannot be started, or leaves this many cases in a row
without an answer (it crashed or hung each time): ";

/// Cases in a row without an answer (crash or timeout) after which the run stops: a testee
/// that cannot work should cost seconds, not the timeout on every case.
const MAX_SILENT_IN_A_ROW: usize = 3;

/// What a case expects back.
#[derive(Debug, Clone)]
enum Expect {
    /// A decode: the result list (messages and errors, in order).
    Results(Vec<Value>),
    /// An encode: these bytes, as lowercase hex.
    Hex(String),
    /// An encode the testee must refuse.
    EncodeError,
    /// A stream scenario: the events, in order, and the final books.
    Stream { events: Value, books: Value },
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    request: Value,
    expect: Expect,
}

struct Options {
    testee: String,
    failure_list: Option<PathBuf>,
    vectors: PathBuf,
    filter: Option<String>,
    timeout: Duration,
    schema: PathBuf,
    list: bool,
    help: bool,
}

fn usage() -> String {
    format!("{USAGE}{MAX_SILENT_IN_A_ROW}.\n")
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        testee: String::new(),
        failure_list: None,
        vectors: crate::root().join(crate::gen::VECTORS),
        filter: None,
        timeout: Duration::from_millis(5000),
        schema: crate::root().join(crate::gen::SCHEMA),
        list: false,
        help: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n{}", usage()))
        };
        match a.as_str() {
            "--testee" => o.testee = value()?,
            "--failure-list" => o.failure_list = Some(PathBuf::from(value()?)),
            "--vectors" => o.vectors = PathBuf::from(value()?),
            "--schema" => o.schema = PathBuf::from(value()?),
            "--list" => o.list = true,
            "-h" | "--help" => o.help = true,
            "--filter" => o.filter = Some(value()?),
            "--timeout-ms" => {
                let v = value()?;
                o.timeout = Duration::from_millis(
                    v.parse()
                        .map_err(|_| format!("--timeout-ms: not a number: {v}\n"))?,
                );
            }
            _ => return Err(format!("unknown argument {a}\n{}", usage())),
        }
    }
    if o.testee.is_empty() && !o.list && !o.help {
        return Err(format!(
            "--testee CMD is needed to run the cases\n{}",
            usage()
        ));
    }
    Ok(o)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

fn cases_of<'v>(file: &'v Value, path: &Path) -> Result<&'v Vec<Value>, String> {
    file["cases"]
        .as_array()
        .ok_or_else(|| format!("{}: no \"cases\" array", path.display()))
}

fn str_of<'v>(case: &'v Value, key: &str, path: &Path) -> Result<&'v str, String> {
    case[key]
        .as_str()
        .ok_or_else(|| format!("{}: a case lacks the string \"{key}\"", path.display()))
}

/// Every case of a vector directory, in a stable order.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut message_files: Vec<PathBuf> = fs::read_dir(dir.join("messages"))
        .map_err(|e| format!("cannot read {}/messages: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    message_files.sort();
    for path in &message_files {
        let file = read_json(path)?;
        for c in cases_of(&file, path)? {
            let name = str_of(c, "name", path)?;
            let hex = str_of(c, "hex", path)?;
            cases.push(Case {
                name: format!("decode/{name}"),
                request: json!({ "op": "decode", "hex": hex }),
                expect: Expect::Results(vec![json!({ "message": c["json"] })]),
            });
            cases.push(Case {
                name: format!("encode/{name}"),
                request: json!({ "op": "encode", "message": c["json"] }),
                expect: Expect::Hex(hex.to_ascii_lowercase()),
            });
        }
    }
    for file_name in ["datagrams.json", "errors.json"] {
        let path = dir.join(file_name);
        let file = read_json(&path)?;
        for c in cases_of(&file, &path)? {
            let expect = c["expect"]
                .as_array()
                .ok_or_else(|| format!("{}: a case lacks \"expect\"", path.display()))?;
            cases.push(Case {
                name: format!("decode/{}", str_of(c, "name", &path)?),
                request: json!({ "op": "decode", "hex": str_of(c, "hex", &path)? }),
                expect: Expect::Results(expect.clone()),
            });
        }
    }
    let path = dir.join("encode_errors.json");
    let file = read_json(&path)?;
    for c in cases_of(&file, &path)? {
        cases.push(Case {
            name: format!("encode/{}", str_of(c, "name", &path)?),
            request: json!({ "op": "encode", "message": c["json"] }),
            expect: Expect::EncodeError,
        });
    }
    let path = dir.join("streams.json");
    let file = read_json(&path)?;
    for c in cases_of(&file, &path)? {
        cases.push(Case {
            name: str_of(c, "name", &path)?.to_string(),
            request: json!({ "op": "stream", "depth": c["depth"], "datagrams": c["datagrams"] }),
            expect: Expect::Stream {
                events: c["events"].clone(),
                books: c["books"].clone(),
            },
        });
    }
    Ok(cases)
}

/// The first place two JSON values differ, as `path: expected X, got Y`.
pub fn first_difference(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => {
                        if let Some(d) = first_difference(&p, ev, av) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: missing, expected {ev}")),
                }
            }
            a.keys()
                .find(|k| !e.contains_key(*k))
                .map(|k| format!("{path}.{k}: not expected, got {}", a[k]))
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), ev, av) {
                    return Some(d);
                }
            }
            (e.len() != a.len())
                .then(|| format!("{path}: expected {} entries, got {}", e.len(), a.len()))
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// An error matches on kind and offset, and on field when the vector names one; the other
/// details an implementation reports (found values, sizes) are its own business.
fn normalize_results(results: &[Value], expected: &[Value]) -> Vec<Value> {
    results
        .iter()
        .enumerate()
        .map(
            |(i, r)| match (r.get("error"), expected.get(i).and_then(|e| e.get("error"))) {
                (Some(err), Some(want)) => {
                    let mut e = json!({ "kind": err["kind"], "offset": err["offset"] });
                    if want.get("field").is_some() {
                        e["field"] = err.get("field").cloned().unwrap_or(Value::Null);
                    }
                    json!({ "error": e })
                }
                _ => r.clone(),
            },
        )
        .collect()
}

/// Where each byte of a message lies, from the schema's layout pass: an encode difference is
/// reported at the field it falls in, and a checksum that differs over an equal body is
/// told apart from a body that differs (which always changes the checksum too).
pub struct FieldMap {
    msg_type_at: usize,
    checksum: std::ops::Range<usize>,
    /// Per type code: the message's name and its leaves.
    messages: std::collections::HashMap<u8, (String, Vec<LeafBytes>)>,
}

/// A leaf's bytes in its message, and its path (`bids[3].price`).
type LeafBytes = (std::ops::Range<usize>, String);

impl FieldMap {
    pub fn load(schema: &Path) -> Result<FieldMap, String> {
        let shown = schema.display().to_string();
        let model = rltop_codegen::check_file(schema, &shown)
            .map_err(|e| format!("cannot read {shown}: {e}"))?
            .into_model()?;
        let header = model.layout.header(&model.schema);
        let roles = model.schema.protocol.roles;
        let checksum_size =
            model.layout.structs[model.schema.protocol.header].fields[roles.checksum].size;
        let messages = model
            .schema
            .messages
            .iter()
            .zip(&model.layout.messages)
            .filter_map(|(record, layout)| {
                let code = record.message?.type_code;
                let leaves = layout
                    .leaves
                    .iter()
                    .map(|l| (l.offset..l.offset + l.size, l.path.clone()))
                    .collect();
                Some((code, (record.name.clone(), leaves)))
            })
            .collect();
        Ok(FieldMap {
            msg_type_at: header.at.msg_type,
            checksum: header.at.checksum..header.at.checksum + checksum_size,
            messages,
        })
    }

    /// `AddOrder.price, bytes 56..64` for byte `at` of a message of `msg_type`, if known.
    fn field_at(&self, msg_type: u8, at: usize) -> Option<(String, std::ops::Range<usize>)> {
        let (name, leaves) = self.messages.get(&msg_type)?;
        let (range, path) = leaves.iter().find(|(r, _)| r.contains(&at))?;
        Some((format!("{name}.{path}"), range.clone()))
    }
}

/// Checks one response; `Err` says what is wrong.
pub fn judge(case: &Case, response: &Value, fields: Option<&FieldMap>) -> Result<(), String> {
    if let Some(reason) = response.get("unsupported") {
        return Err(format!("testee does not support this request: {reason}"));
    }
    match &case.expect {
        Expect::Results(want) => {
            let Some(got) = response.get("results").and_then(Value::as_array) else {
                return Err(format!("response has no \"results\" array: {response}"));
            };
            let normalized = Value::Array(normalize_results(got, want));
            match first_difference("results", &Value::Array(want.clone()), &normalized) {
                None => Ok(()),
                Some(d) => Err(format!(
                    "{d}; the testee returned {}",
                    shorten(&Value::Array(got.clone()).to_string())
                )),
            }
        }
        Expect::Hex(want) => match response.get("hex").and_then(Value::as_str) {
            Some(h) if h.eq_ignore_ascii_case(want) => Ok(()),
            Some(h) => Err(hex_difference(want, h, fields)),
            None => Err(format!("expected bytes, got {response}")),
        },
        Expect::EncodeError => match response.get("error") {
            Some(_) => Ok(()),
            None => Err(format!("expected an encode error, got {response}")),
        },
        Expect::Stream { events, books } => {
            let got = |k: &str| {
                response
                    .get(k)
                    .filter(|v| v.is_array())
                    .ok_or_else(|| format!("response has no \"{k}\" array: {response}"))
            };
            let got_events = Value::Array(
                got("events")?
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(normalize_event)
                    .collect(),
            );
            // Events first: where a run goes wrong shows there before the books.
            if let Some(d) = first_difference("events", events, &got_events) {
                return Err(format!("{d}{}", event_sides(events, &got_events)));
            }
            match first_difference("books", books, got("books")?) {
                None => Ok(()),
                Some(d) => Err(d),
            }
        }
    }
}

/// The first event that differs, whole, on both sides (or the first missing or extra one):
/// a field path alone rarely says what the testee did instead.
fn event_sides(want: &Value, got: &Value) -> String {
    let (Some(want), Some(got)) = (want.as_array(), got.as_array()) else {
        return String::new();
    };
    let at = want
        .iter()
        .zip(got)
        .position(|(w, g)| w != g)
        .unwrap_or(want.len().min(got.len()));
    let side = |events: &[Value]| {
        events
            .get(at)
            .map_or("(none: the events end here)".to_string(), |e| {
                shorten(&e.to_string())
            })
    };
    format!(
        "\n    expected events[{at}]: {}\n    testee's events[{at}]: {}",
        side(want),
        side(got)
    )
}

/// At most 400 characters of `text`.
fn shorten(text: &str) -> String {
    const MAX: usize = 400;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
        None => text.to_string(),
    }
}

/// A rejected message is judged, like a decode error, on its kind and offset; any detail an
/// implementation adds is its own.
fn normalize_event(e: &Value) -> Value {
    match e.get("rejected") {
        Some(r) => json!({ "rejected": { "kind": r["kind"], "offset": r["offset"] } }),
        None => e.clone(),
    }
}

/// Where two encodings first differ, named by field when the schema knows the message. The
/// checksum covers the body, so a body difference is reported at the body's first differing
/// byte, not at the checksum; a checksum that differs over an equal body is said to be that.
fn hex_difference(want: &str, got: &str, fields: Option<&FieldMap>) -> String {
    let (Some(want_bytes), Some(got_bytes)) = (unhex(want), unhex(got)) else {
        return format!("the testee's bytes are not hex: {}", shorten(got));
    };
    let sizes = format!("{} vs {} bytes", want_bytes.len(), got_bytes.len());
    let checksum = fields.map_or(0..0, |f| f.checksum.clone());
    let differs = |at: &usize| want_bytes.get(*at) != got_bytes.get(*at);
    let longest = want_bytes.len().max(got_bytes.len());
    let body = (0..longest)
        .filter(|at| !checksum.contains(at))
        .find(differs);
    let show = |bytes: &[u8], range: std::ops::Range<usize>| {
        let end = range.end.min(bytes.len());
        match bytes.get(range.start..end) {
            Some(b) if !b.is_empty() => b.iter().map(|x| format!("{x:02x}")).collect(),
            _ => "(nothing)".to_string(),
        }
    };
    // With no field map the checksum range is empty and every difference is a body one.
    let Some(at) = body else {
        return format!(
            "only the checksum differs (bytes {}..{}, the rest is equal; {sizes}): expected {}, got {}",
            checksum.start,
            checksum.end,
            show(&want_bytes, checksum.clone()),
            show(&got_bytes, checksum.clone())
        );
    };
    let named = fields.and_then(|f| {
        let msg_type = *want_bytes.get(f.msg_type_at)?;
        f.field_at(msg_type, at)
    });
    match named {
        Some((field, range)) => format!(
            "bytes differ from byte {at}, in {field} (bytes {}..{}; {sizes}): expected {}, got {}",
            range.start,
            range.end,
            show(&want_bytes, range.clone()),
            show(&got_bytes, range.clone())
        ),
        None => format!(
            "bytes differ from byte {at} ({sizes}): expected {}…, got {}…",
            show(&want_bytes, at..at + 8),
            show(&got_bytes, at..at + 8)
        ),
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(text.get(k..k + 2)?, 16).ok())
        .collect()
}

/// Why a request got no response.
enum Silence {
    /// The command could not be run at all (not found, not executable): nothing will answer.
    CannotStart(String),
    /// It crashed, hung, or answered with a line that is not JSON, on this case.
    NoAnswer(String),
    /// It answered, but not with JSON: a wrong answer, not silence.
    Garbled(String),
}

impl std::fmt::Display for Silence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Silence::CannotStart(why) | Silence::NoAnswer(why) | Silence::Garbled(why) => {
                f.write_str(why)
            }
        }
    }
}

/// A running testee, restarted after a crash or a timeout.
struct Testee {
    cmd: String,
    child: Option<(Child, ChildStdin, Receiver<String>)>,
}

impl Testee {
    fn start(&mut self) -> Result<(), String> {
        // Its own process group, so a timeout kills whatever the command started too.
        let mut child = Command::new("sh")
            .args(["-c", &self.cmd])
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start testee `{}`: {e}", self.cmd))?;
        let stdin = child.stdin.take().ok_or("testee has no stdin")?;
        let stdout = child.stdout.take().ok_or("testee has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some((child, stdin, rx));
        Ok(())
    }

    fn stop(&mut self) {
        if let Some((mut child, stdin, _)) = self.child.take() {
            drop(stdin);
            kill_group(&mut child);
        }
    }

    /// Sends one request; returns the response line, or why there is none.
    fn ask(&mut self, request: &Value, timeout: Duration) -> Result<Value, Silence> {
        if self.child.is_none() {
            self.start().map_err(Silence::CannotStart)?;
        }
        let Some((child, stdin, rx)) = self.child.as_mut() else {
            return Err(Silence::CannotStart("testee not running".into()));
        };
        let line = format!("{request}\n");
        if stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .is_err()
        {
            let status = child.wait().ok();
            self.stop();
            return Err(died("testee closed its input", status));
        }
        match rx.recv_timeout(timeout) {
            Ok(line) => serde_json::from_str(&line).map_err(|e| {
                Silence::Garbled(format!("response is not JSON ({e}): {}", shorten(&line)))
            }),
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                Err(Silence::NoAnswer(format!(
                    "no response within {} ms (testee killed, restarted for the next case)",
                    timeout.as_millis()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok();
                self.stop();
                Err(died("testee died without answering", status))
            }
        }
    }
}

impl Testee {
    /// Closes the testee's input and waits for it to exit by itself (as a sanitizer's leak
    /// check needs); returns how it exited, or None if it had to be killed or was not running.
    fn finish(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let (mut child, stdin, _) = self.child.take()?;
        drop(stdin);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    kill_group(&mut child);
                    return None;
                }
            }
        }
    }
}

/// A testee that ended before answering. `sh -c` exits 127 when the command is not found and
/// 126 when it cannot be executed: then no restart will help.
fn died(what: &str, status: Option<std::process::ExitStatus>) -> Silence {
    let shown = status.map(|s| s.to_string()).unwrap_or_default();
    match status.and_then(|s| s.code()) {
        Some(code @ (126 | 127)) => Silence::CannotStart(format!(
            "{what} ({shown}): the shell could not {} the command",
            if code == 127 { "find" } else { "execute" }
        )),
        _ => Silence::NoAnswer(format!("{what} ({shown}); restarted for the next case")),
    }
}

/// Kills the testee and whatever it started (it runs in its own process group).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Testee {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_failure_list(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("cannot read failure list {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

impl Case {
    /// A case expecting what a reference implementation answered to `request` (a decode's
    /// `results`, a stream's `events` and `books`): differential runs judge another
    /// implementation by the same rules as the vectors.
    pub fn from_answer(name: String, request: Value, answer: &Value) -> Result<Case, String> {
        // What an implementation says in its own words (`detail`) is not expected of another.
        let without_detail = |v: &Value, key: &str| {
            let mut v = v.clone();
            if let Some(inner) = v.get_mut(key).and_then(Value::as_object_mut) {
                inner.remove("detail");
            }
            v
        };
        let expect = match request["op"].as_str() {
            Some("decode") => Expect::Results(
                answer["results"]
                    .as_array()
                    .ok_or_else(|| format!("{name}: the reference gave no results: {answer}"))?
                    .iter()
                    .map(|r| without_detail(r, "error"))
                    .collect(),
            ),
            Some("stream") => Expect::Stream {
                events: Value::Array(
                    answer["events"]
                        .as_array()
                        .ok_or_else(|| format!("{name}: the reference gave no events: {answer}"))?
                        .iter()
                        .map(|e| without_detail(e, "rejected"))
                        .collect(),
                ),
                books: answer["books"].clone(),
            },
            other => return Err(format!("{name}: no differential form for op {other:?}")),
        };
        Ok(Case {
            name,
            request,
            expect,
        })
    }
}

/// `testee`'s answers to `requests`, in order.
pub fn answers(
    testee: &str,
    requests: &[(String, Value)],
    timeout: Duration,
) -> Result<Vec<Value>, String> {
    let mut testee = Testee {
        cmd: testee.to_string(),
        child: None,
    };
    requests
        .iter()
        .map(|(name, request)| {
            let mut request = request.clone();
            request["id"] = json!(name);
            testee
                .ask(&request, timeout)
                .map_err(|e| format!("{name}: the reference did not answer: {e}"))
        })
        .collect()
}

/// Runs `cases` against `testee` until one fails: that case's name and why, or `None` when
/// every case passes (`cargo xtask mutants` asks only whether a mutant is caught).
pub fn first_failure(
    testee: &str,
    cases: &[Case],
    fields: &FieldMap,
    timeout: Duration,
) -> Result<Option<(String, String)>, String> {
    let mut testee = Testee {
        cmd: testee.to_string(),
        child: None,
    };
    for case in cases {
        let mut request = case.request.clone();
        request["id"] = json!(case.name);
        // The first case without an answer ends the run like any failure: no need to count
        // silences in a row here.
        let outcome = match testee.ask(&request, timeout) {
            Err(Silence::CannotStart(why)) => return Err(format!("{}: {why}", case.name)),
            Err(silence) => Err(silence.to_string()),
            Ok(response) => judge(case, &response, Some(fields)),
        };
        if let Err(why) = outcome {
            return Ok(Some((case.name.clone(), why)));
        }
    }
    match testee.finish(timeout) {
        Some(status) if !status.success() => Ok(Some((
            "testee exit".into(),
            format!("after the last case the testee exited with {status}"),
        ))),
        _ => Ok(None),
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse_args(args)?;
    if o.help {
        print!("{}", usage());
        return Ok(());
    }
    let mut cases = load_cases(&o.vectors)?;
    if let Some(f) = &o.filter {
        let all = cases.len();
        cases.retain(|c| c.name.contains(f.as_str()));
        if cases.is_empty() {
            return Err(format!(
                "--filter {f:?} matches none of the {all} cases (--list prints their names)\n"
            ));
        }
    }
    if o.list {
        for case in &cases {
            println!("{}", case.name);
        }
        return Ok(());
    }
    let known = match &o.failure_list {
        Some(p) => read_failure_list(p)?,
        None => BTreeSet::new(),
    };
    let fields = FieldMap::load(&o.schema)?;
    let mut testee = Testee {
        cmd: o.testee.clone(),
        child: None,
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut unexpected = 0usize;
    let mut now_passing = Vec::new();
    let mut silent_in_a_row = 0usize;
    for (k, case) in cases.iter().enumerate() {
        let mut request = case.request.clone();
        request["id"] = json!(case.name);
        let answer = testee.ask(&request, o.timeout);
        match &answer {
            Err(Silence::CannotStart(why)) => {
                println!(
                    "{passed} passed, {failed} failed, {} not run",
                    cases.len() - k
                );
                return Err(format!("conformance run stopped at {}: {why}\n", case.name));
            }
            Err(Silence::NoAnswer(_)) => silent_in_a_row += 1,
            _ => silent_in_a_row = 0,
        }
        let outcome = answer.map_err(|s| s.to_string()).and_then(|resp| {
            match resp.get("id") {
                Some(id) if *id != json!(case.name) => {
                    return Err(format!(
                        "response for {id}, not for this case (out of step)"
                    ))
                }
                _ => {}
            }
            judge(case, &resp, Some(&fields))
        });
        let listed = known.contains(&case.name);
        match outcome {
            Ok(()) => {
                passed += 1;
                if listed {
                    now_passing.push(case.name.clone());
                }
            }
            Err(why) => {
                failed += 1;
                if listed {
                    println!("known failure {}: {why}", case.name);
                } else {
                    unexpected += 1;
                    println!("FAIL {}: {why}", case.name);
                }
            }
        }
        if silent_in_a_row == MAX_SILENT_IN_A_ROW && k + 1 < cases.len() {
            println!(
                "{passed} passed, {failed} failed, {} not run",
                cases.len() - k - 1
            );
            return Err(format!(
                "conformance run stopped: the testee left {MAX_SILENT_IN_A_ROW} cases in a row \
                 without an answer (it crashed or hung each time); {} cases not run\n",
                cases.len() - k - 1
            ));
        }
    }
    // A clean exit is part of passing: sanitizers report leaks and errors when the program ends.
    if let Some(status) = testee.finish(o.timeout) {
        if !status.success() {
            unexpected += 1;
            println!("FAIL testee exit: after the last case the testee exited with {status}");
        }
    }
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let unknown: Vec<&String> = if o.filter.is_some() {
        Vec::new()
    } else {
        known
            .iter()
            .filter(|k| !names.contains(k.as_str()))
            .collect()
    };
    for name in &now_passing {
        println!(
            "STALE {name}: listed as a known failure but passes; remove it from the failure list"
        );
    }
    for name in &unknown {
        println!("STALE {name}: listed as a known failure but no such case exists");
    }
    println!("{passed} passed, {failed} failed");
    if unexpected > 0 || !now_passing.is_empty() || !unknown.is_empty() {
        return Err(format!(
            "conformance run failed: {unexpected} unexpected failure(s), {} stale failure-list entr{}\n",
            now_passing.len() + unknown.len(),
            if now_passing.len() + unknown.len() == 1 { "y" } else { "ies" }
        ));
    }
    Ok(())
}
