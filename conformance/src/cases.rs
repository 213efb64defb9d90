//! The cases: read from a vector directory (or the copy embedded in this crate) and turned
//! into requests with what each expects back. The order is stable, so a run and its report
//! read the same way every time.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// What a case expects back.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A decode: the result list (messages and errors, in order).
    Results(Vec<Value>),
    /// An encode: these bytes, as lowercase hex.
    Hex(String),
    /// An encode the testee must refuse.
    EncodeError,
    /// A stream scenario: the events, in order, and the final books.
    Stream { events: Value, books: Value },
}

/// One request and what its answer must be.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub request: Value,
    pub expect: Expect,
}

/// Where the vectors come from.
#[derive(Debug, Clone)]
pub enum Vectors {
    /// The protocol's vectors, built into this program.
    Embedded,
    /// A directory in the layout of `conformance/vectors` (another schema's, or a newer copy).
    Dir(PathBuf),
}

impl Vectors {
    /// The text of `name` (a path under the vector directory).
    pub fn read(&self, name: &str) -> Result<String, String> {
        match self {
            Vectors::Embedded => crate::embedded::FILES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| format!("the embedded vectors have no {name}")),
            Vectors::Dir(dir) => std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("cannot read {}: {e}", dir.join(name).display())),
        }
    }

    /// Whether the vectors hold `name` (stream scenarios are optional for a schema of one's own).
    pub fn has(&self, name: &str) -> bool {
        match self {
            Vectors::Embedded => crate::embedded::FILES.iter().any(|(n, _)| *n == name),
            Vectors::Dir(dir) => dir.join(name).is_file(),
        }
    }

    /// The per-message files (`messages/*.json`), sorted; none when there is no messages/.
    fn message_files(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = match self {
            Vectors::Embedded => crate::embedded::FILES
                .iter()
                .map(|(n, _)| n.to_string())
                .filter(|n| n.starts_with("messages/"))
                .collect(),
            Vectors::Dir(dir) if !dir.join("messages").exists() => Vec::new(),
            Vectors::Dir(dir) => std::fs::read_dir(dir.join("messages"))
                .map_err(|e| format!("cannot read {}/messages: {e}", dir.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter_map(|p| Some(format!("messages/{}", p.file_name()?.to_str()?)))
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// A file as JSON.
    pub fn json(&self, name: &str) -> Result<Value, String> {
        serde_json::from_str(&self.read(name)?).map_err(|e| format!("{name}: invalid JSON: {e}"))
    }

    fn describe(&self) -> String {
        match self {
            Vectors::Embedded => "the embedded vectors".into(),
            Vectors::Dir(d) => d.display().to_string(),
        }
    }
}

fn cases_of<'v>(file: &'v Value, name: &str) -> Result<&'v Vec<Value>, String> {
    file["cases"]
        .as_array()
        .ok_or_else(|| format!("{name}: no \"cases\" array"))
}

fn str_of<'v>(case: &'v Value, key: &str, file: &str) -> Result<&'v str, String> {
    case[key]
        .as_str()
        .ok_or_else(|| format!("{file}: a case lacks the string \"{key}\""))
}

/// Every case of the vectors, in a stable order: per message decode and encode, datagrams,
/// errors, encode errors, then the stream scenarios when there are any.
pub fn load(vectors: &Vectors) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    // Cross-version vectors have no messages/: their cases are all datagrams.
    let messages = vectors.message_files()?;
    for name in &messages {
        let file = vectors.json(name)?;
        for c in cases_of(&file, name)? {
            let id = str_of(c, "name", name)?;
            let hex = str_of(c, "hex", name)?;
            // A protocol whose datagrams frame their messages (MoldUDP64) gives the message
            // framed, and the results with the framing's sequence numbers.
            let datagram = c
                .get("datagram")
                .map_or(Ok(hex), |_| str_of(c, "datagram", name))?;
            let expect = match c.get("expect") {
                Some(e) => e
                    .as_array()
                    .cloned()
                    .ok_or_else(|| format!("{name}: {id}'s \"expect\" is not a list"))?,
                None => vec![json!({ "message": c["json"] })],
            };
            cases.push(Case {
                name: format!("decode/{id}"),
                request: json!({ "op": "decode", "hex": datagram }),
                expect: Expect::Results(expect),
            });
            cases.push(Case {
                name: format!("encode/{id}"),
                request: json!({ "op": "encode", "message": c["json"] }),
                expect: Expect::Hex(hex.to_ascii_lowercase()),
            });
        }
    }
    for name in ["datagrams.json", "errors.json"] {
        let file = vectors.json(name)?;
        for c in cases_of(&file, name)? {
            let expect = c["expect"]
                .as_array()
                .ok_or_else(|| format!("{name}: a case lacks \"expect\""))?;
            cases.push(Case {
                name: format!("decode/{}", str_of(c, "name", name)?),
                request: json!({ "op": "decode", "hex": str_of(c, "hex", name)? }),
                expect: Expect::Results(expect.clone()),
            });
        }
    }
    let name = "encode_errors.json";
    for c in cases_of(&vectors.json(name)?, name)? {
        cases.push(Case {
            name: format!("encode/{}", str_of(c, "name", name)?),
            request: json!({ "op": "encode", "message": c["json"] }),
            expect: Expect::EncodeError,
        });
    }
    cases.extend(stream_cases(vectors)?);
    if cases.is_empty() {
        return Err(format!("{} hold no cases", vectors.describe()));
    }
    Ok(cases)
}

fn stream_cases(vectors: &Vectors) -> Result<Vec<Case>, String> {
    let name = "streams.json";
    if !vectors.has(name) {
        return Ok(Vec::new());
    }
    cases_of(&vectors.json(name)?, name)?
        .iter()
        .map(|c| {
            Ok(Case {
                name: str_of(c, "name", name)?.to_string(),
                request: json!({ "op": "stream", "depth": c["depth"], "datagrams": c["datagrams"] }),
                expect: Expect::Stream {
                    events: c["events"].clone(),
                    books: c["books"].clone(),
                },
            })
        })
        .collect()
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
        let list = |key: &str, inner: &str| -> Result<Vec<Value>, String> {
            Ok(answer[key]
                .as_array()
                .ok_or_else(|| format!("{name}: the reference gave no {key}: {answer}"))?
                .iter()
                .map(|r| without_detail(r, inner))
                .collect())
        };
        let expect = match request["op"].as_str() {
            Some("decode") => Expect::Results(list("results", "error")?),
            Some("stream") => Expect::Stream {
                events: Value::Array(list("events", "rejected")?),
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

/// Known failures: one case name a line, `#` comments.
pub fn read_failure_list(path: &Path) -> Result<std::collections::BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read failure list {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}
