//! Bytes → inputs, total and mutation-friendly, and the exact inverse.
//!
//! Every byte string decodes to a valid, bounded input: no rejection, no
//! length prefixes, and when the bytes run out every read is 0, which ends
//! the current list — so the empty input is a program with no work, run
//! serially. Each choice reads whole bytes through [`arbitrary::Unstructured`],
//! so a one-byte mutation changes one choice, and [`scenario_to_bytes`] /
//! [`ops_to_bytes`] can write the bytes back.
//!
//! # Layout, format version [`FORMAT_VERSION`]
//!
//! Scenario level:
//! * config byte: bits 0-1 audit (0, 3 rules; 1 dummy; 2 off), bit 2
//!   SQPOLL, bits 3-4 workers − 1 (mod 3);
//! * up to [`MAX_SYSCALLS`] syscalls, each a header byte: bit 0 clear ends
//!   the list; bit 1 clear is io_uring_enter, set is openat(2) with bits 2-4
//!   path, bit 5 O_CREAT, bit 6 missing file. An io_uring_enter is followed
//!   by up to [`MAX_SQES`] SQEs of two bytes: `a` (bit 0 clear ends the
//!   list; bits 1-3 opcode mod 6; bits 4-6 path; bit 7 O_CREAT) and `b`
//!   (bits 0-2 RENAMEAT's new path; bit 3 O_TRUNC; bit 4 missing file;
//!   bit 5 IOSQE_ASYNC; bit 6 -EAGAIN on the nonblocking attempt);
//! * the rest, up to [`MAX_SLICES`] bytes: schedule slices, bits 0-2 thread,
//!   bits 3-7 steps (0: until the thread blocks or finishes).
//!
//! Operation level:
//! * config byte: bits 0-1 audit as above, bits 2-3 threads − 2 (mod 3);
//! * up to [`MAX_OPS`] operations, each a byte (bit 0 clear ends the list;
//!   bits 1-2 thread mod threads; bits 3-7 pick among the operation kinds
//!   valid for that thread now) and, for kinds that need one, a parameter
//!   byte (bits 0-4 pick the token or path, bits 5-6 the receiving thread,
//!   bit 7 parent / create);
//! * then the decoder appends what is left to release (in-flight tokens are
//!   received and put; held tokens are put), like wasmtime's table ops;
//! * the rest: schedule slices as above.

use crate::input::{OpsInput, ScenarioInput, MAX_OPS_THREADS};
use crate::kernel::state::{AuditConfig, CtxState, Opcode, Sqe, Uptr};
use crate::kernel::task::Syscall;
use crate::ops::{OpStep, Token};
use crate::program::{Schedule, Slice};
use crate::scenario::{Scenario, MAX_SQES, MAX_SYSCALLS};
use arbitrary::{Arbitrary, Unstructured};
use std::fmt;

/// The input format's version. A change to the layout bumps it and
/// regenerates `corpus/` (the corpus `VERSION` file records it).
pub const FORMAT_VERSION: u32 = 1;
/// Most schedule slices read.
pub const MAX_SLICES: usize = 64;
/// Most generated operations (before the appended releases).
pub const MAX_OPS: usize = 48;
/// Most tokens (references) an operation-level program creates.
pub const MAX_TOKENS: usize = 24;
/// Most steps one slice byte can say.
pub const MAX_SLICE_STEPS: u8 = 31;

fn byte(u: &mut Unstructured<'_>) -> u8 {
    u.arbitrary::<u8>().unwrap_or(0)
}

const AUDITS: [AuditConfig; 4] = [
    AuditConfig::Rules,
    AuditConfig::Dummy,
    AuditConfig::Off,
    AuditConfig::Rules,
];

fn audit_bits(a: AuditConfig) -> u8 {
    match a {
        AuditConfig::Rules => 0,
        AuditConfig::Dummy => 1,
        AuditConfig::Off => 2,
    }
}

/// Slices for a program of `threads` threads: bits 0-2 pick the thread
/// (modulo the count, so every slice names a real thread).
fn decode_schedule(u: &mut Unstructured<'_>, threads: u8) -> Schedule {
    let mut slices = Vec::new();
    while !u.is_empty() && slices.len() < MAX_SLICES {
        let b = byte(u);
        slices.push(Slice {
            thread: (b & 7) % threads.max(1),
            steps: b >> 3,
        });
    }
    Schedule { slices }
}

/// Decode a scenario-level input (total: any bytes).
pub fn decode_scenario(u: &mut Unstructured<'_>) -> ScenarioInput {
    let c = byte(u);
    let mut scenario = Scenario {
        audit: AUDITS[(c & 3) as usize],
        sqpoll: c & 4 != 0,
        workers: 1 + ((c >> 3) & 3) % 3,
        syscalls: Vec::new(),
    };
    while scenario.syscalls.len() < MAX_SYSCALLS {
        let h = byte(u);
        if h & 1 == 0 {
            break;
        }
        if h & 2 != 0 {
            scenario.syscalls.push(Syscall::Openat {
                path: Uptr((h >> 2) & 7),
                creat: h & 0x20 != 0,
                exists: h & 0x40 == 0,
            });
            continue;
        }
        let mut sqes = Vec::new();
        while sqes.len() < MAX_SQES {
            let a = byte(u);
            if a & 1 == 0 {
                break;
            }
            let b = byte(u);
            let op = Opcode::ALL[(((a >> 1) & 7) % 6) as usize];
            sqes.push(Sqe {
                op,
                path: Uptr((a >> 4) & 7),
                path2: Uptr(if op == Opcode::Renameat { b & 7 } else { 0 }),
                creat: a & 0x80 != 0,
                trunc: b & 0x08 != 0,
                exists: b & 0x10 == 0,
                async_: b & 0x20 != 0,
                eagain: b & 0x40 != 0,
            });
        }
        scenario.syscalls.push(Syscall::IoUringEnter(sqes));
    }
    let threads = 1 + scenario.sqpoll as u8 + scenario.workers;
    ScenarioInput {
        scenario,
        schedule: decode_schedule(u, threads),
    }
}

/// Decode a scenario-level input from raw bytes.
pub fn scenario_from_bytes(data: &[u8]) -> ScenarioInput {
    decode_scenario(&mut Unstructured::new(data))
}

impl<'a> Arbitrary<'a> for ScenarioInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(decode_scenario(u))
    }
}

impl<'a> Arbitrary<'a> for OpsInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(decode_ops(u))
    }
}

/// Why an input cannot be written as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

fn encode_schedule(out: &mut Vec<u8>, schedule: &Schedule, threads: u8) -> Result<(), EncodeError> {
    for s in &schedule.slices {
        if s.thread >= threads {
            return Err(EncodeError(format!(
                "the schedule names thread #{} but the program has {threads} threads",
                s.thread
            )));
        }
        // Longer slices become several: the same unless the thread blocks
        // in the middle, where the rest goes to the next runnable thread.
        let mut left = s.steps;
        loop {
            let k = if left == 0 {
                0
            } else {
                left.min(MAX_SLICE_STEPS)
            };
            out.push(s.thread | (k << 3));
            left -= k;
            if left == 0 {
                break;
            }
        }
    }
    Ok(())
}

fn check_slices(len: usize) -> Result<(), EncodeError> {
    if len > MAX_SLICES {
        return Err(EncodeError(format!(
            "the schedule needs {len} slice bytes; inputs hold at most {MAX_SLICES}"
        )));
    }
    Ok(())
}

/// The bytes that decode to `input` (exactly, for inputs within the
/// bounds; schedule slices over 31 steps are split).
pub fn scenario_to_bytes(input: &ScenarioInput) -> Result<Vec<u8>, EncodeError> {
    let s = &input.scenario;
    if !(1..=crate::scenario::MAX_WORKERS).contains(&s.workers) {
        return Err(EncodeError(format!(
            "workers must be 1 to 3, not {}",
            s.workers
        )));
    }
    if s.syscalls.len() > MAX_SYSCALLS {
        return Err(EncodeError(format!("at most {MAX_SYSCALLS} syscalls")));
    }
    let mut out = vec![audit_bits(s.audit) | (s.sqpoll as u8) << 2 | (s.workers - 1) << 3];
    let path = |p: Uptr| -> Result<u8, EncodeError> {
        if p.0 > 7 {
            Err(EncodeError(format!("path {p} out of range (p0 to p7)")))
        } else {
            Ok(p.0)
        }
    };
    for sc in &s.syscalls {
        match sc {
            Syscall::Openat {
                path: p,
                creat,
                exists,
            } => out.push(1 | 2 | path(*p)? << 2 | (*creat as u8) << 5 | (!*exists as u8) << 6),
            Syscall::IoUringEnter(sqes) => {
                if sqes.len() > MAX_SQES {
                    return Err(EncodeError(format!(
                        "at most {MAX_SQES} SQEs per io_uring_enter"
                    )));
                }
                out.push(1);
                for q in sqes {
                    let op = Opcode::ALL.iter().position(|o| *o == q.op).unwrap_or(0) as u8;
                    out.push(1 | op << 1 | path(q.path)? << 4 | (q.creat as u8) << 7);
                    let p2 = if q.op == Opcode::Renameat {
                        path(q.path2)?
                    } else {
                        0
                    };
                    out.push(
                        p2 | (q.trunc as u8) << 3
                            | (!q.exists as u8) << 4
                            | (q.async_ as u8) << 5
                            | (q.eagain as u8) << 6,
                    );
                }
                if sqes.len() < MAX_SQES {
                    out.push(0);
                }
            }
        }
    }
    if s.syscalls.len() < MAX_SYSCALLS {
        out.push(0);
    }
    let start = out.len();
    let threads = 1 + s.sqpoll as u8 + s.workers;
    encode_schedule(&mut out, &input.schedule, threads)?;
    check_slices(out.len() - start)?;
    Ok(out)
}

/// The operation kinds, in the order the selector byte indexes the valid
/// ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Getname,
    GetnameKernel,
    AuditGetname,
    AuditInode,
    AuditInodeChild,
    Putname,
    Send,
    Receive,
    SyscallEntry,
    SyscallExit,
    UringEntry,
    UringExit,
}

const KINDS: [OpKind; 12] = [
    OpKind::Getname,
    OpKind::GetnameKernel,
    OpKind::AuditGetname,
    OpKind::AuditInode,
    OpKind::AuditInodeChild,
    OpKind::Putname,
    OpKind::Send,
    OpKind::Receive,
    OpKind::SyscallEntry,
    OpKind::SyscallExit,
    OpKind::UringEntry,
    OpKind::UringExit,
];

fn kind_of(op: &OpStep) -> OpKind {
    match op {
        OpStep::Getname { .. } => OpKind::Getname,
        OpStep::GetnameKernel { .. } => OpKind::GetnameKernel,
        OpStep::AuditGetname { .. } => OpKind::AuditGetname,
        OpStep::AuditInode { .. } => OpKind::AuditInode,
        OpStep::AuditInodeChild { .. } => OpKind::AuditInodeChild,
        OpStep::Putname { .. } => OpKind::Putname,
        OpStep::Send { .. } => OpKind::Send,
        OpStep::Receive { .. } => OpKind::Receive,
        OpStep::SyscallEntry => OpKind::SyscallEntry,
        OpStep::SyscallExit => OpKind::SyscallExit,
        OpStep::UringEntry => OpKind::UringEntry,
        OpStep::UringExit => OpKind::UringExit,
    }
}

/// Static ownership state while generating: who holds which token, which
/// are in flight, and each thread's audit context state.
struct Gen {
    threads: u8,
    next_token: Token,
    held: [Vec<Token>; MAX_OPS_THREADS as usize],
    inbox: [Vec<Token>; MAX_OPS_THREADS as usize],
    ctx: [CtxState; MAX_OPS_THREADS as usize],
}

impl Gen {
    fn new(threads: u8) -> Gen {
        Gen {
            threads,
            next_token: 0,
            held: Default::default(),
            inbox: Default::default(),
            ctx: [CtxState::Unused; MAX_OPS_THREADS as usize],
        }
    }

    fn valid(&self, t: usize, k: OpKind) -> bool {
        let holds = !self.held[t].is_empty();
        match k {
            OpKind::Getname | OpKind::GetnameKernel => (self.next_token as usize) < MAX_TOKENS,
            OpKind::AuditGetname
            | OpKind::AuditInode
            | OpKind::AuditInodeChild
            | OpKind::Putname => holds,
            OpKind::Send => holds && self.threads > 1,
            OpKind::Receive => !self.inbox[t].is_empty(),
            OpKind::SyscallEntry | OpKind::UringEntry => self.ctx[t] == CtxState::Unused,
            OpKind::SyscallExit => self.ctx[t] == CtxState::Syscall,
            OpKind::UringExit => self.ctx[t] == CtxState::Uring,
        }
    }

    fn valid_kinds(&self, t: usize) -> ([OpKind; 12], usize) {
        let mut out = [OpKind::Getname; 12];
        let mut n = 0;
        for k in KINDS {
            if self.valid(t, k) {
                out[n] = k;
                n += 1;
            }
        }
        (out, n)
    }

    /// The other thread selected by `sel` (never `t` itself).
    fn other(&self, t: usize, sel: u8) -> u8 {
        let k = (sel as usize) % (self.threads as usize - 1);
        (if k >= t { k + 1 } else { k }) as u8
    }

    /// Build the operation of kind `k` on thread `t` from parameter byte `p`
    /// and apply it to the ownership state.
    fn apply(&mut self, t: usize, k: OpKind, p: u8) -> OpStep {
        let pick = |v: &Vec<Token>| v[(p & 0x1f) as usize % v.len()];
        let flag = p & 0x80 != 0;
        match k {
            OpKind::Getname | OpKind::GetnameKernel => {
                let token = self.next_token;
                self.next_token += 1;
                self.held[t].push(token);
                let path = Uptr(p & 7);
                if k == OpKind::Getname {
                    OpStep::Getname { uptr: path, token }
                } else {
                    OpStep::GetnameKernel { path, token }
                }
            }
            OpKind::AuditGetname => OpStep::AuditGetname {
                token: pick(&self.held[t]),
            },
            OpKind::AuditInode => OpStep::AuditInode {
                token: pick(&self.held[t]),
                parent: flag,
            },
            OpKind::AuditInodeChild => OpStep::AuditInodeChild {
                token: pick(&self.held[t]),
                create: flag,
            },
            OpKind::Putname => {
                let token = pick(&self.held[t]);
                self.held[t].retain(|x| *x != token);
                OpStep::Putname { token }
            }
            OpKind::Send => {
                let token = pick(&self.held[t]);
                let to = self.other(t, (p >> 5) & 3);
                self.held[t].retain(|x| *x != token);
                self.inbox[to as usize].push(token);
                OpStep::Send { token, to }
            }
            OpKind::Receive => {
                let token = pick(&self.inbox[t]);
                self.inbox[t].retain(|x| *x != token);
                self.held[t].push(token);
                OpStep::Receive { token }
            }
            OpKind::SyscallEntry => {
                self.ctx[t] = CtxState::Syscall;
                OpStep::SyscallEntry
            }
            OpKind::SyscallExit => {
                self.ctx[t] = CtxState::Unused;
                OpStep::SyscallExit
            }
            OpKind::UringEntry => {
                self.ctx[t] = CtxState::Uring;
                OpStep::UringEntry
            }
            OpKind::UringExit => {
                self.ctx[t] = CtxState::Unused;
                OpStep::UringExit
            }
        }
    }

    /// What the decoder appends: in-flight tokens received and put by their
    /// receivers, then every held token put, thread by thread.
    fn releases(&self) -> Vec<(u8, OpStep)> {
        let mut out = Vec::new();
        for t in 0..self.threads as usize {
            for &token in &self.inbox[t] {
                out.push((t as u8, OpStep::Receive { token }));
                out.push((t as u8, OpStep::Putname { token }));
            }
            for &token in &self.held[t] {
                out.push((t as u8, OpStep::Putname { token }));
            }
        }
        out
    }

    fn needs_param(k: OpKind) -> bool {
        !matches!(
            k,
            OpKind::SyscallEntry | OpKind::SyscallExit | OpKind::UringEntry | OpKind::UringExit
        )
    }
}

/// Decode an operation-level input (total: any bytes). Every program obeys
/// ownership and ends holding nothing.
pub fn decode_ops(u: &mut Unstructured<'_>) -> OpsInput {
    let c = byte(u);
    let threads = 2 + ((c >> 2) & 3) % 3;
    let mut g = Gen::new(threads);
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        let b = byte(u);
        if b & 1 == 0 {
            break;
        }
        let t = (((b >> 1) & 3) % threads) as usize;
        let (kinds, n) = g.valid_kinds(t);
        let k = kinds[(b >> 3) as usize % n];
        let p = if Gen::needs_param(k) { byte(u) } else { 0 };
        let op = g.apply(t, k, p);
        ops.push((t as u8, op));
    }
    ops.extend(g.releases());
    OpsInput {
        audit: AUDITS[(c & 3) as usize],
        threads,
        ops,
        schedule: decode_schedule(u, threads),
    }
}

/// Decode an operation-level input from raw bytes.
pub fn ops_from_bytes(data: &[u8]) -> OpsInput {
    decode_ops(&mut Unstructured::new(data))
}

/// The bytes that decode to `input`. The operations must obey ownership
/// (as the decoder generates them); the trailing releases the decoder adds
/// may be present or left out.
pub fn ops_to_bytes(input: &OpsInput) -> Result<Vec<u8>, EncodeError> {
    if !(2..=MAX_OPS_THREADS).contains(&input.threads) {
        return Err(EncodeError(format!(
            "operation-level inputs have 2 to {MAX_OPS_THREADS} threads, not {}",
            input.threads
        )));
    }
    let threads = input.threads;
    let mut out = vec![audit_bits(input.audit) | (threads - 2) << 2];
    let mut g = Gen::new(threads);
    let mut i = 0;
    loop {
        if input.ops[i..] == g.releases()[..] {
            if i < MAX_OPS {
                out.push(0);
            }
            break;
        }
        if i >= MAX_OPS {
            return Err(EncodeError(format!(
                "at most {MAX_OPS} operations before the releases"
            )));
        }
        let Some(&(t, op)) = input.ops.get(i) else {
            // Ended holding references: the decoder will add the releases.
            out.push(0);
            break;
        };
        let tu = t as usize;
        if t >= threads {
            return Err(EncodeError(format!(
                "operation {} names thread T{t}",
                i + 1
            )));
        }
        let k = kind_of(&op);
        let (kinds, n) = g.valid_kinds(tu);
        let Some(ki) = kinds[..n].iter().position(|x| *x == k) else {
            return Err(EncodeError(format!(
                "operation {} ({op:?} on T{t}) is not valid there: the thread does not hold the token, or its audit context is in the wrong state",
                i + 1
            )));
        };
        // Selector: bits 3-7 index the valid kinds modulo their count.
        out.push(1 | t << 1 | (ki as u8) << 3);
        let mut p = 0;
        if Gen::needs_param(k) {
            p = param_for(&g, tu, &op).ok_or_else(|| {
                EncodeError(format!(
                    "operation {} ({op:?} on T{t}) names a token the thread cannot use",
                    i + 1
                ))
            })?;
            out.push(p);
        }
        g.apply(tu, k, p);
        i += 1;
    }
    let start = out.len();
    encode_schedule(&mut out, &input.schedule, threads)?;
    check_slices(out.len() - start)?;
    Ok(out)
}

/// The parameter byte that makes `Gen::apply` produce `op` on thread `t`.
fn param_for(g: &Gen, t: usize, op: &OpStep) -> Option<u8> {
    let idx = |v: &Vec<Token>, token: Token| v.iter().position(|x| *x == token).map(|i| i as u8);
    match *op {
        OpStep::Getname { uptr, token } | OpStep::GetnameKernel { path: uptr, token } => {
            (token == g.next_token && uptr.0 < 8).then_some(uptr.0)
        }
        OpStep::AuditGetname { token } | OpStep::Putname { token } => idx(&g.held[t], token),
        OpStep::AuditInode { token, parent } => Some(idx(&g.held[t], token)? | (parent as u8) << 7),
        OpStep::AuditInodeChild { token, create } => {
            Some(idx(&g.held[t], token)? | (create as u8) << 7)
        }
        OpStep::Send { token, to } => {
            let i = idx(&g.held[t], token)?;
            let to = to as usize;
            if to == t || to >= g.threads as usize {
                return None;
            }
            let sel = if to > t { to - 1 } else { to } as u8;
            Some(i | sel << 5)
        }
        OpStep::Receive { token } => idx(&g.inbox[t], token),
        _ => Some(0),
    }
}
