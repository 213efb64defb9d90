//! `rltop-codegen`: the standalone generator, as protoc, flatc and sbe-tool are. It checks a
//! schema of one's own and writes its Rust crate, C header, Python package and conformance
//! vectors through the same library function `cargo xtask gen` uses for RLTOP's
//! ([`rltop_codegen::artifacts()`]).
//!
//! Exit status, as grep's and diff's: 0 success; 1 a schema is rejected, or (`gen --check`)
//! a generated file would change; 2 the command could not run as asked: a usage error
//! (clap's own), an input file that cannot be read, an output that cannot be written. An
//! unreadable schema is a 2, not a 1: nothing was checked, and a script can tell "fix the
//! schema" from "fix the command".

mod compat;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rltop_codegen::artifacts::{self, State};
use rltop_codegen::{Banner, Checked, Outputs, RustCrate};

#[derive(Parser)]
#[command(
    name = "rltop-codegen",
    version,
    about = "Check RLTOP protocol schemas (.rlt) and generate Rust, C, Python and conformance vectors from them",
    after_help = "Exit status: 0 success; 1 a schema is rejected or (gen --check) a generated file \
                  would change; 2 a usage error, an unreadable input or an unwritable output."
)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Check schemas: every error and warning of every file, in rustc's style, on stderr.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print each struct's and message's offset table (pahole-style).
    Layout {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Generate any of: a Rust crate, a C header, a Python package, conformance vectors.
    Gen(Gen),
    /// Compare versions of a schema: each change with its rule and whom it breaks; exit 1
    /// when one fails the mode, 2 when nothing could be compared.
    Compat(compat::Compat),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("outputs").required(true).multiple(true)))]
struct Gen {
    /// The schema.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write a Rust crate into DIR: Cargo.toml (depending on rltop-runtime by version) and
    /// src/lib.rs.
    #[arg(long, value_name = "DIR", group = "outputs")]
    rust: Option<PathBuf>,
    /// Write the C11 header (usable from C++) to FILE.h.
    #[arg(long, value_name = "FILE.h", group = "outputs")]
    c: Option<PathBuf>,
    /// Write the Python package into DIR (pip install DIR).
    #[arg(long, value_name = "DIR", group = "outputs")]
    python: Option<PathBuf>,
    /// Write the conformance vectors into DIR: messages/*.json, datagrams.json, errors.json,
    /// encode_errors.json.
    #[arg(long, value_name = "DIR", group = "outputs")]
    vectors: Option<PathBuf>,
    /// Write the Wireshark dissector (Lua, Wireshark 4.0+) to FILE.lua.
    #[arg(long, value_name = "FILE.lua", group = "outputs")]
    lua: Option<PathBuf>,
    /// The UDP ports the dissector's preference holds by default (a Wireshark range such as
    /// 9001-9004); without them it finds the protocol by its heuristic or by Decode As.
    #[arg(long, value_name = "RANGE", default_value = "", requires = "lua")]
    udp_ports: String,
    /// The Rust package's name [default: the protocol's name in lower case, words joined by `-`].
    #[arg(long, value_name = "NAME", requires = "rust")]
    crate_name: Option<String>,
    /// Write nothing: name each file that would change, and exit 1 if any would.
    #[arg(long)]
    check: bool,
    /// The generator the "@generated … do not edit" banners name (e.g. a make target that
    /// wraps this command).
    #[arg(long, value_name = "NAME", default_value = "rltop-codegen")]
    generated_by: String,
}

/// Why a verb did not succeed; see the module docs for the exit statuses.
enum Failure {
    /// A schema is rejected, or files would change; what to say has been said.
    No,
    /// The command could not run as asked.
    Trouble(String),
}

fn main() -> ExitCode {
    let result = match Cli::parse().verb {
        Verb::Check { files } => check(&files),
        Verb::Layout { file } => layout(&file),
        Verb::Gen(args) => gen(&args),
        Verb::Compat(args) => compat::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::No) => ExitCode::from(1),
        Err(Failure::Trouble(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Reads and checks a schema; its diagnostics go to stderr. Diagnostics name the file as given.
fn load(file: &Path) -> Result<Checked, String> {
    let shown = file.display().to_string();
    let checked = rltop_codegen::check_file(file, &shown)
        .map_err(|e| format!("cannot read schema {shown}: {e}"))?;
    eprint!("{}", checked.render());
    Ok(checked)
}

fn check(files: &[PathBuf]) -> Result<(), Failure> {
    let (mut rejected, mut unreadable) = (0, 0);
    for file in files {
        let checked = match load(file) {
            Ok(checked) => checked,
            Err(message) => {
                eprintln!("error: {message}");
                unreadable += 1;
                continue;
            }
        };
        match &checked.laid {
            Some(model) => println!(
                "{}: ok: {} ({} warnings)",
                file.display(),
                model.summary(),
                checked.diagnostics.len()
            ),
            // The rendered report ends with the file's verdict.
            None => rejected += 1,
        }
    }
    if unreadable > 0 {
        Err(Failure::Trouble(format!(
            "{unreadable} of {} schema files could not be read",
            files.len()
        )))
    } else if rejected > 0 {
        Err(Failure::No)
    } else {
        Ok(())
    }
}

fn layout(file: &Path) -> Result<(), Failure> {
    let Some(laid) = load(file).map_err(Failure::Trouble)?.laid else {
        eprintln!("{}: no layout: the schema has errors", file.display());
        return Err(Failure::No);
    };
    print!(
        "{}",
        rltop_codegen::table::render(&laid.schema, &laid.layout)
    );
    Ok(())
}

fn gen(args: &Gen) -> Result<(), Failure> {
    let checked = load(&args.file).map_err(Failure::Trouble)?;
    // A rejected schema's diagnostics are shown already.
    let Some(laid) = checked.laid else {
        return Err(Failure::No);
    };
    let outputs = outputs(args, &laid.schema.protocol.name)?;
    let files = rltop_codegen::artifacts_of(&laid, &outputs).map_err(|e| {
        eprintln!("error: {e}");
        Failure::No
    })?;
    let here = Path::new("");
    if args.check {
        let drift = artifacts::drift(here, &files);
        for (path, state) in &drift {
            let how = if *state == State::Missing {
                "is missing"
            } else {
                "differs from what the schema produces"
            };
            eprintln!("{} {how}", path.display());
        }
        if drift.is_empty() {
            println!("up to date: {} files", files.len());
            return Ok(());
        }
        eprintln!(
            "{} of {} generated files would change; run without --check to write them",
            drift.len(),
            files.len()
        );
        return Err(Failure::No);
    }
    for (path, before) in artifacts::write(here, &files).map_err(Failure::Trouble)? {
        let verb = if before == State::Unchanged {
            "unchanged"
        } else {
            "wrote    "
        };
        println!("{verb} {}", path.display());
    }
    Ok(())
}

/// The [`Outputs`] the options ask for.
fn outputs(args: &Gen, protocol: &str) -> Result<Outputs, Failure> {
    let mut outputs = Outputs::new(Banner::new(
        &args.generated_by,
        &args.file.display().to_string(),
    ));
    if let Some(dir) = &args.rust {
        let name = match &args.crate_name {
            Some(name) => name.clone(),
            None => artifacts::crate_name(protocol),
        };
        if !valid_crate_name(&name) {
            return Err(Failure::Trouble(format!(
                "`{name}` is not a valid crate name (ASCII letters, digits, `-` and `_`, starting with a letter); give one with --crate-name"
            )));
        }
        outputs.rust = Some(RustCrate {
            dir: dir.clone(),
            name,
            description: None,
            workspace: false,
            publish: true,
        });
    }
    outputs.c = args.c.clone();
    outputs.python = args.python.clone();
    outputs.vectors = args.vectors.clone();
    outputs.lua = args
        .lua
        .clone()
        .map(|path| rltop_codegen::artifacts::LuaDissector {
            path,
            udp_ports: args.udp_ports.clone(),
        });
    Ok(outputs)
}

fn valid_crate_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
