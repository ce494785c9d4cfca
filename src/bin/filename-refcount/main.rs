//! `filename-refcount`: replay, encode and decode inputs of the
//! `struct filename` refcount model.
//!
//! Every subcommand goes through the library functions the fuzz targets
//! use: [`Input::decode`] for raw bytes, `text::parse` for the text format,
//! [`Input::run`] / `harness::check` to run, `report::explain` to explain.
//! Usage, exit codes and the JSON schema are in README.md.

mod error;
mod fsio;
mod json;
mod load;
mod replay;
mod svg;
mod swimlane;

use clap::{Parser, Subcommand, ValueEnum};
use error::CliError;
use filename_refcount::harness::{Level, Target};
use filename_refcount::{Era, KindSet};
use std::path::PathBuf;
use std::process::ExitCode;

/// Replay, encode and decode inputs of the io_uring/audit `struct filename`
/// refcount model.
#[derive(Parser, Debug)]
#[command(name = "filename-refcount", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run inputs (text or raw fuzzer bytes) and explain what happened.
    ///
    /// Exit status: 0 all clean, 1 a violation of the counted kinds,
    /// 2 an unusable input.
    Replay(ReplayArgs),
    /// Text input → the raw fuzzer bytes that decode to it.
    Encode(EncodeArgs),
    /// Raw fuzzer bytes → text input.
    Decode(DecodeArgs),
    /// List the fuzz targets: level, kernel era, kinds they fail on.
    Targets,
}

/// Input level flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LevelArg {
    /// Scenario level (audit, sqpoll, workers, syscalls, SQEs).
    Scenario,
    /// Operation level (threads, op lines).
    #[value(alias = "operations")]
    Ops,
}

impl From<LevelArg> for Level {
    fn from(l: LevelArg) -> Level {
        match l {
            LevelArg::Scenario => Level::Scenario,
            LevelArg::Ops => Level::Ops,
        }
    }
}

/// Which input decides the level: a target or an explicit level.
#[derive(clap::Args, Debug, Clone)]
struct Select {
    /// Fuzz target (decides level, era and counted kinds); see `targets`.
    #[arg(long, value_name = "NAME", conflicts_with = "level")]
    target: Option<String>,
    /// Input level, for raw inputs without a target.
    #[arg(long, value_enum, value_name = "LEVEL")]
    level: Option<LevelArg>,
}

#[derive(clap::Args, Debug)]
struct ReplayArgs {
    #[command(flatten)]
    select: Select,
    /// Kernel era to run (overrides the text's `kernel` line and the
    /// target's era).
    #[arg(long, value_name = "ERA", value_parser = parse_era)]
    kernel: Option<Era>,
    /// Violation kinds that count as a failure: refcount, stale, all, or a
    /// comma-separated list of kind names (Underflow,LostUpdate,…).
    #[arg(long, value_name = "KINDS", value_parser = parse_kinds)]
    kinds: Option<KindSet>,
    /// Print one JSON document per file (an array for several files).
    #[arg(long)]
    json: bool,
    /// Write an SVG swimlane picture of the run (one FILE only).
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
    /// Treat every FILE as raw fuzzer bytes, even if it parses as text.
    #[arg(long)]
    raw: bool,
    /// Inputs: text files or raw fuzzer inputs.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct EncodeArgs {
    #[command(flatten)]
    select: Select,
    /// Output file (written atomically); stdout if omitted.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The text input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(clap::Args, Debug)]
struct DecodeArgs {
    #[command(flatten)]
    select: Select,
    /// Add a `kernel` line for this era.
    #[arg(long, value_name = "ERA", value_parser = parse_era)]
    kernel: Option<Era>,
    /// Output file (written atomically); stdout if omitted.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The raw fuzzer input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn parse_era(s: &str) -> Result<Era, String> {
    s.parse::<Era>().map_err(|e| e.to_string())
}

fn parse_kinds(s: &str) -> Result<KindSet, String> {
    let set = match s {
        "refcount" => KindSet::REFCOUNT,
        "stale" => KindSet::STALE,
        "all" => KindSet::ALL,
        _ => filename_refcount::harness::parse_kinds(s)
            .map_err(|e| format!("{e}, or refcount, stale, all"))?,
    };
    if set == KindSet::NONE {
        return Err("empty kind list".to_string());
    }
    Ok(set)
}

/// The target and level flags, validated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection {
    /// `--target`.
    pub target: Option<Target>,
    /// `--level`, or the target's level.
    pub level: Option<Level>,
}

impl Select {
    fn resolve(&self) -> Result<Selection, CliError> {
        let target = match &self.target {
            Some(name) => Some(load::target_by_name(name)?),
            None => None,
        };
        let level = match (target, self.level) {
            (Some(t), _) => Some(t.level()),
            (None, l) => l.map(Level::from),
        };
        Ok(Selection { target, level })
    }
}

/// Process exit status: the worst over the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything clean.
    Clean = 0,
    /// A violation of the counted kinds.
    Violation = 1,
    /// An unusable input or a bad flag.
    Unusable = 2,
}

fn main() -> ExitCode {
    // Model bugs must not print a backtrace: panics are caught per file and
    // reported as one `error:` line.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                fsio::print_stdout(&e.render().to_string());
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprint!("{}", e.render());
                return ExitCode::from(Status::Unusable as u8);
            }
            let text = e.render().to_string();
            let mut first = String::new();
            for l in text.lines().map(str::trim) {
                if l.starts_with("Usage:") || l.starts_with("For more information") {
                    break;
                }
                if l.is_empty() {
                    continue;
                }
                if !first.is_empty() {
                    first.push_str(if first.ends_with(':') { " " } else { "; " });
                }
                first.push_str(l.strip_prefix("error: ").unwrap_or(l));
            }
            if first.is_empty() {
                first.push_str("bad command line");
            }
            eprintln!("{}", CliError::plain(format!("{first} (see --help)")));
            return ExitCode::from(Status::Unusable as u8);
        }
    };
    let status = match cli.cmd {
        Cmd::Replay(a) => replay_cmd(&a),
        Cmd::Encode(a) => report(encode_cmd(&a)),
        Cmd::Decode(a) => report(decode_cmd(&a)),
        Cmd::Targets => {
            targets_cmd();
            Status::Clean
        }
    };
    ExitCode::from(status as u8)
}

fn report(r: Result<(), CliError>) -> Status {
    match r {
        Ok(()) => Status::Clean,
        Err(e) => {
            eprintln!("{e}");
            Status::Unusable
        }
    }
}

fn targets_cmd() {
    let mut out = String::from("target            level     era    fails on\n");
    for t in Target::ALL {
        let level = match t.level() {
            Level::Scenario => "scenario",
            Level::Ops => "ops",
        };
        let kinds = if t.fails_on() == KindSet::STALE {
            "stale"
        } else {
            "refcount"
        };
        let expect = if t.demonstrates_bug() {
            "finds violations"
        } else {
            "must stay clean"
        };
        out.push_str(&format!(
            "{:<17} {:<9} {:<6} {:<9} ({expect})\n",
            t.name(),
            level,
            t.era().as_str(),
            kinds
        ));
    }
    fsio::print_stdout(&out);
}

fn replay_cmd(a: &ReplayArgs) -> Status {
    let sel = match a.select.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Status::Unusable;
        }
    };
    if a.svg.is_some() && a.files.len() != 1 {
        eprintln!(
            "{}",
            CliError::plain(format!(
                "--svg writes one picture, but {} FILEs were given; replay one file at a time",
                a.files.len()
            ))
        );
        return Status::Unusable;
    }
    let opts = replay::Options {
        sel,
        kernel: a.kernel,
        kinds: a.kinds,
        raw: a.raw,
    };
    let mut worst = Status::Clean;
    let mut docs = Vec::new();
    for (i, path) in a.files.iter().enumerate() {
        let file = path.display().to_string();
        let result = replay::replay_file(path, &opts);
        let status = match result {
            Err(e) => {
                eprintln!("{e}");
                if a.json {
                    docs.push(serde_json::json!({ "file": file, "error": e.message() }));
                }
                Status::Unusable
            }
            Ok(rep) => {
                let mut status = rep.status();
                if a.json {
                    docs.push(json::document(&rep));
                } else {
                    if i > 0 {
                        fsio::print_stdout("\n");
                    }
                    fsio::print_stdout(&replay::human(&rep));
                }
                if let Some(out) = &a.svg {
                    match svg::write(out, &rep) {
                        Ok(()) => {
                            if !a.json {
                                fsio::print_stdout(&format!("\nwrote {}\n", out.display()));
                            }
                        }
                        Err(e) => {
                            eprintln!("{e}");
                            status = Status::Unusable;
                        }
                    }
                }
                status
            }
        };
        worst = worst.max(status);
    }
    if a.json {
        let doc = if a.files.len() == 1 {
            docs.pop()
        } else {
            Some(serde_json::Value::Array(docs))
        };
        if let Some(doc) = doc {
            if doc.get("error").is_none() {
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                fsio::print_stdout(&format!("{text}\n"));
            }
        }
    }
    worst
}

fn encode_cmd(a: &EncodeArgs) -> Result<(), CliError> {
    let sel = a.select.resolve()?;
    let file = a.file.display().to_string();
    if sel.level.is_none() {
        return Err(CliError::plain(format!(
            "encode needs --target NAME (or --level scenario|ops); targets: {}",
            load::target_names()
        )));
    }
    let bytes = load::read(&a.file)?;
    let (input, text_era) = load::text_input(&file, &bytes, &sel)?;
    if let (Some(t), Some(e)) = (sel.target, text_era) {
        if t.era() != e {
            eprintln!(
                "warning: {file}: the `kernel {e}` line is not part of the bytes; target {t} runs {}",
                t.era()
            );
        }
    }
    let raw = input
        .encode()
        .map_err(|e| CliError::file(&file, format!("cannot encode: {e}")))?;
    match &a.output {
        Some(out) => fsio::write_atomic(out, &raw),
        None => fsio::write_stdout_bytes(&raw),
    }
}

fn decode_cmd(a: &DecodeArgs) -> Result<(), CliError> {
    let sel = a.select.resolve()?;
    if sel.level.is_none() {
        return Err(CliError::plain(format!(
            "decode needs --target NAME or --level scenario|ops (raw inputs do not say their \
             level); targets: {}",
            load::target_names()
        )));
    }
    let bytes = load::read(&a.file)?;
    let file = a.file.display().to_string();
    let (input, _) = load::input(&file, load::Source::Raw(bytes, None), &sel)?;
    let text = input.to_text(a.kernel);
    match &a.output {
        Some(out) => fsio::write_atomic(out, text.as_bytes()),
        None => fsio::write_stdout_bytes(text.as_bytes()),
    }
}
