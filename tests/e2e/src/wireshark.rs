//! The generated Wireshark dissector (`generated/wireshark/rltop.lua`) checked value by value
//! with tshark: every conformance vector in a pcap, dissected, and compared with the vector.
//!
//! * Each message vector: every field the vector's canonical JSON has is shown by the field
//!   of that name, at the layout's offset and size, with the JSON's value (an integer, a
//!   variant's name, text, or a timestamp as tshark writes it); no other field is shown.
//! * Each error and datagram vector: the expert items, in order, are the vector's errors:
//!   the same kind at the same offset, naming the same field.
//!
//! Wireshark refuses Lua scripts when run as root, so tshark runs as `nobody`, on copies in a
//! scratch directory it can read; the directory is removed however the check ends.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Command;

use rltop_capture::PcapWriter;
use rltop_devsupport::root;
use serde_json::Value;

/// Where tshark sees the vectors: a port of the dissector's default preference.
const DST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 1, 1), 9002);
const SRC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40_000);
/// Ethernet, IPv4 and UDP headers before the payload in the pcap's frames.
const PAYLOAD_AT: usize = 42;

/// A generated dissector and what checks it: its protocol's filter prefix, files, and where
/// its messages sit in a datagram of its vectors.
pub struct Target {
    proto: &'static str,
    /// The dissector, the schema and the vectors, under the repository's root.
    lua: &'static str,
    schema: &'static str,
    vectors: &'static str,
    /// Where a message vector's message starts in its datagram (after MoldUDP64's header and
    /// block length, for ITCH).
    message_at: usize,
    /// The UDP port the vectors are sent to, and the Decode As that port needs, if any.
    port: u16,
    decode_as: Option<&'static str>,
    /// RLTOP's header (a `header` object, its derived fields not in the JSON), or the type
    /// code's own field first in every message (`<proto>.type`).
    rltop_header: bool,
}

/// RLTOP, found on the channel plan's ports by the port preference.
pub const RLTOP: Target = Target {
    proto: "rltop",
    lua: "generated/wireshark/rltop.lua",
    schema: "schema/rltop.rlt",
    vectors: "conformance/vectors",
    message_at: 0,
    port: 9002,
    decode_as: None,
    rltop_header: true,
};

/// ITCH 5.0 over MoldUDP64, on a port of its own given by Decode As.
pub const ITCH: Target = Target {
    proto: "itch",
    lua: "generated/itch50/wireshark/itch.lua",
    schema: "schema/examples/itch50.rlt",
    vectors: "generated/itch50/vectors",
    message_at: 22,
    port: 26_477,
    decode_as: Some("udp.port==26477,itch"),
    rltop_header: false,
};

/// A directory `nobody` can read, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let dir = std::env::temp_dir().join(format!("rltop-wireshark-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        readable(&dir, 0o755)?;
        Ok(Scratch(dir))
    }

    /// Writes `bytes` to `name` in the directory, readable by everyone.
    fn put(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        readable(&path, 0o644)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn readable(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A case: its name, its bytes, and what the dissector must show.
struct Case {
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

enum Expect {
    /// A message's canonical JSON.
    Message(Value),
    /// The results of a datagram: only their errors are compared.
    Results(Vec<Value>),
}

fn json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// Every message, datagram and error vector.
fn cases(vectors: &Path) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors.join("messages"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        for c in json(&file)?["cases"].as_array().into_iter().flatten() {
            // A protocol whose datagrams frame their messages gives the message framed.
            let bytes = c.get("datagram").unwrap_or(&c["hex"]);
            out.push(Case {
                name: c["name"].as_str().unwrap_or("?").to_string(),
                bytes: unhex(bytes.as_str().unwrap_or(""))?,
                expect: Expect::Message(c["json"].clone()),
            });
        }
    }
    for file in ["datagrams.json", "errors.json"] {
        for c in json(&vectors.join(file))?["cases"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push(Case {
                name: c["name"].as_str().unwrap_or("?").to_string(),
                bytes: unhex(c["hex"].as_str().unwrap_or(""))?,
                expect: Expect::Results(c["expect"].as_array().cloned().unwrap_or_default()),
            });
        }
    }
    Ok(out)
}

/// One `<field …>` of PDML: its name, position in the frame, size, `show` and `showname`.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    pos: usize,
    size: usize,
    show: String,
    showname: String,
}

fn attribute(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(" {key}=\""))? + key.len() + 3;
    let end = start + line[start..].find('"')?;
    Some(unescape(&line[start..end]))
}

/// XML's escapes, as tshark writes them.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find(';') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let entity = &rest[at + 1..at + end];
        let c = match entity {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&rest[at..=at + end]),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The fields of each packet of a PDML document, in order.
fn packets(pdml: &str) -> Vec<Vec<Field>> {
    let mut out: Vec<Vec<Field>> = Vec::new();
    for line in pdml.lines() {
        let line = line.trim_start();
        if line.starts_with("<packet>") {
            out.push(Vec::new());
        } else if line.starts_with("<field ") || line.starts_with("<proto ") {
            let (Some(packet), Some(name)) = (out.last_mut(), attribute(line, "name")) else {
                continue;
            };
            packet.push(Field {
                name,
                pos: attribute(line, "pos")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
                size: attribute(line, "size")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
                show: attribute(line, "show").unwrap_or_default(),
                showname: attribute(line, "showname").unwrap_or_default(),
            });
        }
    }
    out
}

/// `AddOrder` → `add_order`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A leaf of a message's canonical JSON: its filter name, path and value.
struct Leaf {
    abbr: String,
    path: String,
    value: Value,
}

/// The leaves of a message's JSON `body` (without its `type`), as `t` names them: for a
/// protocol of another shape, the field in the message's first byte is the type code's own.
fn message_leaves(t: &Target, name: &str, body: &Value, layout: &Offsets) -> Vec<Leaf> {
    let mut out = Vec::new();
    let proto = t.proto;
    for (key, v) in body.as_object().into_iter().flatten() {
        let first_byte = layout.get(&(name.to_string(), key.clone())) == Some(&(0, 1));
        let abbr = match key.as_str() {
            "header" if t.rltop_header => format!("{proto}.header"),
            _ if first_byte && !t.rltop_header => format!("{proto}.type"),
            _ => format!("{proto}.{}.{key}", snake(name)),
        };
        leaves(v, &abbr, key, &mut out);
    }
    out
}

/// The leaves of `json` under `prefix` (the filter name so far) and `path`.
fn leaves(json: &Value, prefix: &str, path: &str, out: &mut Vec<Leaf>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(v, &format!("{prefix}.{k}"), &format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, prefix, &format!("{path}[{i}]"), out);
            }
        }
        v => out.push(Leaf {
            abbr: prefix.to_string(),
            path: path.to_string(),
            value: v.clone(),
        }),
    }
}

/// Nanoseconds since the epoch as tshark shows absolute time in UTC:
/// `Jan  1, 1970 00:00:00.000000741 UTC`.
fn utc(ns: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {day:>2}, {year} {:02}:{:02}:{:02}.{frac:09} UTC",
        MONTHS[(month - 1) as usize],
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// Whether a field shows `value`: as an integer, a variant's name, text, or a timestamp.
fn shows(field: &Field, value: &Value) -> bool {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return false,
    };
    let label = field.showname.split(": ").next().unwrap_or("");
    let number = field
        .show
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .map(|n| n.to_string());
    field.show == text
        || number.as_deref() == Some(text.as_str())
        || field.showname == format!("{label}: {text} ({})", field.show)
        || field.showname == format!("{label}: {} ({text})", field.show)
        || text.parse().is_ok_and(|ns: u64| field.show == utc(ns))
}

/// The fields the dissector shows beyond the canonical JSON: RLTOP's derived header fields,
/// MoldUDP64's header, and each flag's bit.
fn derived(t: &Target, f: &Field) -> bool {
    let rest = f.name.strip_prefix(t.proto).unwrap_or("");
    (t.rltop_header
        && matches!(
            rest,
            ".header.magic" | ".header.length" | ".type" | ".header.version" | ".header.checksum"
        ))
        || rest.starts_with(".moldudp64.")
        || f.showname.starts_with('.')
        || f.showname.contains(" = ")
}

/// Each message field's offset and size, by (message, path), from the vectors' layout.json.
type Offsets = HashMap<(String, String), (usize, usize)>;

fn layout(vectors: &Path) -> Result<Offsets, String> {
    let mut out = HashMap::new();
    for m in json(&vectors.join("layout.json"))?["messages"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = m["name"].as_str().unwrap_or("").to_string();
        for f in m["fields"].as_array().into_iter().flatten() {
            let n = |k: &str| f[k].as_u64().unwrap_or(0) as usize;
            out.insert(
                (name.clone(), f["path"].as_str().unwrap_or("").to_string()),
                (n("offset"), n("size")),
            );
        }
    }
    Ok(out)
}

/// A message vector against its packet: every JSON leaf shown once, where and as it should be.
fn check_message(
    t: &Target,
    json: &Value,
    fields: &[Field],
    layout: &Offsets,
) -> Result<(), String> {
    let name = json["type"].as_str().unwrap_or("");
    let mut body = json.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("type");
    }
    let expected = message_leaves(t, name, &body, layout);
    if let Some(e) = experts(t, fields).first() {
        return Err(format!("a valid message has the expert item {e:?}"));
    }
    // An expert item's own field follows its `_ws.expert`: not a field of the message.
    let shown: Vec<&Field> = fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            f.name.starts_with(&format!("{}.", t.proto))
                && !derived(t, f)
                && (*i == 0 || fields[i - 1].name != "_ws.expert")
        })
        .map(|(_, f)| f)
        .collect();
    let mut used = vec![false; shown.len()];
    for leaf in &expected {
        let Some(k) = (0..shown.len()).find(|&k| !used[k] && shown[k].name == leaf.abbr) else {
            return Err(format!("{} ({}) is not shown", leaf.abbr, leaf.path));
        };
        used[k] = true;
        let f = shown[k];
        if !shows(f, &leaf.value) {
            return Err(format!(
                "{} shows {:?} ({:?}), expected {}",
                leaf.abbr, f.show, f.showname, leaf.value
            ));
        }
        let at = layout.get(&(name.to_string(), leaf.path.clone()));
        let shown_at = f.pos - PAYLOAD_AT - t.message_at;
        if at != Some(&(shown_at, f.size)) {
            return Err(format!(
                "{} is shown at bytes {shown_at}+{}, the layout has {at:?}",
                leaf.path, f.size
            ));
        }
    }
    // What remains is a count, which links to its array: it must say how many entries the
    // vector's array has.
    for (k, f) in shown.iter().enumerate().filter(|(k, _)| !used[*k]) {
        let Some(array) = f
            .showname
            .rsplit_once(" (entries of ")
            .and_then(|(_, a)| a.strip_suffix(')'))
        else {
            return Err(format!(
                "{} is shown but is not in the vector",
                shown[k].name
            ));
        };
        let entries = body[array].as_array().map_or(0, Vec::len);
        if f.show != entries.to_string() {
            return Err(format!(
                "{} shows {}, the vector's {array} has {entries}",
                f.name, f.show
            ));
        }
    }
    Ok(())
}

/// The expert items of a packet, without sequence gaps: (kind, offset, message).
fn experts(t: &Target, fields: &[Field]) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if f.name != "_ws.expert" {
            continue;
        }
        let Some(kind) = fields
            .get(i + 1)
            .and_then(|k| k.name.strip_prefix(t.proto))
            .and_then(|k| k.strip_prefix('.'))
        else {
            continue;
        };
        if kind == "sequence_gap" {
            continue;
        }
        let camel: String = kind
            .split('_')
            .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
            .collect();
        out.push((camel, f.pos - PAYLOAD_AT, f.showname.clone()));
    }
    out
}

/// A datagram's or error vector's errors against the packet's expert items, in order.
fn check_errors(t: &Target, expect: &[Value], fields: &[Field]) -> Result<(), String> {
    let got = experts(t, fields);
    let want: Vec<&Value> = expect.iter().filter_map(|r| r.get("error")).collect();
    if got.len() != want.len() {
        return Err(format!(
            "{} expert items, expected {} errors: {got:?} vs {want:?}",
            got.len(),
            want.len()
        ));
    }
    for ((kind, offset, text), w) in got.iter().zip(want) {
        let (wk, wo) = (
            w["kind"].as_str().unwrap_or(""),
            w["offset"].as_u64().unwrap_or(0) as usize,
        );
        if kind != wk || *offset != wo {
            return Err(format!(
                "expert {kind} at {offset}, expected {wk} at {wo} ({text})"
            ));
        }
        if let Some(field) = w.get("field").and_then(Value::as_str) {
            if !text.contains(field) {
                return Err(format!("expert {text:?} does not name {field}"));
            }
        }
    }
    Ok(())
}

/// tshark as `nobody` with the dissector, on `pcap`: its PDML, or why it failed (a Lua error
/// included: tshark prints those on stderr).
fn tshark(scratch: &Scratch, lua: &Path, pcap: &Path, extra: &[&str]) -> Result<String, String> {
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--", "tshark"])
        .arg("-X")
        .arg(format!("lua_script:{}", lua.display()))
        .arg("-r")
        .arg(pcap)
        .args(extra)
        .current_dir(&scratch.0)
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("Lua") {
        return Err(format!("tshark failed ({}):\n{stderr}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every enumeration value of the schema, as `tshark -G values` lists it: a line
/// `V<TAB>filter name<TAB>value<TAB>variant` for each field of an enumeration type.
fn schema_values(t: &Target) -> Result<Vec<String>, String> {
    use rltop_codegen::layout::LeafKind;
    let checked =
        rltop_codegen::check_file(&root().join(t.schema), t.schema).map_err(|e| e.to_string())?;
    let model = checked.laid.as_ref().ok_or_else(|| checked.render())?;
    let s = &model.schema;
    let mut out = Vec::new();
    for (r, l) in s.messages.iter().zip(model.layout.messages.iter()) {
        for leaf in &l.leaves {
            let LeafKind::Enum(e) = leaf.kind else {
                continue;
            };
            let bare: String = leaf
                .path
                .split('.')
                .map(|p| p.split('[').next().unwrap_or(p))
                .collect::<Vec<_>>()
                .join(".");
            let proto = t.proto;
            let abbr = match bare.strip_prefix("header.") {
                Some(h) if t.rltop_header => format!("{proto}.header.{h}"),
                _ => format!("{proto}.{}.{bare}", snake(&r.name)),
            };
            for v in &s.enums[e].variants {
                out.push(format!("V\t{abbr}\t{}\t{}", v.value, v.name));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `tshark -G values` with the dissector lists every enumeration value of the schema.
fn values_listed(t: &Target, lua: &Path) -> Result<usize, String> {
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--", "tshark", "-G", "values", "-X"])
        .arg(format!("lua_script:{}", lua.display()))
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    let listed = String::from_utf8_lossy(&out.stdout);
    let listed: std::collections::HashSet<&str> = listed.lines().collect();
    let expected = schema_values(t)?;
    if let Some(missing) = expected.iter().find(|v| !listed.contains(v.as_str())) {
        return Err(format!("tshark -G values does not list {missing:?}"));
    }
    Ok(expected.len())
}

/// The check: `t`'s dissector parses, loads, and shows every vector as the vector says.
pub fn vectors_dissect_to_their_values(t: &Target) -> Result<String, String> {
    let source = root().join(t.lua);
    let lua_check = Command::new("luac5.2")
        .arg("-p")
        .arg(&source)
        .output()
        .map_err(|e| format!("cannot run luac5.2: {e}"))?;
    if !lua_check.status.success() {
        return Err(format!(
            "luac5.2 -p: {}",
            String::from_utf8_lossy(&lua_check.stderr)
        ));
    }
    let scratch = Scratch::new()?;
    let lua = scratch.put(
        &format!("{}.lua", t.proto),
        &std::fs::read(&source).map_err(|e| e.to_string())?,
    )?;
    let vectors = root().join(t.vectors);
    let cases = cases(&vectors)?;
    let mut writer = PcapWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    let dst = SocketAddrV4::new(*DST.ip(), t.port);
    for (i, c) in cases.iter().enumerate() {
        writer
            .write(
                1_700_000_000_000_000_000 + i as u64 * 1_000,
                SRC,
                dst,
                &c.bytes,
            )
            .map_err(|e| e.to_string())?;
    }
    let pcap = scratch.put("vectors.pcap", &writer.into_inner())?;
    let empty = scratch.put(
        "empty.pcap",
        &PcapWriter::new(Vec::new())
            .map_err(|e| e.to_string())?
            .into_inner(),
    )?;
    tshark(&scratch, &lua, &empty, &[])?;
    let values = values_listed(t, &lua)?;
    let mut args = vec!["-T", "pdml"];
    if let Some(d) = t.decode_as {
        args.extend(["-d", d]);
    }
    let pdml = tshark(&scratch, &lua, &pcap, &args)?;
    let packets = packets(&pdml);
    if packets.len() != cases.len() {
        return Err(format!(
            "{} packets dissected, {} written",
            packets.len(),
            cases.len()
        ));
    }
    let layout = layout(&vectors)?;
    let (mut messages, mut errors, mut empty) = (0, 0, 0);
    for (c, fields) in cases.iter().zip(&packets) {
        // Wireshark calls no dissector on an empty UDP payload: the vector's error (MoldUDP64's
        // BadFrame for a datagram without its header) cannot show. Such a packet must show
        // nothing of the protocol.
        if c.bytes.is_empty() {
            if fields.iter().any(|f| f.name.starts_with(t.proto)) {
                return Err(format!(
                    "{}: an empty datagram shows fields of {}",
                    c.name, t.proto
                ));
            }
            empty += 1;
            continue;
        }
        let result = match &c.expect {
            Expect::Message(json) => {
                messages += 1;
                check_message(t, json, fields, &layout)
            }
            Expect::Results(expect) => {
                errors += expect.iter().filter(|r| r.get("error").is_some()).count();
                check_errors(t, expect, fields)
            }
        };
        result.map_err(|e| format!("{}: {e}", c.name))?;
    }
    Ok(format!(
        "{}: luac5.2 -p and an empty capture: no Lua error; tshark -G values lists all {values} enumeration values of the schema's fields; {messages} message vectors shown field by field at the layout's offsets; {} datagram and error vectors with their {errors} errors as expert items of the same kind, offset and field; {empty} empty datagrams, on which Wireshark calls no dissector, show nothing",
        t.lua,
        cases.len() - messages - empty
    ))
}

/// One way to damage a datagram of the simulator's capture, and the error it must give.
const DAMAGES: [&str; 6] = [
    "BadChecksum",
    "BadMagic",
    "BadLength",
    "Truncated",
    "UnsupportedVersion",
    "UnknownType",
];

/// Damages the first message of `payload` the `k`th way (see [`DAMAGES`]).
fn damage(payload: &mut Vec<u8>, k: usize) {
    let p = &rltop::PROTOCOL;
    match k % DAMAGES.len() {
        // A body byte: the checksum no longer holds.
        0 => payload[p.header_size] ^= 0x5A,
        1 => payload[p.magic_offset] ^= 0xFF,
        2 => payload[p.length_offset] = payload[p.length_offset].wrapping_add(1),
        3 => payload.truncate(p.header_size + 3),
        4 => payload[p.version_offset] = 0,
        // A code of no channel's range.
        _ => payload[p.type_offset] = 0x6F,
    }
}

/// `v` × 10^`e` as a decimal string.
fn scaled(v: &str, e: i32) -> String {
    let (sign, digits) = v.strip_prefix('-').map_or(("", v), |d| ("-", d));
    if e >= 0 {
        return format!("{sign}{digits}{}", "0".repeat(e as usize));
    }
    let places = (-e) as usize;
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (whole, frac) = padded.split_at(padded.len() - places);
    format!("{sign}{whole}.{frac}")
}

/// Each field of a `Price` or `Quantity` type, by filter name, with which it is.
fn scaled_fields() -> Result<HashMap<String, bool>, String> {
    let path = root().join("schema/rltop.rlt");
    let model = rltop_codegen::check_file(&path, "schema/rltop.rlt")
        .map_err(|e| e.to_string())?
        .into_model()?;
    let s = &model.schema;
    let mut out = HashMap::new();
    for (r, l) in s.messages.iter().zip(model.layout.messages.iter()) {
        for leaf in &l.leaves {
            let Some(alias) = leaf.alias.map(|a| s.aliases[a].name.as_str()) else {
                continue;
            };
            if alias != "Price" && alias != "Quantity" {
                continue;
            }
            let bare: Vec<&str> = leaf
                .path
                .split('.')
                .map(|p| p.split('[').next().unwrap_or(p))
                .collect();
            out.insert(
                format!("rltop.{}.{}", snake(&r.name), bare.join(".")),
                alias == "Price",
            );
        }
    }
    Ok(out)
}

/// The prices and quantities shown with a decimal, each checked against the exponent the
/// instrument's definition (earlier in the capture) gives: how many were checked.
fn check_decimals(packets: &[Vec<Field>]) -> Result<usize, String> {
    let kinds = scaled_fields()?;
    let mut exponents: HashMap<String, (i32, i32)> = HashMap::new();
    let mut checked = 0;
    for packet in packets {
        // Each message: from its subtree's `rltop` item to the next.
        let starts: Vec<usize> = (0..packet.len())
            .filter(|&i| packet[i].name == "rltop" && packet[i].showname.contains(", seq "))
            .chain([packet.len()])
            .collect();
        for w in starts.windows(2) {
            let message = &packet[w[0]..w[1]];
            let faulty = !experts(&RLTOP, message).is_empty();
            let symbol = message
                .iter()
                .find(|f| f.name.ends_with(".symbol_id"))
                .map(|f| f.show.clone())
                .unwrap_or_default();
            let exp = |name: &str| {
                message
                    .iter()
                    .find(|f| f.name.ends_with(name))
                    .and_then(|f| f.show.parse::<i32>().ok())
            };
            // A damaged definition teaches nothing (the dissector does not learn from it).
            if let (false, Some(p), Some(q)) = (
                faulty,
                exp("instrument_definition.price_exponent"),
                exp("instrument_definition.quantity_exponent"),
            ) {
                exponents.insert(symbol.clone(), (p, q));
            }
            for f in message {
                let Some((_, shown)) = f.showname.rsplit_once(" (") else {
                    continue;
                };
                let Some(shown) = shown.strip_suffix(')').filter(|d| d.contains('.')) else {
                    continue;
                };
                let Some(&is_price) = kinds.get(&f.name) else {
                    return Err(format!(
                        "{} shows {shown} but is neither a Price nor a Quantity",
                        f.name
                    ));
                };
                let Some(&(price, quantity)) = exponents.get(&symbol) else {
                    return Err(format!(
                        "{} shows {shown} before its instrument's definition",
                        f.name
                    ));
                };
                let e = if is_price { price } else { quantity };
                if shown != scaled(&f.show, e) {
                    return Err(format!(
                        "{}: {} shown as {shown}, 10^{e} makes {}",
                        f.name,
                        f.show,
                        scaled(&f.show, e)
                    ));
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// (frame, kind, offset) of every ERROR line of `rltop dump`.
fn dump_errors(rltop: &Path, pcap: &Path) -> Result<Vec<(usize, String, usize)>, String> {
    let out = Command::new(rltop)
        .arg("dump")
        .arg(pcap)
        .output()
        .map_err(|e| format!("cannot run rltop dump: {e}"))?;
    let mut errors = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((head, rest)) = line.split_once(" ERROR ") else {
            continue;
        };
        let frame: usize = head
            .trim_start_matches('#')
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or(line)?;
        let (kind, rest) = rest.split_once(" offset=").ok_or(line)?;
        let offset: usize = rest
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or(line)?;
        errors.push((frame + 1, kind.to_string(), offset));
    }
    Ok(errors)
}

/// The datagrams of a simulator capture `rltop sim ARGS` writes into `scratch`.
fn simulate(
    rltop: &Path,
    scratch: &Scratch,
    args: &[&str],
) -> Result<Vec<rltop_capture::Packet>, String> {
    let sim = scratch.0.join("sim.pcap");
    let out = Command::new(rltop)
        .arg("sim")
        .args(args)
        .arg("--out")
        .arg(&sim)
        .output()
        .map_err(|e| format!("cannot run rltop sim: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rltop sim: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let file = std::fs::File::open(&sim).map_err(|e| e.to_string())?;
    let mut reader =
        rltop_capture::PcapReader::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    let mut packets = Vec::new();
    while let Some(p) = reader.next_packet().map_err(|e| e.to_string())? {
        packets.push(p);
    }
    Ok(packets)
}

/// The check: a simulator capture of several seconds, every 40th datagram damaged one of six
/// ways, dissects without a Lua error, and its expert items are `rltop dump`'s errors: the
/// same kinds at the same offsets in the same frames.
pub fn simulator_capture_with_damage(rltop: &Path) -> Result<String, String> {
    let scratch = Scratch::new()?;
    let sim = simulate(rltop, &scratch, &["--events", "20000", "--quiet-tail", "3"])?;
    let mut writer = PcapWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    let (mut n, mut damaged, mut first, mut last) = (0, 0, u64::MAX, 0);
    for mut p in sim {
        if n % 40 == 7 {
            damage(&mut p.payload, damaged);
            damaged += 1;
        }
        (first, last) = (first.min(p.time_ns), last.max(p.time_ns));
        writer
            .write(p.time_ns, p.src, p.dst, &p.payload)
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    let pcap = scratch.put("damaged.pcap", &writer.into_inner())?;
    let source = root().join("generated/wireshark/rltop.lua");
    let lua = scratch.put(
        "rltop.lua",
        &std::fs::read(&source).map_err(|e| e.to_string())?,
    )?;
    let pdml = tshark(&scratch, &lua, &pcap, &["-T", "pdml"])?;
    if pdml.contains("Lua Error") {
        let at = pdml.find("Lua Error").unwrap_or(0);
        return Err(format!(
            "a Lua error in the dissection: {}",
            &pdml[at..(at + 300).min(pdml.len())]
        ));
    }
    let packets = packets(&pdml);
    let mut ours = Vec::new();
    for (i, fields) in packets.iter().enumerate() {
        ours.extend(
            experts(&RLTOP, fields)
                .into_iter()
                .map(|(kind, offset, _)| (i + 1, kind, offset)),
        );
    }
    let theirs = dump_errors(rltop, &pcap)?;
    if let Some(k) = (0..ours.len().max(theirs.len())).find(|&k| ours.get(k) != theirs.get(k)) {
        return Err(format!(
            "expert item {k} is {:?}, rltop dump's error is {:?} ({} against {})",
            ours.get(k),
            theirs.get(k),
            ours.len(),
            theirs.len()
        ));
    }
    let decimals = check_decimals(&packets)?;
    if decimals == 0 {
        return Err("no price or quantity was shown with its decimal".into());
    }
    let count = |kind: &str| theirs.iter().filter(|(_, k, _)| k == kind).count();
    let by_kind: Vec<String> = DAMAGES
        .iter()
        .map(|k| format!("{k} {}", count(k)))
        .collect();
    Ok(format!(
        "{n} datagrams over {:.1} s of simulated market, {damaged} damaged: no Lua error; {} expert items, the same frames, kinds and offsets as rltop dump's errors ({}); {decimals} prices and quantities shown with the decimal their instrument's definition gives",
        (last - first) as f64 / 1e9,
        ours.len(),
        by_kind.join(", ")
    ))
}

/// `text` for HTML: the one escaper of this page (tshark's text holds what came off the wire).
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push_str(&format!("&#x{:x};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The check, and the README's picture: two datagrams of the simulator's increments, the
/// second with its first message damaged, dissected by tshark (`-V -O rltop`), laid out as a
/// page and photographed by headless Chromium into `target/e2e/wireshark-rltop.png`
/// (docs/wireshark-rltop.png is a copy).
pub fn screenshot(rltop: &Path, dir: &Path) -> Result<String, String> {
    rltop_devsupport::debian::ensure_debian(&[("chromium", "chromium")])?;
    let scratch = Scratch::new()?;
    let sim = simulate(
        rltop,
        &scratch,
        &[
            "--instruments",
            "2",
            "--events",
            "60",
            "--quiet-tail",
            "0",
            "--symbols",
            "BTCUSDT,ETHUSDT",
        ],
    )?;
    let mut writer = PcapWriter::new(Vec::new()).map_err(|e| e.to_string())?;
    let mut kept = 0;
    for mut p in sim {
        let messages = p.payload.len() / 128;
        if p.dst.port() != DST.port() || !(2..=3).contains(&messages) {
            continue;
        }
        if kept == 1 {
            damage(&mut p.payload, 0);
        }
        writer
            .write(p.time_ns, p.src, p.dst, &p.payload)
            .map_err(|e| e.to_string())?;
        kept += 1;
        if kept == 2 {
            break;
        }
    }
    let pcap = scratch.put("shot.pcap", &writer.into_inner())?;
    let source = root().join("generated/wireshark/rltop.lua");
    let lua = scratch.put(
        "rltop.lua",
        &std::fs::read(&source).map_err(|e| e.to_string())?,
    )?;
    let text = tshark(&scratch, &lua, &pcap, &["-V", "-O", "rltop"])?;
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>RLTOP in tshark</title>\
         <body style=\"margin:0;background:#fff;font:13px/1.35 'DejaVu Sans Mono',monospace\">\
         <div style=\"background:#dde5ee;padding:6px 12px;border-bottom:1px solid #9ab\">\
         $ tshark -X lua_script:generated/wireshark/rltop.lua -r capture.pcap -V -O rltop</div>\
         <pre style=\"margin:0;padding:10px 12px\">{}</pre></body>",
        html_escape(&text)
    );
    let html = dir.join("wireshark-rltop.html");
    std::fs::write(&html, page).map_err(|e| format!("{}: {e}", html.display()))?;
    let png = dir.join("wireshark-rltop.png");
    let _ = std::fs::remove_file(&png);
    let out = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1100,2150")
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| format!("cannot run chromium: {e}"))?;
    let bytes = std::fs::read(&png).map_err(|e| {
        format!(
            "chromium wrote no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 20_000 {
        return Err(format!(
            "{} is not a picture of the page ({} bytes)",
            png.display(),
            bytes.len()
        ));
    }
    let messages = text.matches("session ").count();
    Ok(format!(
        "{messages} messages of {kept} datagrams, one damaged, dissected (-V -O rltop) and photographed: {} ({} bytes)",
        png.display(),
        bytes.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_written_as_tshark_writes_it() {
        assert_eq!(utc(741), "Jan  1, 1970 00:00:00.000000741 UTC");
        // 2026-12-07 17:00:00.5 UTC.
        assert_eq!(
            utc(1_796_662_800_500_000_000),
            "Dec  7, 2026 17:00:00.500000000 UTC"
        );
        assert_eq!(
            utc(951_782_400_000_000_000),
            "Feb 29, 2000 00:00:00.000000000 UTC"
        );
    }

    #[test]
    fn scaled_integers_are_written_as_decimals() {
        assert_eq!(scaled("13324", -2), "133.24");
        assert_eq!(scaled("-5", -3), "-0.005");
        assert_eq!(scaled("7", 2), "700");
        assert_eq!(scaled("0", -1), "0.0");
    }

    #[test]
    fn html_is_escaped_whatever_the_wire_held() {
        assert_eq!(
            html_escape("<script>\"x\" & 'y'</script>\u{1b}[31m\n"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;&#x1b;[31m\n"
        );
    }

    #[test]
    fn xml_escapes_are_undone() {
        assert_eq!(unescape("a&quot;b&amp;&lt;&gt;&#x41;&#66;"), "a\"b&<>AB");
    }
}
