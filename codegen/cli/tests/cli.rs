//! The `rltop-codegen` binary as a user runs it: exit statuses, diagnostics, and the proof
//! that it and `cargo xtask gen` share one path (its output for schema/rltop.rlt is the
//! checked-in generated/ byte for byte).

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A schema of one's own: two messages.
const QUOTES: &str = "\
/// Two messages.
protocol Quotes {
    version 1;
    byte_order little;
    magic 0x53544F51;
    checksum crc32c over message;
    header Hdr { magic = magic; length = length; type = kind; version = version; session = session; sequence = seq; timestamp = ts; checksum = crc; }
}
channel Main = 1 types 0x01..=0x0F;
enum Side: u8 { Bid = 1, Ask = 2 }
struct Hdr size 40 { magic: u32, length: u16, kind: u8, version: u8, session: u64, seq: u64, ts: u64, crc: u32, _r: reserved[4] }
message Quote type 0x01 size 64 channel Main { header: Hdr, instrument: u32, side: Side, _r: reserved[3], price: i64, quantity: u64 }
message Status type 0x02 size 48 channel Main { header: Hdr, open: u8, _r: reserved[7] }
";

/// A fresh, empty directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-codegen-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_and_version_succeed() {
    for args in [&["--help"][..], &["gen", "--help"], &["--version"]] {
        let out = run(&root(), args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    }
    let help = stdout(&run(&root(), &["--help"]));
    for verb in ["check", "layout", "gen", "Exit status"] {
        assert!(help.contains(verb), "--help lacks {verb}:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frob"],
        &["check"],
        &["gen", "schema/rltop.rlt"],
        &["gen", "schema/rltop.rlt", "--crate-name", "x", "--c", "x.h"],
        &["layout", "a.rlt", "b.rlt"],
    ] {
        let out = run(&root(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn an_unreadable_schema_exits_2_and_says_which() {
    let dir = scratch("unreadable");
    for args in [
        &["check", "missing.rlt"][..],
        &["layout", "missing.rlt"],
        &["gen", "missing.rlt", "--c", "out.h"],
    ] {
        let out = run(&dir, args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("cannot read schema missing.rlt") && err.contains("No such file"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.join("out.h").exists());
}

#[test]
fn an_unwritable_output_exits_2() {
    let dir = scratch("unwritable");
    fs::write(dir.join("quotes.rlt"), QUOTES).unwrap();
    // A directory cannot be made under a file.
    let out = run(&dir, &["gen", "quotes.rlt", "--c", "quotes.rlt/quotes.h"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("error: cannot create quotes.rlt"),
        "{}",
        stderr(&out)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_every_error_of_the_draft_with_the_literal_sum() {
    let out = run(
        &root(),
        &[
            "check",
            "schema/examples/seed-draft.rlt",
            "schema/rltop.rlt",
        ],
    );
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("message `AddOrder` declares 128 bytes but its fields sum to 116"),
        "{err}"
    );
    assert!(err.contains("--> schema/examples/seed-draft.rlt:"), "{err}");
    assert!(
        err.contains("error: schema/examples/seed-draft.rlt rejected: 8 errors"),
        "{err}"
    );
    // The other file is still checked and reported.
    assert!(stdout(&out).contains("schema/rltop.rlt: ok: 27 messages"));
}

#[test]
fn check_and_layout_accept_a_valid_schema() {
    let dir = scratch("layout");
    fs::write(dir.join("quotes.rlt"), QUOTES).unwrap();
    let out = run(&dir, &["check", "quotes.rlt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("quotes.rlt: ok: 2 messages"));
    let out = run(&dir, &["layout", "quotes.rlt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let tables = stdout(&out);
    assert!(
        tables.contains("message Quote (type 0x01, channel Main)"),
        "{tables}"
    );
    let draft = root().join("schema/examples/seed-draft.rlt");
    let out = run(&dir, &["layout", draft.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
}

/// Every file under `dir`, relative to it, but for what pip leaves in a package's tree.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !(matches!(name.as_str(), "__pycache__" | "build" | "dist")
                    || name.ends_with(".egg-info"))
                {
                    stack.push(p);
                }
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The same files under both directories, byte for byte, but for `except`.
fn assert_same_tree(produced: &Path, checked_in: &Path, except: &[&str]) {
    let compared = |dir: &Path| -> Vec<PathBuf> {
        files_under(dir)
            .into_iter()
            .filter(|p| !except.iter().any(|e| p == Path::new(e)))
            .collect()
    };
    let (ours, theirs) = (compared(produced), compared(checked_in));
    assert_eq!(
        ours,
        theirs,
        "{} vs {}",
        produced.display(),
        checked_in.display()
    );
    for rel in ours {
        let (a, b) = (produced.join(&rel), checked_in.join(&rel));
        assert!(
            fs::read(&a).unwrap() == fs::read(&b).unwrap(),
            "{} differs from {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn gen_of_the_rltop_schema_is_the_checked_in_generated_tree() {
    let out_dir = scratch("rltop");
    let o = |rel: &str| out_dir.join(rel).to_string_lossy().into_owned();
    let (rust, c, python, vectors) = (o("rust"), o("c/rltop.h"), o("python"), o("vectors"));
    let lua = o("wireshark/rltop.lua");
    let out = run(
        &root(),
        &[
            "gen",
            "schema/rltop.rlt",
            "--generated-by",
            "cargo xtask gen",
            "--rust",
            &rust,
            "--c",
            &c,
            "--python",
            &python,
            "--vectors",
            &vectors,
            "--lua",
            &lua,
            "--udp-ports",
            "9001-9004",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let root = root();
    assert_same_tree(
        &out_dir.join("wireshark"),
        &root.join("generated/wireshark"),
        &[],
    );
    // The manifest differs by design: the repository's inherits from the workspace.
    assert_same_tree(
        &out_dir.join("rust"),
        &root.join("generated/rust"),
        &["Cargo.toml"],
    );
    assert_same_tree(&out_dir.join("c"), &root.join("generated/c"), &[]);
    assert_same_tree(&out_dir.join("python"), &root.join("generated/python"), &[]);
    // Stream scenarios are RLTOP's own, generated by `cargo xtask gen` alone.
    assert_same_tree(
        &out_dir.join("vectors"),
        &root.join("conformance/vectors"),
        &["streams.json"],
    );
    let manifest = fs::read_to_string(out_dir.join("rust/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"rltop\""), "{manifest}");
    let _ = fs::remove_dir_all(&out_dir);
}

#[test]
fn gen_names_rltop_codegen_and_the_schema_in_its_banners() {
    let dir = scratch("banner");
    fs::write(dir.join("quotes.rlt"), QUOTES).unwrap();
    let out = run(
        &dir,
        &["gen", "quotes.rlt", "--rust", "rs", "--c", "quotes.h"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let manifest = fs::read_to_string(dir.join("rs/Cargo.toml")).unwrap();
    assert!(manifest
        .starts_with("# @generated by `rltop-codegen` from the Quotes schema — do not edit.\n"));
    assert!(manifest.contains("name = \"quotes\""), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "rltop-runtime = \"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{manifest}"
    );
    let lib = fs::read_to_string(dir.join("rs/src/lib.rs")).unwrap();
    assert!(lib.starts_with("// @generated by `rltop-codegen` from the Quotes schema — do not edit.\n// Edit the schema and run `rltop-codegen` again.\n"));
    let header = fs::read_to_string(dir.join("quotes.h")).unwrap();
    assert!(
        header.starts_with("/* @generated by `rltop-codegen` from quotes.rlt — do not edit. */\n")
    );
    let out = run(
        &dir,
        &[
            "gen",
            "quotes.rlt",
            "--rust",
            "rs2",
            "--crate-name",
            "my-quotes",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let manifest = fs::read_to_string(dir.join("rs2/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"my-quotes\""), "{manifest}");
    let out = run(
        &dir,
        &[
            "gen",
            "quotes.rlt",
            "--rust",
            "rs3",
            "--crate-name",
            "9 lives",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not a valid crate name"));
    assert!(!dir.join("rs3").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_rejected_schema_generates_nothing_and_exits_1() {
    let dir = scratch("rejected");
    fs::write(
        dir.join("bad.rlt"),
        QUOTES.replace("Status type 0x02 size 48", "Status type 0x02 size 56"),
    )
    .unwrap();
    let out = run(&dir, &["gen", "bad.rlt", "--rust", "rs", "--vectors", "v"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("declares 56 bytes but its fields sum to 48") && err.contains("--> bad.rlt:"),
        "{err}"
    );
    assert!(!dir.join("rs").exists() && !dir.join("v").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn check_mode_reports_drift_and_writes_nothing() {
    let dir = scratch("drift");
    fs::write(dir.join("quotes.rlt"), QUOTES).unwrap();
    let args = [
        "gen",
        "quotes.rlt",
        "--rust",
        "rs",
        "--c",
        "q.h",
        "--python",
        "py",
        "--vectors",
        "v",
    ];
    let check: Vec<&str> = args.iter().copied().chain(["--check"]).collect();
    // Nothing written yet: every file is missing, and --check writes none of them.
    let out = run(&dir, &check);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("q.h is missing"), "{}", stderr(&out));
    assert!(!dir.join("q.h").exists());
    assert_eq!(code(&run(&dir, &args)), 0);
    let out = run(&dir, &check);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("up to date: "));
    // A hand edit and a deleted file are both drift, and both are named.
    let lib = dir.join("rs/src/lib.rs");
    let mut text = fs::read_to_string(&lib).unwrap();
    text.push_str("// edited by hand\n");
    fs::write(&lib, &text).unwrap();
    fs::remove_file(dir.join("v/errors.json")).unwrap();
    let out = run(&dir, &check);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("lib.rs differs from what the schema produces"),
        "{err}"
    );
    assert!(err.contains("errors.json is missing"), "{err}");
    assert!(err.contains("2 of "), "{err}");
    assert_eq!(fs::read_to_string(&lib).unwrap(), text, "--check wrote");
    // Writing again puts things right.
    assert_eq!(code(&run(&dir, &args)), 0);
    assert_eq!(code(&run(&dir, &check)), 0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_venue_schema_is_checked_laid_out_and_generated_and_gen_says_what_it_cannot_emit() {
    let dir = scratch("itch");
    let schema = root().join("schema/examples/itch50.rlt");
    let schema = schema.to_str().unwrap();
    let out = run(&dir, &["check", schema]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("ok: 23 messages"), "{}", stdout(&out));
    let out = run(&dir, &["layout", schema]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.starts_with(
            "/* protocol ITCH v1 (decodes v1+), big-endian, no checksum, framing moldudp64 */"
        ),
        "{table}"
    );
    assert!(table.contains("message AddOrder (type 'A') {"), "{table}");
    assert!(
        table.contains("/*     24     8 */ stock                        text[8] pad space"),
        "{table}"
    );
    // Over SoupBinTCP this version writes no vectors: gen says so and writes nothing.
    let text = fs::read_to_string(schema).unwrap();
    let soup = dir.join("soup.rlt");
    fs::write(
        &soup,
        text.replace("framing moldudp64;", "framing soupbintcp;"),
    )
    .unwrap();
    let out = run(
        &dir,
        &[
            "gen",
            soup.to_str().unwrap(),
            "--vectors",
            "v",
            "--rust",
            "out",
        ],
    );
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("the conformance vectors of `ITCH`: this version writes them for packed and MoldUDP64 framing, not SoupBinTCP"),
        "{e}"
    );
    assert!(
        !dir.join("out").exists() && !dir.join("v").exists(),
        "nothing written when any part cannot be"
    );
    let out = run(&dir, &["gen", schema, "--lua", "itch.lua"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lua = fs::read_to_string(dir.join("itch.lua")).unwrap();
    assert!(lua.contains("local FRAMING = \"moldudp64\""), "{lua}");
    let out = run(&dir, &["gen", soup.to_str().unwrap(), "--lua", "soup.lua"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("the Wireshark dissector of `ITCH`: this version reads packed and MoldUDP64 framing, not SoupBinTCP"),
        "{}",
        stderr(&out)
    );
    let out = run(&dir, &["gen", schema, "--vectors", "v"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let vectors = fs::read_to_string(dir.join("v/messages/AddOrder.json")).unwrap();
    assert!(
        vectors.contains("\"name\": \"AddOrder/typical-0\""),
        "{vectors}"
    );
    let out = run(
        &dir,
        &[
            "gen", schema, "--rust", "out", "--c", "itch.h", "--python", "py",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let header = std::fs::read_to_string(dir.join("itch.h")).unwrap();
    assert!(
        header.contains("static inline uint64_t itch_add_order_timestamp(const uint8_t *m) { return (uint64_t)itch_get_be(m + 5, 6); }"),
        "{header}"
    );
    let lib = std::fs::read_to_string(dir.join("out/src/lib.rs")).unwrap();
    assert!(lib.contains("pub struct AddOrder {"), "{lib}");
    assert!(
        lib.contains("pub timestamp: ::rltop_runtime::be::U48,"),
        "big-endian 48-bit storage: {lib}"
    );
    let messages = std::fs::read_to_string(dir.join("py/itch/messages.py")).unwrap();
    assert!(messages.contains("class AddOrder:"), "{messages}");
    let manifest = std::fs::read_to_string(dir.join("out/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"itch\""), "{manifest}");
}
