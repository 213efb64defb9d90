//! `rltop-codegen compat` as a user and a CI job run it: the exit statuses of each mode, the
//! three formats, old schemas read from git (one ref, or every tag), and the rule table the
//! docs hold.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const V1: &str = "schema/rltop.rlt";
const V2: &str = "schema/examples/rltop-v2.rlt";

/// A fresh git repository of this test's own.
fn repo(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rltop-compat-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    dir
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

/// Writes `text` as `s.rlt`, commits it, and tags the commit if `tag` is given.
fn commit(dir: &Path, text: &str, tag: Option<&str>) {
    fs::write(dir.join("s.rlt"), text).unwrap();
    git(dir, &["add", "s.rlt"]);
    git(dir, &["commit", "-q", "-m", "schema"]);
    if let Some(t) = tag {
        git(dir, &["tag", t]);
    }
}

const SMALL: &str = "\
protocol P {
    version 1;
    byte_order big;
    checksum none;
    type_code char;
}
message Quote type 'Q' size 13 {
    kind: char,
    price: u32,
    _spare: reserved[8],
}
";

#[test]
fn rltop_v2_passes_backward_and_fails_forward_and_full() {
    let out = run(&root(), &["compat", V1, V2]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("warning[ENUM_VALUE_ADDED]: enum `TradingStatus`: `Auction` is a new value, 5\n   --> schema/examples/rltop-v2.rlt:"), "{text}");
    assert!(text.ends_with("schema/rltop.rlt → schema/examples/rltop-v2.rlt (backward mode): 4 findings, 0 breaking\n"), "{text}");
    for mode in ["forward", "full"] {
        let out = run(&root(), &["compat", V1, V2, "--mode", mode]);
        assert_eq!(code(&out), 1, "{mode}");
        assert!(stdout(&out).contains("error[MESSAGE_ADDED]"), "{mode}");
    }
}

#[test]
fn except_leaves_a_rule_out_and_refuses_an_unknown_one() {
    let r = root();
    let forward = |except: &[&str]| {
        let mut args = vec!["compat", V1, V2, "--mode", "forward"];
        for rule in except {
            args.extend(["--except", rule]);
        }
        run(&r, &args)
    };
    let out = forward(&["MESSAGE_ADDED", "ENUM_VALUE_ADDED"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.ends_with("(forward mode): 2 findings, 0 breaking\n"),
        "{text}"
    );
    assert_eq!(code(&forward(&["MESSAGE_ADDED"])), 1);
    let out = forward(&["FIELD_MOVE"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--except FIELD_MOVE: no such rule"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_says_each_finding_its_rule_class_and_places() {
    let out = run(
        &root(),
        &["compat", V1, V2, "--mode", "forward", "--format", "json"],
    );
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["mode"], "forward");
    assert_eq!(v["breaking"], 2);
    let c = &v["comparisons"][0];
    assert_eq!((c["old"].as_str(), c["new"].as_str()), (Some(V1), Some(V2)));
    let rules: Vec<_> = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["class"].as_str().unwrap(),
                f["fails"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("ENUM_VALUE_ADDED", "old-readers", true),
            ("RESERVED_CARVED", "safe", false),
            ("RESERVED_CARVED", "safe", false),
            ("MESSAGE_ADDED", "old-readers", true),
        ]
    );
    // Places are 1-based lines and columns of each file; a new item's old place is what
    // holds it (here the protocol block).
    let added = &c["findings"][3];
    let line_of = |file: &str, at: &serde_json::Value| {
        let text = fs::read_to_string(root().join(file)).unwrap();
        let line = at["line"].as_u64().unwrap() as usize;
        text.lines().nth(line - 1).unwrap().to_string()
    };
    assert!(line_of(V2, &added["new"]).starts_with("message TradeBust "));
    assert_eq!(added["new"]["column"], 9);
    assert_eq!(line_of(V1, &added["old"]), "protocol RLTOP {");
    assert_eq!(added["old"]["column"], 10);
}

#[test]
fn github_format_annotates_the_new_schema() {
    let out = run(&root(), &["compat", V1, V2, "--format", "github"]);
    assert_eq!(code(&out), 0);
    let lines: Vec<_> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].starts_with("::warning file=schema/examples/rltop-v2.rlt,line="),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(",title=ENUM_VALUE_ADDED::enum `TradingStatus`"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("::notice "), "{}", lines[1]);
    assert!(
        lines[1].contains("%0Asafe because writers of the old versions zeroed"),
        "{}",
        lines[1]
    );
}

#[test]
fn usage_errors_unreadable_and_rejected_schemas_exit_2() {
    let r = root();
    for args in [
        vec!["compat"],
        vec!["compat", V1],
        vec!["compat", V1, V2, "--against", "main"],
        vec!["compat", V1, V2, "--mode", "sideways"],
        vec!["compat", V1, "no/such.rlt"],
        vec!["compat", V1, "schema/examples/seed-draft.rlt"],
    ] {
        let out = run(&r, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    let out = run(&r, &["compat", V1, "schema/examples/seed-draft.rlt"]);
    let err = stderr(&out);
    assert!(
        err.contains("error: schema/examples/seed-draft.rlt is rejected, so nothing was compared"),
        "{err}"
    );
    assert!(err.contains("--> schema/examples/seed-draft.rlt:"), "{err}");
}

#[test]
fn against_a_git_ref_and_transitive_over_every_tag() {
    let dir = repo("git");
    commit(&dir, SMALL, Some("v1"));
    // v2: a field carved from the spare bytes, since 2.
    let v2 = SMALL.replace("version 1;", "version 2;").replace(
        "    _spare: reserved[8],",
        "    size: u32 since 2,\n    _spare: reserved[4],",
    );
    commit(&dir, &v2, Some("v2"));
    // Against main (the working tree is main): nothing changed.
    let out = run(&dir, &["compat", "--against", "main", "s.rlt"]);
    assert_eq!(
        (code(&out), stdout(&out)),
        (
            0,
            "main:s.rlt → s.rlt (backward mode): 0 findings, 0 breaking\n".into()
        )
    );

    // The working tree swaps `price` and `size`: it breaks v2 and v1 alike, and
    // --transitive reports both, oldest first.
    let v3 = v2.replace("version 2;", "version 3;").replace(
        "price: u32,\n    size: u32 since 2,",
        "size: u32 since 2,\n    price: u32,",
    );
    fs::write(dir.join("s.rlt"), v3).unwrap();
    let out = run(
        &dir,
        &["compat", "--transitive", "s.rlt", "--format", "json"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let per: Vec<_> = v["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rules: Vec<_> = c["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap().to_owned())
                .collect();
            (c["old"].as_str().unwrap().to_owned(), rules)
        })
        .collect();
    assert_eq!(
        per,
        [
            ("v1:s.rlt".to_string(), vec!["FIELD_MOVED".to_string()]),
            (
                "v2:s.rlt".to_string(),
                vec!["FIELD_MOVED".to_string(), "FIELD_MOVED".into()]
            ),
        ]
    );
    // One ref only.
    let out = run(&dir, &["compat", "--against", "v2", "s.rlt"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains(
            "error[FIELD_MOVED]: message `Quote`: field `price` is at offset 5, was at 1\n"
        ),
        "{}",
        stdout(&out)
    );
    // A ref git does not know is the command's trouble, not the schema's.
    let out = run(&dir, &["compat", "--against", "v9", "s.rlt"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("git show v9:./s.rlt"),
        "{}",
        stderr(&out)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_docs_hold_the_rule_table_the_binary_prints() {
    let out = run(&root(), &["compat", "--rules"]);
    assert_eq!(code(&out), 0);
    let table = stdout(&out);
    assert!(table.starts_with("| rule | class | what | why | example |\n"));
    let docs = fs::read_to_string(root().join("docs/compat.md")).unwrap();
    assert!(
        docs.contains(&table),
        "docs/compat.md does not hold `rltop-codegen compat --rules`'s table: run it and paste"
    );
}
