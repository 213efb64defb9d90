//! `rltop-codegen compat`: compares versions of a schema and fails when a change breaks the
//! mode asked for. The old schema comes from a file, from git (`--against REF`), or from
//! every tagged version (`--transitive`); the comparison itself is
//! [`rltop_codegen::compat`]'s.
//!
//! Exit status: 0 nothing fails the mode; 1 something does; 2 the command could not run:
//! a usage error, a file or git object that cannot be read, or a schema that is rejected
//! (its diagnostics are printed; nothing was compared).

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};
use rltop_codegen::compat::{self, report::Comparison, Mode};
use rltop_codegen::{Laid, SourceFile};

use crate::Failure;

#[derive(Args)]
pub struct Compat {
    /// OLD… NEW: NEW is checked against each OLD. With --against or --transitive, NEW alone.
    #[arg(value_name = "SCHEMA", required_unless_present = "rules")]
    files: Vec<PathBuf>,
    /// Read the old schema from git: NEW's path at this commit, branch or tag.
    #[arg(long, value_name = "GIT_REF")]
    against: Option<String>,
    /// Check NEW against every git tag that has its path (and --against's, if given).
    #[arg(long)]
    transitive: bool,
    /// Which breaks fail: backward (new readers must read old writers), forward (old
    /// readers must read new writers), or full (both).
    #[arg(long, value_enum, default_value = "backward")]
    mode: ModeArg,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Leave this rule's findings out (repeatable): a change the protocol's owners accept,
    /// as buf's `except`. The rule ids are `--rules`'.
    #[arg(long, value_name = "RULE")]
    except: Vec<String>,
    /// Print the rule table (Markdown) and exit.
    #[arg(long, exclusive = true)]
    rules: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Backward,
    Forward,
    Full,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Github,
}

/// A schema as read: its text under the name reports give it, checked and laid out.
struct Read {
    file: SourceFile,
    laid: Laid,
}

pub fn run(args: &Compat) -> Result<(), Failure> {
    if args.rules {
        print!("{}", compat::rules::markdown());
        return Ok(());
    }
    let mode = match args.mode {
        ModeArg::Backward => Mode::Backward,
        ModeArg::Forward => Mode::Forward,
        ModeArg::Full => Mode::Full,
    };
    let except = args
        .except
        .iter()
        .map(|id| {
            compat::RuleId::from_name(id).ok_or_else(|| {
                Failure::Trouble(format!(
                    "--except {id}: no such rule; `rltop-codegen compat --rules` lists them"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let git = args.against.is_some() || args.transitive;
    let (olds, new) = match (git, args.files.as_slice()) {
        (true, [new]) => (git_versions(args, new)?, new),
        (true, _) => return usage("with --against or --transitive, give the new schema alone"),
        (false, [olds @ .., new]) if !olds.is_empty() => {
            let olds = olds
                .iter()
                .map(|p| Ok((p.display().to_string(), read_file(p)?)))
                .collect::<Result<Vec<_>, Failure>>()?;
            (olds, new)
        }
        (false, _) => return usage("give the old schema and the new one (or --against GIT_REF)"),
    };
    let new = read(new.display().to_string(), read_file(new)?)?;
    let mut olds_read = Vec::new();
    for (name, text) in olds {
        olds_read.push(read(name, text)?);
    }
    let findings: Vec<_> = olds_read
        .iter()
        .map(|old| {
            let mut f = compat::compare(&old.laid, &new.laid);
            f.retain(|f| !except.contains(&f.rule));
            f
        })
        .collect();
    let comparisons: Vec<Comparison> = olds_read
        .iter()
        .zip(&findings)
        .map(|(old, findings)| Comparison {
            old: &old.file,
            new: &new.file,
            mode,
            findings,
        })
        .collect();
    print(args.format, mode, &comparisons);
    if comparisons.iter().any(|c| c.failing() > 0) {
        Err(Failure::No)
    } else {
        Ok(())
    }
}

fn print(format: Format, mode: Mode, comparisons: &[Comparison]) {
    match format {
        Format::Text => {
            for c in comparisons {
                print!("{}", c.text());
            }
        }
        Format::Github => {
            for c in comparisons {
                print!("{}", c.github());
            }
        }
        Format::Json => {
            let all = serde_json::json!({
                "mode": mode.name(),
                "breaking": comparisons.iter().map(Comparison::failing).sum::<usize>(),
                "comparisons": comparisons.iter().map(Comparison::json).collect::<Vec<_>>(),
            });
            println!("{all:#}");
        }
    }
}

fn usage<T>(message: &str) -> Result<T, Failure> {
    Err(Failure::Trouble(format!(
        "{message}; see `rltop-codegen compat --help`"
    )))
}

fn read_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Trouble(format!("cannot read schema {}: {e}", path.display())))
}

/// Checks a schema; a rejected one stops the command (exit 2) after its diagnostics.
fn read(name: String, text: String) -> Result<Read, Failure> {
    let checked = rltop_codegen::check(&name, &text);
    eprint!("{}", checked.render());
    match checked.laid {
        Some(laid) => Ok(Read {
            file: checked.file,
            laid,
        }),
        None => Err(Failure::Trouble(format!(
            "{name} is rejected, so nothing was compared"
        ))),
    }
}

/// The old versions from git: `--against`'s ref, then (`--transitive`) every tag that has
/// the path, oldest first. Each is named `REF:PATH`.
fn git_versions(args: &Compat, new: &Path) -> Result<Vec<(String, String)>, Failure> {
    let dir = match new.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = new
        .file_name()
        .ok_or_else(|| Failure::Trouble(format!("{} names no file", new.display())))?
        .to_string_lossy()
        .into_owned();
    let mut out = Vec::new();
    if let Some(r) = &args.against {
        let text = git(&dir, &["show", &format!("{r}:./{file}")])?;
        out.push((format!("{r}:{}", new.display()), text));
    }
    if args.transitive {
        let tags = git(&dir, &["tag", "--list", "--sort=version:refname"])?;
        for tag in tags.lines().filter(|t| !t.is_empty()) {
            // A tag from before the schema existed has nothing to compare.
            if let Ok(text) = git(&dir, &["show", &format!("{tag}:./{file}")]) {
                out.push((format!("{tag}:{}", new.display()), text));
            }
        }
        if out.is_empty() {
            eprintln!(
                "note: no tag has {}: nothing to compare against",
                new.display()
            );
        }
    }
    Ok(out)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, Failure> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| Failure::Trouble(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(Failure::Trouble(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| Failure::Trouble(format!("git {}: the output is not UTF-8", args.join(" "))))
}
