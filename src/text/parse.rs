//! Parsing the text format.
//!
//! The format is line oriented: `#` starts a comment anywhere on a line,
//! blank lines are ignored, words are separated by spaces or tabs, and
//! indentation means nothing. [`parse`] accepts exactly what
//! [`super::print`] writes (and a little more: flags in any order, `NAME*1`,
//! omitted `exists`), and every error names the 1-based line and column of
//! the offending word.

use crate::input::{OpsInput, ScenarioInput, MAX_OPS_THREADS};
use crate::kernel::era::Era;
use crate::kernel::state::{AuditConfig, Opcode, Sqe, Uptr};
use crate::kernel::task::Syscall;
use crate::ops::{OpStep, Token};
use crate::program::{Schedule, Slice};
use crate::scenario::{Scenario, MAX_SQES, MAX_SYSCALLS, MAX_UPTRS, MAX_WORKERS};
use std::fmt;

/// A parsed text file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A scenario-level input, with the `kernel` line if present.
    Scenario(Option<Era>, ScenarioInput),
    /// An operation-level input, with the `kernel` line if present.
    Ops(Option<Era>, OpsInput),
}

/// A text error: where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for TextError {}

/// Largest token number the text format accepts (`n0` … `n63`).
const MAX_TOKEN: u64 = 63;

const DIRECTIVES: &str = "kernel, audit, sqpoll, workers, syscall, sqe, threads, op or schedule";
const OPCODES: &str = "openat, openat2, statx, renameat, unlinkat, mkdirat";
const SQE_FLAGS: &str = "exists, missing, creat, trunc, async or eagain";
const OPERATIONS: &str = "getname, getname_kernel, audit_getname, audit_inode, \
     audit_inode_child, putname, send, receive, syscall_entry, syscall_exit, uring_entry, \
     uring_exit";

type Result<T> = std::result::Result<T, TextError>;

/// One word of the text and where it starts.
#[derive(Clone, Copy, Debug)]
struct Word<'a> {
    text: &'a str,
    line: usize,
    col: usize,
}

impl Word<'_> {
    fn err(&self, message: impl Into<String>) -> TextError {
        TextError {
            line: self.line,
            column: self.col,
            message: message.into(),
        }
    }
}

/// The words of one non-blank line.
struct Line<'a> {
    no: usize,
    words: Vec<Word<'a>>,
}

impl<'a> Line<'a> {
    /// The column just past the last word plus one space: where a missing
    /// word would have started.
    fn end_col(&self) -> usize {
        self.words
            .last()
            .map(|w| w.col + w.text.chars().count() + 1)
            .unwrap_or(1)
    }

    /// The first `n` words, joined, for messages.
    fn prefix(&self, n: usize) -> String {
        self.words
            .iter()
            .take(n)
            .map(|w| w.text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Word `i`, or an error saying that `what` is missing.
    fn arg(&self, i: usize, what: &str) -> Result<Word<'a>> {
        match self.words.get(i) {
            Some(w) => Ok(*w),
            None => Err(TextError {
                line: self.no,
                column: self.end_col(),
                message: format!("missing {what} after `{}`", self.prefix(i)),
            }),
        }
    }

    /// No word after the first `n`.
    fn end(&self, n: usize) -> Result<()> {
        match self.words.get(n) {
            Some(w) => Err(w.err(format!(
                "unexpected word `{}` after `{}`",
                w.text,
                self.prefix(n)
            ))),
            None => Ok(()),
        }
    }
}

fn is_sep(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r'
}

/// Split `text` into non-blank lines of words, comments removed.
fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let body = match raw.find('#') {
            Some(at) => raw.get(..at).unwrap_or(""),
            None => raw,
        };
        let mut words = Vec::new();
        let mut start: Option<(usize, usize)> = None; // (byte, column)
        let mut col = 0;
        for (byte, c) in body.char_indices() {
            col += 1;
            if is_sep(c) {
                if let Some((b, wc)) = start.take() {
                    words.push(Word {
                        text: body.get(b..byte).unwrap_or(""),
                        line: i + 1,
                        col: wc,
                    });
                }
            } else if start.is_none() {
                start = Some((byte, col));
            }
        }
        if let Some((b, wc)) = start {
            words.push(Word {
                text: body.get(b..).unwrap_or(""),
                line: i + 1,
                col: wc,
            });
        }
        if !words.is_empty() {
            out.push(Line { no: i + 1, words });
        }
    }
    out
}

/// A decimal number made of ASCII digits only; saturates at `u64::MAX`.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

/// `workers N` / `threads N`: one count from 1 to `max`, nothing after it.
fn count(line: &Line<'_>, what: &str, max: u8) -> Result<u8> {
    let w = line.arg(1, &format!("number of {what} (1 to {max})"))?;
    let n = match number(w.text) {
        Some(n) if (1..=max as u64).contains(&n) => n as u8,
        _ => return Err(w.err(format!("{what} must be 1 to {max}, found {}", w.text))),
    };
    line.end(2)?;
    Ok(n)
}

fn path(w: Word<'_>) -> Result<Uptr> {
    let last = MAX_UPTRS - 1;
    match w.text.strip_prefix('p').and_then(number) {
        Some(n) if n < MAX_UPTRS as u64 => Ok(Uptr(n as u8)),
        Some(_) => Err(w.err(format!(
            "path `{}` out of range; expected p0 to p{last}",
            w.text
        ))),
        None => Err(w.err(format!("expected a path p0 to p{last}, found `{}`", w.text))),
    }
}

fn token(w: Word<'_>) -> Result<Token> {
    match w.text.strip_prefix('n').and_then(number) {
        Some(n) if n <= MAX_TOKEN => Ok(n as Token),
        Some(_) => Err(w.err(format!(
            "token `{}` out of range; expected n0 to n{MAX_TOKEN}",
            w.text
        ))),
        None => Err(w.err(format!(
            "expected a token n0 to n{MAX_TOKEN}, found `{}`",
            w.text
        ))),
    }
}

/// `T<k>`: the number, range-checked later against `threads`.
fn thread(w: Word<'_>) -> Result<u64> {
    w.text.strip_prefix('T').and_then(number).ok_or_else(|| {
        w.err(format!(
            "expected an operation-level thread T0 to T{}, found `{}`",
            MAX_OPS_THREADS - 1,
            w.text
        ))
    })
}

fn audit(w: Word<'_>) -> Result<AuditConfig> {
    match w.text {
        "rules" => Ok(AuditConfig::Rules),
        "dummy" => Ok(AuditConfig::Dummy),
        "off" => Ok(AuditConfig::Off),
        other => Err(w.err(format!(
            "unknown audit configuration `{other}`; expected rules, dummy or off"
        ))),
    }
}

fn opcode(w: Word<'_>) -> Result<Opcode> {
    Opcode::ALL
        .iter()
        .copied()
        .find(|op| op.as_str() == w.text)
        .ok_or_else(|| {
            w.err(format!(
                "unknown opcode `{}`; expected one of {OPCODES}",
                w.text
            ))
        })
}

/// Which kind of file the lines so far make.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Scenario,
    Ops,
}

impl Level {
    fn of(directive: &str) -> Option<Level> {
        match directive {
            "sqpoll" | "workers" | "syscall" | "sqe" => Some(Level::Scenario),
            "threads" | "op" => Some(Level::Ops),
            _ => None,
        }
    }
}

/// One slice word of the schedule, its thread name not yet resolved.
struct SliceWord<'a> {
    word: Word<'a>,
    name: &'a str,
    steps: u8,
}

/// An `op` line: the thread word and number, the operation, and for `send`
/// the target's word and number (both range-checked at the end).
struct OpLine<'a> {
    thread: (Word<'a>, u64),
    op: OpStep,
    to: Option<(Word<'a>, u64)>,
}

#[derive(Default)]
struct State<'a> {
    kernel: Option<(usize, Era)>,
    audit: Option<(usize, AuditConfig)>,
    sqpoll: Option<(usize, bool)>,
    workers: Option<(usize, u8)>,
    threads: Option<(usize, u8)>,
    schedule: Option<(usize, Vec<SliceWord<'a>>)>,
    level: Option<(Level, &'a str, usize)>,
    syscalls: Vec<Syscall>,
    /// The last directive was `syscall io_uring_enter` or an `sqe`.
    in_uring: bool,
    ops: Vec<OpLine<'a>>,
}

/// Error unless the `what` line has not been seen yet.
fn once<T>(slot: &Option<(usize, T)>, what: &str, w: Word<'_>) -> Result<()> {
    match slot {
        Some((first, _)) => Err(w.err(format!("duplicate `{what}` line (first on line {first})"))),
        None => Ok(()),
    }
}

/// Parse a text input.
pub fn parse(text: &str) -> Result<Parsed> {
    let lines = lines(text);
    let mut st = State::default();
    for line in &lines {
        st.line(line)?;
    }
    st.finish()
}

impl<'a> State<'a> {
    fn line(&mut self, line: &Line<'a>) -> Result<()> {
        let Some(&d) = line.words.first() else {
            return Ok(());
        };
        if let Some(level) = Level::of(d.text) {
            match self.level {
                Some((have, first, at)) if have != level => {
                    let (this, other) = match level {
                        Level::Scenario => ("scenario", "operation-level"),
                        Level::Ops => ("operation-level", "scenario"),
                    };
                    return Err(d.err(format!(
                        "cannot mix {this} line `{}` with {other} lines (`{first}` on line {at}); \
                         a file is either a scenario (sqpoll, workers, syscall, sqe) or \
                         operation-level (threads, op)",
                        d.text
                    )));
                }
                Some(_) => {}
                None => self.level = Some((level, d.text, line.no)),
            }
        }
        let in_uring = std::mem::take(&mut self.in_uring);
        match d.text {
            "kernel" => {
                once(&self.kernel, "kernel", d)?;
                let w = line.arg(1, "kernel era (v5.16 or v6.6)")?;
                let era = w.text.parse::<Era>().map_err(|e| w.err(e.to_string()))?;
                line.end(2)?;
                self.kernel = Some((line.no, era));
            }
            "audit" => {
                once(&self.audit, "audit", d)?;
                let a = audit(line.arg(1, "audit configuration (rules, dummy or off)")?)?;
                line.end(2)?;
                self.audit = Some((line.no, a));
            }
            "sqpoll" => {
                once(&self.sqpoll, "sqpoll", d)?;
                let w = line.arg(1, "`yes` or `no`")?;
                let on = match w.text {
                    "yes" => true,
                    "no" => false,
                    other => {
                        return Err(w.err(format!("expected sqpoll yes or no, found `{other}`")))
                    }
                };
                line.end(2)?;
                self.sqpoll = Some((line.no, on));
            }
            "workers" => {
                once(&self.workers, "workers", d)?;
                let n = count(line, "workers", MAX_WORKERS)?;
                self.workers = Some((line.no, n));
            }
            "threads" => {
                once(&self.threads, "threads", d)?;
                let n = count(line, "threads", MAX_OPS_THREADS)?;
                self.threads = Some((line.no, n));
            }
            "syscall" => self.syscall(line, d)?,
            "sqe" => {
                if !in_uring {
                    return Err(d.err(
                        "`sqe` outside `syscall io_uring_enter`; an sqe line must follow \
                         `syscall io_uring_enter` or another sqe line",
                    ));
                }
                let sqe = sqe(line)?;
                if let Some(Syscall::IoUringEnter(sqes)) = self.syscalls.last_mut() {
                    if sqes.len() >= MAX_SQES {
                        return Err(d.err(format!(
                            "too many sqes in one io_uring_enter; at most {MAX_SQES} (MAX_SQES)"
                        )));
                    }
                    sqes.push(sqe);
                }
                self.in_uring = true;
            }
            "op" => {
                let tw = line.arg(1, "thread (T0, T1, …)")?;
                let t = thread(tw)?;
                let (op, to) = operation(line)?;
                self.ops.push(OpLine {
                    thread: (tw, t),
                    op,
                    to,
                });
            }
            "schedule" => {
                once(&self.schedule, "schedule", d)?;
                let slices = line
                    .words
                    .iter()
                    .skip(1)
                    .map(|w| slice(*w))
                    .collect::<Result<Vec<_>>>()?;
                self.schedule = Some((line.no, slices));
            }
            other => {
                return Err(d.err(format!(
                    "unknown directive `{other}`; expected {DIRECTIVES}"
                )))
            }
        }
        Ok(())
    }

    fn syscall(&mut self, line: &Line<'a>, d: Word<'a>) -> Result<()> {
        let w = line.arg(1, "syscall name (io_uring_enter or openat)")?;
        let sc = match w.text {
            "io_uring_enter" => {
                line.end(2)?;
                Syscall::IoUringEnter(Vec::new())
            }
            "openat" => {
                let path = path(line.arg(2, "path (p0 to p7)")?)?;
                let mut exists: Option<(Word<'_>, bool)> = None;
                let mut creat: Option<Word<'_>> = None;
                for &f in line.words.iter().skip(3) {
                    match f.text {
                        "exists" | "missing" => set_exists(&mut exists, f)?,
                        "creat" => set_flag(&mut creat, f)?,
                        other => {
                            return Err(f.err(format!(
                                "unknown flag `{other}` for syscall openat; expected exists, \
                                 missing or creat"
                            )))
                        }
                    }
                }
                Syscall::Openat {
                    path,
                    creat: creat.is_some(),
                    exists: exists.is_none_or(|(_, e)| e),
                }
            }
            other => {
                return Err(w.err(format!(
                    "unknown syscall `{other}`; expected io_uring_enter or openat"
                )))
            }
        };
        if self.syscalls.len() >= MAX_SYSCALLS {
            return Err(d.err(format!(
                "too many syscalls; at most {MAX_SYSCALLS} (MAX_SYSCALLS)"
            )));
        }
        self.in_uring = matches!(sc, Syscall::IoUringEnter(_));
        self.syscalls.push(sc);
        Ok(())
    }

    fn finish(self) -> Result<Parsed> {
        let era = self.kernel.map(|(_, e)| e);
        let audit = self.audit.map_or(AuditConfig::Rules, |(_, a)| a);
        let slices = self.schedule.map(|(_, s)| s).unwrap_or_default();
        match self.level {
            Some((Level::Ops, _, _)) => {
                let threads = self.threads.map_or(2, |(_, n)| n);
                let mut ops = Vec::with_capacity(self.ops.len());
                for o in &self.ops {
                    for (w, t) in std::iter::once(o.thread).chain(o.to) {
                        if t >= threads as u64 {
                            return Err(w.err(format!(
                                "thread `{}` out of range; `threads {threads}` gives T0 to T{}",
                                w.text,
                                threads - 1
                            )));
                        }
                    }
                    ops.push((o.thread.1 as u8, o.op));
                }
                let mut input = OpsInput {
                    audit,
                    threads,
                    ops,
                    schedule: Schedule::default(),
                };
                let names = input.program().thread_names();
                input.schedule = resolve(&slices, &names, "this program")?;
                Ok(Parsed::Ops(era, input))
            }
            _ => {
                let mut input = ScenarioInput {
                    scenario: Scenario {
                        audit,
                        sqpoll: self.sqpoll.is_some_and(|(_, s)| s),
                        workers: self.workers.map_or(1, |(_, n)| n),
                        syscalls: self.syscalls,
                    },
                    schedule: Schedule::default(),
                };
                let names = input.program().thread_names();
                input.schedule = resolve(&slices, &names, "this scenario")?;
                Ok(Parsed::Scenario(era, input))
            }
        }
    }
}

/// `exists` / `missing`: at most one of them, once.
fn set_exists<'a>(slot: &mut Option<(Word<'a>, bool)>, f: Word<'a>) -> Result<()> {
    if let Some((first, _)) = slot {
        return Err(if first.text == f.text {
            f.err(format!(
                "duplicate flag `{}` (first at column {})",
                f.text, first.col
            ))
        } else {
            f.err(format!(
                "`{}` contradicts `{}` at column {}; give at most one of exists or missing",
                f.text, first.text, first.col
            ))
        });
    }
    *slot = Some((f, f.text == "exists"));
    Ok(())
}

/// A boolean flag, at most once.
fn set_flag<'a>(slot: &mut Option<Word<'a>>, f: Word<'a>) -> Result<()> {
    if let Some(first) = slot {
        return Err(f.err(format!(
            "duplicate flag `{}` (first at column {})",
            f.text, first.col
        )));
    }
    *slot = Some(f);
    Ok(())
}

/// `sqe <op> <path> [<path2>] [flags]`.
fn sqe(line: &Line<'_>) -> Result<Sqe> {
    let op = opcode(line.arg(1, &format!("opcode ({OPCODES})"))?)?;
    let p = path(line.arg(2, "path (p0 to p7)")?)?;
    let mut next = 3;
    let mut path2 = Uptr::default();
    if op == Opcode::Renameat {
        path2 = path(line.arg(3, "new path of renameat (p0 to p7)")?)?;
        next = 4;
    }
    let mut exists = None;
    let (mut creat, mut trunc, mut async_, mut eagain) = (None, None, None, None);
    for &f in line.words.iter().skip(next) {
        match f.text {
            "exists" | "missing" => set_exists(&mut exists, f)?,
            "creat" => set_flag(&mut creat, f)?,
            "trunc" => set_flag(&mut trunc, f)?,
            "async" => set_flag(&mut async_, f)?,
            "eagain" => set_flag(&mut eagain, f)?,
            other if path(f).is_ok() => {
                return Err(f.err(format!(
                    "unexpected second path `{other}`; only renameat takes two paths"
                )))
            }
            other => return Err(f.err(format!("unknown flag `{other}`; expected {SQE_FLAGS}"))),
        }
    }
    Ok(Sqe {
        op,
        path: p,
        path2,
        creat: creat.is_some(),
        trunc: trunc.is_some(),
        exists: exists.is_none_or(|(_, e)| e),
        async_: async_.is_some(),
        eagain: eagain.is_some(),
    })
}

/// `op T<k> <operation> ...` from word 2 on.
fn operation<'a>(line: &Line<'a>) -> Result<(OpStep, Option<(Word<'a>, u64)>)> {
    let w = line.arg(2, &format!("operation ({OPERATIONS})"))?;
    let tok = |i| token(line.arg(i, "token (n0 to n63)")?);
    let mut to = None;
    let (op, n) = match w.text {
        "getname" | "getname_kernel" => {
            let p = path(line.arg(3, "path (p0 to p7)")?)?;
            let token = tok(4)?;
            let op = if w.text == "getname" {
                OpStep::Getname { uptr: p, token }
            } else {
                OpStep::GetnameKernel { path: p, token }
            };
            (op, 5)
        }
        "audit_getname" => (OpStep::AuditGetname { token: tok(3)? }, 4),
        "audit_inode" => {
            let token = tok(3)?;
            let k = line.arg(4, "`parent` or `file`")?;
            let parent = match k.text {
                "parent" => true,
                "file" => false,
                other => return Err(k.err(format!("expected parent or file, found `{other}`"))),
            };
            (OpStep::AuditInode { token, parent }, 5)
        }
        "audit_inode_child" => {
            let token = tok(3)?;
            let k = line.arg(4, "`create` or `delete`")?;
            let create = match k.text {
                "create" => true,
                "delete" => false,
                other => return Err(k.err(format!("expected create or delete, found `{other}`"))),
            };
            (OpStep::AuditInodeChild { token, create }, 5)
        }
        "putname" => (OpStep::Putname { token: tok(3)? }, 4),
        "send" => {
            let token = tok(3)?;
            let tw = line.arg(4, "receiving thread (T0, T1, …)")?;
            let t = thread(tw)?;
            to = Some((tw, t));
            (
                OpStep::Send {
                    token,
                    to: u8::try_from(t).unwrap_or(u8::MAX),
                },
                5,
            )
        }
        "receive" => (OpStep::Receive { token: tok(3)? }, 4),
        "syscall_entry" => (OpStep::SyscallEntry, 3),
        "syscall_exit" => (OpStep::SyscallExit, 3),
        "uring_entry" => (OpStep::UringEntry, 3),
        "uring_exit" => (OpStep::UringExit, 3),
        other => {
            return Err(w.err(format!(
                "unknown operation `{other}`; expected one of {OPERATIONS}"
            )))
        }
    };
    line.end(n)?;
    Ok((op, to))
}

/// `NAME`, `NAME*K` (K in 1..=255) or `NAME*`.
fn slice(w: Word<'_>) -> Result<SliceWord<'_>> {
    let (name, steps) = match w.text.split_once('*') {
        None => (w.text, 1),
        Some((name, "")) => (name, 0),
        Some((name, k)) => match number(k) {
            Some(n) if (1..=255).contains(&n) => (name, n as u8),
            Some(_) => {
                return Err(w.err(format!(
                    "slice count must be 1 to 255 (or `{name}*` to run until the thread \
                     blocks), found {k} in `{}`",
                    w.text
                )))
            }
            None => {
                return Err(w.err(format!(
                    "bad slice count `{k}` in `{}`; expected a number 1 to 255",
                    w.text
                )))
            }
        },
    };
    Ok(SliceWord {
        word: w,
        name,
        steps,
    })
}

/// Thread names to indices.
fn resolve(slices: &[SliceWord<'_>], names: &[String], whose: &str) -> Result<Schedule> {
    let mut out = Vec::with_capacity(slices.len());
    for s in slices {
        let thread = names
            .iter()
            .position(|n| n == s.name)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or_else(|| {
                s.word.err(format!(
                    "unknown thread `{}` in schedule; {whose} has threads {}",
                    s.name,
                    names.join(", ")
                ))
            })?;
        out.push(Slice {
            thread,
            steps: s.steps,
        });
    }
    Ok(Schedule { slices: out })
}
