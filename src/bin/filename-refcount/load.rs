//! Reading inputs: text or raw bytes, and which level, era and target.

use crate::error::CliError;
use crate::Selection;
use filename_refcount::harness::{Input, Level, Target};
use filename_refcount::text::{parse, Parsed, TextError};
use filename_refcount::Era;
use std::path::Path;

/// Every target name, for messages.
pub fn target_names() -> String {
    Target::ALL.map(Target::name).join(", ")
}

/// `--target NAME`.
pub fn target_by_name(name: &str) -> Result<Target, CliError> {
    Target::from_name(name).ok_or_else(|| {
        CliError::plain(format!(
            "unknown target `{name}`; valid targets: {}",
            target_names()
        ))
    })
}

/// `scenario-level` / `operation-level`.
pub fn level_words(l: Level) -> &'static str {
    match l {
        Level::Scenario => "scenario-level",
        Level::Ops => "operation-level",
    }
}

/// `a` / `an` before [`level_words`].
pub fn article(l: Level) -> &'static str {
    match l {
        Level::Scenario => "a",
        Level::Ops => "an",
    }
}

/// `scenario` / `ops` (flags and JSON).
pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::Scenario => "scenario",
        Level::Ops => "ops",
    }
}

/// The file's bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::file(&path.display().to_string(), format!("cannot read: {e}")))
}

/// The directives a text file starts lines with.
const TEXT_WORDS: [&str; 9] = [
    "kernel", "audit", "syscall", "sqe", "op", "threads", "schedule", "sqpoll", "workers",
];

/// Whether `text` looks like the text format: a line starting with a
/// directive or a comment.
pub fn looks_like_text(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|l| {
        l.starts_with('#')
            || TEXT_WORDS.iter().any(|w| {
                l.strip_prefix(w)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
            })
    })
}

/// Whether `text` has a line with something besides a comment. Raw bytes
/// can look like a text file made only of comments (a first byte `#` and
/// no newline), which would otherwise parse as the empty scenario.
pub fn has_directives(text: &str) -> bool {
    text.lines()
        .any(|l| !l.split('#').next().unwrap_or("").trim().is_empty())
}

/// A text error as `error: FILE: line L, column C: message`.
pub fn text_error(file: &str, e: &TextError) -> CliError {
    CliError::file(file, e.to_string())
}

/// What a file holds.
pub enum Source {
    /// A parsed text input.
    Text(Parsed),
    /// Raw fuzzer bytes; the text parse error, if the bytes were UTF-8.
    Raw(Vec<u8>, Option<TextError>),
}

/// Text if the bytes are UTF-8 and parse; a text error if they are UTF-8,
/// do not parse and look like text; raw bytes otherwise. A file with
/// nothing but white space and comments is raw when a level is known (an
/// empty fuzzer input, say), else the empty scenario.
pub fn classify(
    file: &str,
    bytes: Vec<u8>,
    force_raw: bool,
    level_known: bool,
) -> Result<Source, CliError> {
    if force_raw {
        return Ok(Source::Raw(bytes, None));
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(Source::Raw(bytes, None));
    };
    if level_known && !has_directives(text) {
        return Ok(Source::Raw(bytes, None));
    }
    match parse(text) {
        Ok(p) => Ok(Source::Text(p)),
        Err(e) if looks_like_text(text) => Err(text_error(file, &e)),
        Err(e) => Ok(Source::Raw(bytes, Some(e))),
    }
}

fn wrong_level(file: &str, have: Level, sel: &Selection) -> CliError {
    let want = sel.level.unwrap_or(have);
    let who = match sel.target {
        Some(t) => {
            let fits: Vec<&str> = Target::ALL
                .into_iter()
                .filter(|t| t.level() == have)
                .map(Target::name)
                .collect();
            format!(
                "target {t} takes {} inputs (targets for this file: {})",
                level_words(want),
                fits.join(", ")
            )
        }
        None => format!("--level {} was given", level_name(want)),
    };
    CliError::file(
        file,
        format!(
            "this file is {} {} input but {who}",
            article(have),
            level_words(have)
        ),
    )
}

/// The target whose directory (`corpus/<target>/`, `fuzz/artifacts/<target>/`)
/// holds `file`, if any: the innermost directory named after a target.
fn path_target(file: &str) -> Option<Target> {
    let parent = Path::new(file).parent()?;
    parent
        .components()
        .rev()
        .find_map(|c| Target::from_name(&c.as_os_str().to_string_lossy()))
}

/// The input a source holds, checked against the target / level flags;
/// with the text's `kernel` line.
pub fn input(
    file: &str,
    source: Source,
    sel: &Selection,
) -> Result<(Input, Option<Era>), CliError> {
    let (input, era) = match source {
        Source::Text(Parsed::Scenario(era, s)) => (Input::Scenario(s), era),
        Source::Text(Parsed::Ops(era, o)) => (Input::Ops(o), era),
        Source::Raw(bytes, text_err) => {
            let Some(level) = sel.level else {
                let hint = match text_err {
                    Some(e) => format!(" (as text it fails at {e})"),
                    None => String::new(),
                };
                return Err(CliError::file(
                    file,
                    format!(
                        "not a text input; a raw fuzzer input needs --target NAME or --level \
                         scenario|ops, since raw inputs do not say their level; targets: {}{hint}",
                        target_names()
                    ),
                ));
            };
            if let Some(dir) = path_target(file).filter(|t| t.level() != level) {
                // Raw bytes carry no level, but cargo fuzz keeps each
                // target's corpus and artifacts in a directory named after
                // it: a file from another level's directory is a mistake.
                return Err(CliError::file(
                    file,
                    format!(
                        "this raw input is in the directory of target {dir}, which takes {} inputs, but {}",
                        level_words(dir.level()),
                        match sel.target {
                            Some(t) => format!("target {t} takes {} inputs", level_words(level)),
                            None => format!("--level {} was given", level_name(level)),
                        }
                    ),
                ));
            }
            return Ok((Input::decode(level, &bytes), None));
        }
    };
    if let Some(want) = sel.level {
        if want != input.level() {
            return Err(wrong_level(file, input.level(), sel));
        }
    }
    Ok((input, era))
}

/// A text input for `encode` (raw bytes are an error).
pub fn text_input(
    file: &str,
    bytes: &[u8],
    sel: &Selection,
) -> Result<(Input, Option<Era>), CliError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CliError::file(file, "not a text input (not UTF-8); encode reads text"))?;
    let parsed = parse(text).map_err(|e| text_error(file, &e))?;
    input(file, Source::Text(parsed), sel)
}
