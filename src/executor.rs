//! The executor: runs a [`Program`]'s threads under a [`Schedule`].
//!
//! Each thread is a future over the shared [`Machine`]; one poll is one
//! step (see [`crate::kernel::machine`]). The schedule's slices say which
//! thread moves and for how long; a slice naming a thread that cannot move
//! goes to the next runnable thread in index order. When the slices run
//! out, the lowest-index runnable thread runs until it blocks or finishes,
//! then the next — a fixed, deterministic completion order. Every program
//! is finite, and `max_steps` bounds a run regardless.

use crate::kernel::era::Era;
use crate::kernel::io_uring::{io_sq_thread, io_wq_worker};
use crate::kernel::machine::{Machine, Status, ThreadRt, World};
use crate::kernel::state::{KernelState, Tid, MAX_THREADS};
use crate::kernel::task::user_task;
use crate::ops::ops_thread;
use crate::oracle::{KindSet, Oracle, Violation};
use crate::program::{Program, Role, Schedule};
use crate::trace::Trace;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

/// Options for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Record a [`Trace`].
    pub trace: bool,
    /// Stop after this many steps (a safety bound; programs are finite).
    pub max_steps: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            trace: false,
            max_steps: 100_000,
        }
    }
}

impl RunOptions {
    /// Default options with tracing on.
    pub fn traced() -> RunOptions {
        RunOptions {
            trace: true,
            ..RunOptions::default()
        }
    }
}

/// What a run did and found.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The era it ran in.
    pub era: Era,
    /// Violations of every kind, in the order they happened.
    pub violations: Vec<Violation>,
    /// The trace, if asked for.
    pub trace: Option<Trace>,
    /// Steps performed.
    pub steps: u32,
    /// How each thread ended (Done, Dead, or Ready if it was left blocked).
    pub threads: Vec<Status>,
    /// The kernel state at the end.
    pub kernel: KernelState,
}

impl Outcome {
    /// The violations whose kind is in `kinds`.
    pub fn failures(&self, kinds: KindSet) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(move |v| kinds.contains(v.kind))
    }

    /// The first violation whose kind is in `kinds`.
    pub fn first_failure(&self, kinds: KindSet) -> Option<&Violation> {
        self.failures(kinds).next()
    }

    /// Whether any violation of `kind` was found.
    pub fn has(&self, kind: crate::oracle::Kind) -> bool {
        self.violations.iter().any(|v| v.kind == kind)
    }
}

type ThreadFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

fn thread_main<'a>(m: &'a Machine, t: Tid, role: &'a Role) -> ThreadFuture<'a> {
    match role {
        Role::Task { syscalls, sqpoll } => Box::pin(user_task(m, t, syscalls, *sqpoll)),
        Role::SqPoll => Box::pin(io_sq_thread(m, t)),
        Role::Worker => Box::pin(io_wq_worker(m, t)),
        Role::Ops(th) => Box::pin(ops_thread(m, t, th)),
    }
}

struct Run<'a> {
    m: &'a Machine,
    futs: Vec<ThreadFuture<'a>>,
    producers: Vec<bool>,
    posters: Vec<bool>,
    steps: u32,
    max_steps: u32,
}

impl Run<'_> {
    fn poll(&mut self, t: usize) {
        let mut cx = Context::from_waker(Waker::noop());
        let ready = self.futs[t].as_mut().poll(&mut cx).is_ready();
        let mut w = self.m.w.borrow_mut();
        if ready {
            w.threads[t].status = Status::Done;
        }
        // Only a thread that finished or died can change who may run.
        if w.threads[t].status != Status::Ready {
            let finished = |i: usize| w.threads[i].status != Status::Ready;
            let producers_done =
                (0..self.producers.len()).all(|i| !self.producers[i] || finished(i));
            let posters_done = (0..self.posters.len()).all(|i| !self.posters[i] || finished(i));
            w.producers_done = producers_done;
            w.sq_posters_done = posters_done;
        }
    }

    /// Perform one step of `t`; false when the step budget is spent.
    fn step(&mut self, t: usize) -> bool {
        if self.steps >= self.max_steps {
            return false;
        }
        self.m.w.borrow_mut().step = self.steps;
        self.steps += 1;
        self.poll(t);
        true
    }

    fn runnable_set(&self) -> u8 {
        let w = self.m.w.borrow();
        (0..self.futs.len())
            .filter(|&t| w.runnable(Tid(t as u8)))
            .fold(0u8, |acc, t| acc | (1 << t))
    }
}

/// Decides which thread moves at each step.
pub trait Chooser {
    /// Pick a thread from `runnable` (a non-empty bit set, bit `t` for
    /// thread `t`).
    fn choose(&mut self, runnable: u8) -> usize;
}

/// The lowest-index runnable thread.
pub fn lowest(runnable: u8) -> usize {
    runnable.trailing_zeros() as usize
}

/// `want` if runnable, else the next runnable thread in index order.
pub fn next_runnable(runnable: u8, want: usize, n: usize) -> usize {
    (0..n)
        .map(|d| (want + d) % n)
        .find(|&t| runnable & (1 << t) != 0)
        .unwrap_or_else(|| lowest(runnable))
}

/// Follows a [`Schedule`]: each slice's thread for its steps (0: until it
/// blocks or finishes), then the fixed completion order.
pub struct ScheduleChooser<'s> {
    slices: &'s [crate::program::Slice],
    next: usize,
    current: Option<(usize, u32)>,
    threads: usize,
}

impl<'s> ScheduleChooser<'s> {
    /// A chooser for `schedule` over `threads` threads.
    pub fn new(schedule: &'s Schedule, threads: usize) -> Self {
        ScheduleChooser {
            slices: &schedule.slices,
            next: 0,
            current: None,
            threads,
        }
    }
}

impl Chooser for ScheduleChooser<'_> {
    fn choose(&mut self, runnable: u8) -> usize {
        if let Some((t, left)) = self.current {
            if left > 0 && runnable & (1 << t) != 0 {
                self.current = Some((t, left - 1));
                return t;
            }
        }
        if let Some(slice) = self.slices.get(self.next) {
            self.next += 1;
            let t = next_runnable(runnable, slice.thread as usize % self.threads, self.threads);
            let steps = if slice.steps == 0 {
                u32::MAX
            } else {
                slice.steps as u32
            };
            self.current = Some((t, steps - 1));
            return t;
        }
        // Slices spent: the lowest-index runnable thread, to completion.
        self.current = None;
        lowest(runnable)
    }
}

/// Run `program` in `era` under `schedule`.
pub fn run(program: &Program, era: Era, schedule: &Schedule, opts: &RunOptions) -> Outcome {
    let n = program.threads.len().clamp(1, MAX_THREADS);
    run_with(program, era, &mut ScheduleChooser::new(schedule, n), opts)
}

/// Run `program` in `era`, asking `chooser` which thread moves at each
/// step.
pub fn run_with(
    program: &Program,
    era: Era,
    chooser: &mut dyn Chooser,
    opts: &RunOptions,
) -> Outcome {
    let n = program.threads.len().min(MAX_THREADS);
    let mut oracle = Oracle::default();
    oracle.reset(n);
    let mut k = KernelState::new(program.audit, n);
    // Room for what a decoded input can create, so that steps do not grow
    // vectors (no allocation per step on the fuzzing path).
    k.filenames.reserve(64);
    k.requests.reserve(32);
    k.work.reserve(32);
    k.sq_ring.reserve(32);
    k.entries.reserve(32);
    oracle.on_entries(k.entries.len());
    let world = World {
        era,
        k,
        oracle,
        threads: vec![
            ThreadRt {
                pending: None,
                status: Status::Ready,
                stack: Default::default(),
            };
            n
        ],
        step: 0,
        trace: opts.trace.then(Trace::default),
        mailbox: Vec::new(),
        tokens: Vec::new(),
        producers_done: false,
        sq_posters_done: false,
    };
    let m = Machine::new(world);
    let roles = &program.threads[..n];
    let mut run = Run {
        m: &m,
        futs: roles
            .iter()
            .enumerate()
            .map(|(i, r)| thread_main(&m, Tid(i as u8), r))
            .collect(),
        producers: roles
            .iter()
            .map(|r| matches!(r, Role::Task { .. } | Role::SqPoll))
            .collect(),
        posters: roles
            .iter()
            .map(|r| matches!(r, Role::Task { .. }))
            .collect(),
        steps: 0,
        max_steps: opts.max_steps,
    };
    if roles.iter().any(|r| matches!(r, Role::Ops(_))) {
        let tokens = crate::ops::token_count(roles);
        m.w.borrow_mut().mailbox = vec![None; tokens];
    }
    // Bring every thread to its first announced access.
    for t in 0..n {
        run.poll(t);
    }
    loop {
        let runnable = run.runnable_set();
        if runnable == 0 {
            break;
        }
        let t = chooser.choose(runnable);
        if runnable & (1 << t) == 0 || !run.step(t) {
            break;
        }
    }
    let steps = run.steps;
    drop(run);
    let mut w = m.w.into_inner();
    w.oracle.finish(&w.k, steps);
    Outcome {
        era,
        violations: w.oracle.take_violations(),
        trace: w.trace,
        steps,
        threads: w.threads.iter().map(|t| t.status).collect(),
        kernel: w.k,
    }
}
