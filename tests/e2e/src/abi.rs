//! `rltop-codegen compat` against an independent judge of struct layouts: libabigail's
//! `abidiff`, on the C headers generated from the same two schemas. Each case edits
//! schema/rltop.rlt once (or takes RLTOP version 2); both headers are compiled with `-g`
//! into a library exporting one variable of every struct, and abidiff compares the two.
//!
//! The two must agree on which C structs are added, removed, and changed in layout: a named
//! member moved, resized, retyped or deleted, or the struct resized (reserved members,
//! insertions and renames are not layout breaks). compat's side is its record-level
//! findings of those rules, carried to every struct that embeds a changed one, as abidiff
//! carries them. One difference is known and asserted: an enumeration field retyped to its
//! own integer (`side: Side` → `side: u8`) changes the wire's meaning, not the C type, which
//! is `uint8_t` both times.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use rltop_codegen::compat::{self, RuleId};
use rltop_codegen::model::{StructId, Ty};
use rltop_codegen::{Banner, Model};
use rltop_devsupport::root;

/// What changed between two headers, by C struct name.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
    broken: BTreeSet<String>,
}

/// The findings that change a struct's layout in C.
const LAYOUT: [RuleId; 8] = [
    RuleId::FIELD_MOVED,
    RuleId::FIELD_RESIZED,
    RuleId::FIELD_SIGN_CHANGED,
    RuleId::FIELD_TYPE_CHANGED,
    RuleId::ARRAY_LENGTH_CHANGED,
    RuleId::MESSAGE_SIZE_CHANGED,
    RuleId::FIELD_REPLACED,
    RuleId::FIELD_REMOVED,
];

/// One edit of RLTOP's schema: a name, the text replaced and its replacement.
type Case = (&'static str, &'static str, &'static str);

const CASES: [Case; 11] = [
    (
        "field moved (header)",
        "    session_id: u64,\n    /// Per-session sequence number, +1 for every message; a hole is a lost message.\n    seq_num: u64,",
        "    seq_num: u64,\n    /// Per-session sequence number, +1 for every message; a hole is a lost message.\n    session_id: u64,",
    ),
    (
        "field resized",
        "    level_order_count: u32,\n    _reserved2: reserved[36],",
        "    level_order_count: u64,\n    _reserved2: reserved[32],",
    ),
    (
        "sign changed",
        "    trade_count: u32,\n    _reserved2: reserved[16],",
        "    trade_count: i32,\n    _reserved2: reserved[16],",
    ),
    (
        "sign changed in an embedded struct",
        "    order_count: u32,\n    _reserved: reserved[4],",
        "    order_count: i32,\n    _reserved: reserved[4],",
    ),
    (
        "array length changed",
        "    trades: [TradeEntry; 5],\n    _reserved2: reserved[8],",
        "    trades: [TradeEntry; 4],\n    _reserved2: reserved[48],",
    ),
    (
        "message size changed",
        "size 64 channel Statistics {\n    header: MessageHeader,\n    /// The channel this heartbeat was published on.\n    channel: Channel,\n    _reserved1: reserved[3],\n    /// The publisher's heartbeat interval.\n    interval_ms: u32,\n    _reserved2: reserved[16],",
        "size 72 channel Statistics {\n    header: MessageHeader,\n    /// The channel this heartbeat was published on.\n    channel: Channel,\n    _reserved1: reserved[3],\n    /// The publisher's heartbeat interval.\n    interval_ms: u32,\n    _reserved2: reserved[24],",
    ),
    (
        "field replaced",
        "    maker_order_id: OrderId,\n",
        "    maker_firm: u32,\n    maker_desk: u32,\n",
    ),
    (
        "field removed",
        "    taker_order_id: OrderId,\n    _reserved2: reserved[40],",
        "    _reserved2: reserved[48],",
    ),
    (
        "field renamed (not a break)",
        "    order_book_seq: BookSeq,\n    order_id: OrderId,\n    symbol_id: SymbolId,\n    side: Side,\n    flags: OrderFlags,",
        "    book_seq: BookSeq,\n    order_id: OrderId,\n    symbol_id: SymbolId,\n    side: Side,\n    flags: OrderFlags,",
    ),
    (
        "enumeration value added (not a break)",
        "    Closed = 4,\n}",
        "    Closed = 4,\n    Auction = 5,\n}",
    ),
    (
        "enumeration retyped to its integer (the same C type)",
        "    side: Side,\n    flags: OrderFlags,",
        "    side: u8,\n    flags: OrderFlags,",
    ),
];

pub fn abidiff_agrees_with_compat(dir: &Path) -> Result<String, String> {
    let root = root();
    let v1_text = read(&root.join("schema/rltop.rlt"))?;
    let dir = dir.join("abi");
    let _ = std::fs::remove_dir_all(&dir);
    let v1 = model("rltop.rlt", &v1_text)?;
    let old_lib = library(&dir.join("v1"), &v1)?;
    let mut pairs = vec![(
        "RLTOP version 2".to_string(),
        read(&root.join("schema/examples/rltop-v2.rlt"))?,
    )];
    for (name, from, to) in CASES {
        if v1_text.matches(from).count() != 1 {
            return Err(format!(
                "case `{name}`: its text is not in schema/rltop.rlt exactly once"
            ));
        }
        pairs.push((name.to_string(), v1_text.replacen(from, to, 1)));
    }
    let mut report = String::new();
    for (i, (name, text)) in pairs.iter().enumerate() {
        let new = model(name, text)?;
        let by_compat = compat_changes(&v1, &new);
        let lib = library(&dir.join(format!("case{i}")), &new)?;
        let by_abidiff = abidiff(&old_lib, &lib)?;
        let known = name.starts_with("enumeration retyped");
        let agree = if known {
            by_abidiff == Changes::default()
                && by_compat.broken == BTreeSet::from(["rltop_add_order".to_string()])
        } else {
            by_compat == by_abidiff
        };
        if !agree {
            return Err(format!(
                "`{name}`: compat and abidiff disagree\n  compat:  {by_compat:?}\n  abidiff: {by_abidiff:?}"
            ));
        }
        let _ = writeln!(
            report,
            "{name}: {} added, {} removed, {} changed in layout{}",
            by_abidiff.added.len(),
            by_abidiff.removed.len(),
            by_abidiff.broken.len(),
            if known {
                " by abidiff (compat: rltop_add_order, as expected)"
            } else {
                " (both)"
            }
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn model(name: &str, text: &str) -> Result<Model, String> {
    rltop_codegen::check(name, text).into_model()
}

/// compat's view, in C struct names: layout findings carried to the structs that embed
/// them, messages added and removed.
fn compat_changes(old: &Model, new: &Model) -> Changes {
    let findings = compat::compare(&old.laid(), &new.laid());
    let of = |rule: RuleId| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .filter_map(|f| f.record.clone())
            .collect()
    };
    let mut broken: BTreeSet<String> = findings
        .iter()
        .filter(|f| LAYOUT.contains(&f.rule))
        .filter_map(|f| f.record.clone())
        .collect();
    // A struct embedding a changed one changes too, as its C declaration does.
    let s = &new.schema;
    loop {
        let before = broken.len();
        for r in s.structs.iter().chain(s.messages.iter()) {
            let embeds = r
                .fields
                .iter()
                .any(|f| embedded(&f.ty).is_some_and(|id| broken.contains(&s.structs[id].name)));
            if embeds {
                broken.insert(r.name.clone());
            }
        }
        if broken.len() == before {
            break;
        }
    }
    let c = |set: BTreeSet<String>| {
        set.iter()
            .map(|n| format!("rltop_{}", rltop_codegen::case::snake(n)))
            .collect()
    };
    Changes {
        added: c(of(RuleId::MESSAGE_ADDED)),
        removed: c(of(RuleId::MESSAGE_REMOVED)),
        broken: c(broken),
    }
}

/// The struct a field's type embeds, directly or as an array's element.
fn embedded(ty: &Ty) -> Option<StructId> {
    match ty {
        Ty::Struct(id) => Some(*id),
        Ty::Array(element, _) => embedded(element),
        _ => None,
    }
}

/// The schema's C header, and a library with debug information exporting one variable of
/// each of its structs (`abi_<struct>`), in `dir`.
fn library(dir: &Path, model: &Model) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let header = rltop_codegen::c::header(model, &Banner::new("rltop-e2e", "abi"));
    let mut probe = String::from("#include \"rltop.h\"\n");
    for line in header.lines() {
        // `typedef struct rltop_x rltop_x;`
        let Some(rest) = line.strip_prefix("typedef struct ") else {
            continue;
        };
        let Some(name) = rest.split(' ').next() else {
            continue;
        };
        let _ = writeln!(probe, "{name} abi_{name};");
    }
    std::fs::write(dir.join("rltop.h"), header).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("probe.c"), probe).map_err(|e| e.to_string())?;
    let lib = dir.join("libprobe.so");
    let out = Command::new("gcc")
        .args(["-g", "-shared", "-fPIC", "-I"])
        .arg(dir)
        .arg(dir.join("probe.c"))
        .arg("-o")
        .arg(&lib)
        .output()
        .map_err(|e| format!("cannot run gcc: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "gcc on {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(lib)
}

/// abidiff's view: `[A]`, `[D]` and `[C]` variables, a `[C]` counted when its struct has a
/// layout break ([`Report::read`]).
fn abidiff(old: &Path, new: &Path) -> Result<Changes, String> {
    let out = Command::new("abidiff")
        .arg("--redundant")
        .args([old, new])
        .output()
        .map_err(|e| format!("cannot run abidiff: {e}"))?;
    // Bit 0: abidiff's own error; bit 1: usage error (bits 2 and 3 are ABI changes).
    if out.status.code().is_none_or(|c| c & 3 != 0) {
        return Err(format!(
            "abidiff failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut report = Report::default();
    report.read(&String::from_utf8_lossy(&out.stdout));
    let broken = report.broken();
    Ok(Changes {
        added: report.added,
        removed: report.removed,
        broken: report
            .changed
            .into_iter()
            .filter(|s| broken.contains(s))
            .collect(),
    })
}

/// abidiff's text, read into which structs it reports and which of them have a layout
/// break: their size changed, or a named member (not `_reserved…`) was deleted, moved or
/// given another type. A struct's details are printed once; elsewhere it is "reported
/// earlier", which makes a dependency on that struct.
#[derive(Default)]
struct Report {
    added: BTreeSet<String>,
    removed: BTreeSet<String>,
    changed: BTreeSet<String>,
    breaks: BTreeSet<String>,
    /// (struct, struct whose break is its break)
    depends: Vec<(String, String)>,
}

impl Report {
    fn read(&mut self, text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        // The structs the line being read is inside: (indent, name), the variable's first.
        let mut context: Vec<(usize, String)> = Vec::new();
        let mut deleting = false;
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if let Some((k, name)) = variable(t) {
                context = vec![(indent, name.clone())];
                match k {
                    'A' => self.added.insert(name),
                    'D' => self.removed.insert(name),
                    _ => self.changed.insert(name),
                };
                continue;
            }
            while context.len() > 1 && context.last().is_some_and(|(d, _)| *d >= indent) {
                context.pop();
            }
            let here: Vec<String> = context.iter().map(|(_, n)| n.clone()).collect();
            if let Some(rest) = t.strip_prefix("underlying type 'struct ") {
                context.push((indent, rest.split('\'').next().unwrap_or("").to_string()));
                continue;
            }
            if t.ends_with(':') && !t.starts_with('\'') && !t.starts_with("type of") {
                deleting = t.contains("deletion");
            }
            let next_is_struct = lines
                .get(i + 1)
                .is_some_and(|n| n.trim_start().starts_with("underlying type 'struct "));
            let broke = if t.starts_with("type size changed") {
                true
            } else if let Some(decl) = t.strip_prefix("type of '") {
                let (ty, member) = split_decl(decl);
                if t.ends_with("as reported earlier") {
                    for s in &here {
                        self.depends.push((s.clone(), ty.clone()));
                    }
                    false
                } else {
                    !next_is_struct && named(&member)
                }
            } else if let Some(rest) = t.strip_prefix("type 'typedef ") {
                let ty = rest.split('\'').next().unwrap_or("").to_string();
                for s in &here {
                    self.depends.push((s.clone(), ty.clone()));
                }
                false
            } else if let Some(decl) = t.strip_prefix('\'') {
                named(&split_decl(decl).1) && (deleting || t.contains("offset changed"))
            } else {
                false
            };
            if broke {
                self.breaks.extend(here);
            }
        }
    }

    /// Every struct with a break of its own or of a struct it depends on.
    fn broken(&self) -> BTreeSet<String> {
        let mut broken = self.breaks.clone();
        loop {
            let before = broken.len();
            for (s, on) in &self.depends {
                if broken.contains(on) {
                    broken.insert(s.clone());
                }
            }
            if broken.len() == before {
                return broken;
            }
        }
    }
}

/// `[C] 'rltop_trade abi_rltop_trade' was changed …`: the kind and the variable's type.
fn variable(t: &str) -> Option<(char, String)> {
    let k = ['A', 'D', 'C']
        .into_iter()
        .find(|k| t.starts_with(&format!("[{k}] '")))?;
    Some((k, t[5..].split(' ').next().unwrap_or("").to_string()))
}

/// `rltop_price_level bids[10]'…` → (`rltop_price_level`, `bids`).
fn split_decl(decl: &str) -> (String, String) {
    let decl = decl.split('\'').next().unwrap_or("");
    let (ty, member) = decl.rsplit_once(' ').unwrap_or(("", decl));
    (
        ty.to_string(),
        member.split('[').next().unwrap_or("").to_string(),
    )
}

/// A member that carries data (reserved runs are named `_…`).
fn named(member: &str) -> bool {
    !member.is_empty() && !member.starts_with('_')
}
