//! The machine: kernel state shared by the modelled threads, and the
//! accesses to it that are scheduling points.
//!
//! Model functions are `async fn`s. Each access to state another thread can
//! touch is one `.await` on a [`Step`]: the first poll *announces* the access
//! (it becomes the thread's pending operation) and yields; the next poll —
//! when the executor schedules that thread — performs it, reports to the
//! oracle, and runs the thread's local work up to its next announced access.
//! So one poll is one step, and thread-local work is never a step.
//!
//! Nothing here allocates per step; the trace is recorded only when the run
//! asked for it.

use super::era::Era;
use super::state::{
    AnamePtr, AuditName, EntryChange, EntryId, FileId, KernelState, NameType, ReqId, Sqe, Tid,
};
use crate::oracle::{Holder, Oracle, Site};
use crate::trace::{Trace, TraceStep};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One shared access: what a step does. Announced before it happens, so it
/// is also what a blocked or preempted thread is about to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `getname_flags` / `getname_kernel`: allocate, `refcnt = 1`.
    Alloc(FileId),
    /// Plain load of `refcnt`.
    Load(FileId),
    /// Plain store of `refcnt`.
    Store(FileId, i32),
    /// `atomic_inc(&refcnt)`.
    AtomicInc(FileId),
    /// `atomic_read(&refcnt)`.
    AtomicRead(FileId),
    /// `atomic_dec_and_test(&refcnt)`.
    AtomicDecAndTest(FileId),
    /// `__putname` (+ `kfree`): the filename is freed.
    Free(FileId),
    /// Read `name->aname`.
    AnameLoad(FileId),
    /// Write `name->aname`.
    AnameStore(FileId, EntryId),
    /// Read the string `name->name` (path walk, `strcmp`).
    NameRead(FileId),
    /// Read an `audit_names` entry reached through `aname`.
    EntryRead(EntryId),
    /// Write an `audit_names` entry (type, inode) reached through `aname`.
    EntryWrite(EntryId),
    /// `audit_alloc_name` memsets a preallocated slot for reuse.
    EntryMemset(EntryId),
    /// `list_del(&n->list)` in `audit_free_names`: the entry leaves its
    /// context's list (a reset; `filename->aname` still points to it).
    EntryUnlink(EntryId),
    /// `kfree` of a kzalloc'd `audit_names`.
    EntryFree(EntryId),
    /// `io_queue_async_work`: put a request on the io-wq list.
    Enqueue(ReqId),
    /// An io-wq worker takes the next request (blocks while the list is
    /// empty and a submitter may still add to it).
    Dequeue,
    /// The task writes SQEs to the SQPOLL ring.
    SqPost,
    /// The SQPOLL thread takes the next SQE (blocks while the ring is empty
    /// and the task may still post).
    SqTake,
    /// Hand the reference behind a token to another thread.
    Send(u16),
    /// Receive a handed-off reference (blocks until it is sent).
    Receive(u16),
}

impl Op {
    /// The operation's kind for traces and JSON.
    pub fn kind(self) -> &'static str {
        match self {
            Op::Alloc(_) => "alloc",
            Op::Load(_) => "load",
            Op::Store(..) => "store",
            Op::AtomicInc(_) | Op::AtomicDecAndTest(_) => "rmw",
            Op::AtomicRead(_) => "load",
            Op::Free(_) => "free",
            Op::AnameLoad(_) | Op::NameRead(_) => "field read",
            Op::AnameStore(..) => "field write",
            Op::EntryRead(_) => "entry read",
            Op::EntryWrite(_) => "entry write",
            Op::EntryMemset(_) => "entry reuse",
            Op::EntryUnlink(_) => "entry unlink",
            Op::EntryFree(_) => "entry free",
            Op::Enqueue(_) => "enqueue",
            Op::Dequeue => "dequeue",
            Op::SqPost => "sq post",
            Op::SqTake => "sq take",
            Op::Send(_) => "send",
            Op::Receive(_) => "receive",
        }
    }

    /// The filename the operation touches, if any.
    pub fn filename(self) -> Option<FileId> {
        match self {
            Op::Alloc(f)
            | Op::Load(f)
            | Op::Store(f, _)
            | Op::AtomicInc(f)
            | Op::AtomicRead(f)
            | Op::AtomicDecAndTest(f)
            | Op::Free(f)
            | Op::AnameLoad(f)
            | Op::AnameStore(f, _)
            | Op::NameRead(f) => Some(f),
            _ => None,
        }
    }

    /// The audit_names entry the operation touches, if any.
    pub fn entry(self) -> Option<EntryId> {
        match self {
            Op::AnameStore(_, e)
            | Op::EntryRead(e)
            | Op::EntryWrite(e)
            | Op::EntryMemset(e)
            | Op::EntryUnlink(e)
            | Op::EntryFree(e) => Some(e),
            _ => None,
        }
    }
}

/// Deepest model call chain.
pub const MAX_DEPTH: usize = 16;

/// A thread's model call chain, outermost first.
#[derive(Clone, Copy, Debug)]
pub struct CallStack {
    frames: [&'static str; MAX_DEPTH],
    len: u8,
}

impl Default for CallStack {
    fn default() -> Self {
        CallStack {
            frames: [""; MAX_DEPTH],
            len: 0,
        }
    }
}

impl CallStack {
    /// The frames, outermost first.
    pub fn frames(&self) -> &[&'static str] {
        &self.frames[..self.len as usize]
    }

    /// The innermost frame.
    pub fn top(&self) -> &'static str {
        self.frames().last().copied().unwrap_or("(thread start)")
    }

    fn push(&mut self, f: &'static str) {
        if (self.len as usize) < MAX_DEPTH {
            self.frames[self.len as usize] = f;
        }
        self.len = self.len.saturating_add(1);
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

/// Where a thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It has announced its next access (`pending`).
    Ready,
    /// Its program ended.
    Done,
    /// It hit a BUG (oops): the kernel kills the task, it never runs again.
    Dead,
}

/// Per-thread run-time state.
#[derive(Clone, Debug)]
pub struct ThreadRt {
    /// The access the thread will perform when next scheduled.
    pub pending: Option<Op>,
    /// Ready, done or dead.
    pub status: Status,
    /// The model call chain.
    pub stack: CallStack,
}

/// How a refcount step changes the ghost holders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ghost {
    /// No change (a load, or a store that is not an update of ownership).
    None,
    /// The update gives `Holder` a reference.
    Take(Holder),
    /// The update is `Holder` dropping its reference.
    Release(Holder),
}

/// Everything one run mutates.
#[derive(Debug)]
pub struct World {
    /// The kernel era.
    pub era: Era,
    /// Kernel state.
    pub k: KernelState,
    /// Ghost state and violations.
    pub oracle: Oracle,
    /// Per-thread run-time state.
    pub threads: Vec<ThreadRt>,
    /// The index of the step being performed.
    pub step: u32,
    /// The trace, when asked for.
    pub trace: Option<Trace>,
    /// Ops-level hand-offs in flight: token → the receiving thread.
    pub mailbox: Vec<Option<Tid>>,
    /// Ops-level tokens: token → the filename it references.
    pub tokens: Vec<Option<FileId>>,
    /// Whether the task that feeds the io-wq list / SQ ring has finished.
    pub producers_done: bool,
    /// Whether the task that posts to the SQ ring has finished.
    pub sq_posters_done: bool,
}

impl World {
    /// Where thread `t` is now.
    pub fn site(&self, t: Tid) -> Site {
        Site {
            thread: t,
            function: self.threads[t.ix()].stack.top(),
            step: self.step,
        }
    }

    fn record(&mut self, t: Tid, op: Op, before: Option<i32>, after: Option<i32>) {
        let Some(trace) = self.trace.as_mut() else {
            return;
        };
        let holders = op
            .filename()
            .map(|f| self.oracle.holder_count(f) as u8)
            .unwrap_or(0);
        trace.steps.push(TraceStep {
            index: self.step,
            thread: t,
            stack: self.threads[t.ix()].stack.frames().to_vec(),
            op,
            before,
            after,
            holders,
        });
    }

    fn ghost(&mut self, f: FileId, g: Ghost) {
        match g {
            Ghost::None => {}
            Ghost::Take(h) => self.oracle.take(f, h),
            Ghost::Release(h) => self.oracle.release(f, h),
        }
    }

    /// Bind an operation-level token to a filename.
    pub fn set_token(&mut self, token: u16, f: FileId) {
        let i = token as usize;
        if self.tokens.len() <= i {
            self.tokens.resize(i + 1, None);
        }
        self.tokens[i] = Some(f);
    }

    /// Whether the pending operation of `t` can run now.
    pub fn runnable(&self, t: Tid) -> bool {
        let th = &self.threads[t.ix()];
        if th.status != Status::Ready {
            return false;
        }
        match th.pending {
            Some(Op::Dequeue) => !self.k.work.is_empty() || self.producers_done,
            Some(Op::SqTake) => !self.k.sq_ring.is_empty() || self.sq_posters_done,
            Some(Op::Receive(tok)) => self.mailbox.get(tok as usize).copied().flatten() == Some(t),
            _ => true,
        }
    }
}

/// The shared world, borrowed by every thread's future.
#[derive(Debug)]
pub struct Machine {
    era: Era,
    /// The state. Borrowed only inside a step or a local-work helper, never
    /// across an `.await`.
    pub w: RefCell<World>,
}

/// A future that announces `op`, yields once, then runs `f` on the world.
pub struct Step<'m, F> {
    m: &'m Machine,
    t: Tid,
    op: Op,
    f: Option<F>,
    announced: bool,
}

impl<R, F: FnOnce(&mut World) -> R + Unpin> Future for Step<'_, F> {
    type Output = R;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        if !this.announced {
            this.announced = true;
            this.m.w.borrow_mut().threads[this.t.ix()].pending = Some(this.op);
            return Poll::Pending;
        }
        let mut w = this.m.w.borrow_mut();
        w.threads[this.t.ix()].pending = None;
        match this.f.take() {
            Some(f) => Poll::Ready(f(&mut w)),
            // A step is polled once more only if the executor misbehaves;
            // stay pending rather than run the access twice.
            None => Poll::Pending,
        }
    }
}

/// Pops a model function's name off the thread's call chain when dropped.
pub struct Frame<'m> {
    m: &'m Machine,
    t: Tid,
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.m.w.try_borrow_mut() {
            w.threads[self.t.ix()].stack.pop();
        }
    }
}

/// A future that never completes: a thread that oopsed.
struct Never;

impl Future for Never {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Machine {
    /// A machine in `era` over `world`.
    pub fn new(world: World) -> Machine {
        Machine {
            era: world.era,
            w: RefCell::new(world),
        }
    }

    /// The kernel era.
    pub fn era(&self) -> Era {
        self.era
    }

    /// Push `function` on `t`'s call chain until the returned guard drops.
    pub fn enter(&self, t: Tid, function: &'static str) -> Frame<'_> {
        self.w.borrow_mut().threads[t.ix()].stack.push(function);
        Frame { m: self, t }
    }

    /// Run thread-local work on the state (not a step).
    pub fn local<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.w.borrow_mut())
    }

    /// One step performing `op`.
    pub fn step<R, F: FnOnce(&mut World) -> R + Unpin>(&self, t: Tid, op: Op, f: F) -> Step<'_, F> {
        Step {
            m: self,
            t,
            op,
            f: Some(f),
            announced: false,
        }
    }

    /// The thread hit a BUG: mark it dead; the returned future never
    /// completes, so nothing after it runs.
    pub async fn oops(&self, t: Tid) {
        self.w.borrow_mut().threads[t.ix()].status = Status::Dead;
        Never.await
    }

    /// Allocate a `struct filename` with `refcnt = 1` for `holder`
    /// (`getname_flags` / `getname_kernel`). The new object is private until
    /// published, but the allocation is a step so traces show update 1.
    pub async fn alloc_name(
        &self,
        t: Tid,
        uptr: Option<super::state::Uptr>,
        path: super::state::Uptr,
        holder: Holder,
    ) -> FileId {
        // The id is the allocation order, fixed when the step runs: another
        // thread may allocate between this thread's announcement and its
        // step.
        let next = self.local(|w| FileId(w.k.filenames.len() as u16));
        self.step(t, Op::Alloc(next), move |w| {
            let f = FileId(w.k.filenames.len() as u16);
            w.k.filenames.push(super::state::Filename {
                refcnt: 1,
                uptr,
                path,
                aname: None,
                freed: false,
            });
            let site = w.site(t);
            w.oracle.on_alloc(f, site, holder);
            w.record(t, Op::Alloc(f), None, Some(1));
            f
        })
        .await
    }

    /// Plain load of `name->refcnt`.
    pub async fn load(&self, t: Tid, f: FileId) -> i32 {
        self.step(t, Op::Load(f), move |w| {
            let v = w.k.name(f).refcnt;
            let site = w.site(t);
            w.oracle.on_load(f, site, v);
            w.record(t, Op::Load(f), Some(v), Some(v));
            v
        })
        .await
    }

    /// Plain store of `value` to `name->refcnt`.
    pub async fn store(&self, t: Tid, f: FileId, value: i32, g: Ghost) {
        self.step(t, Op::Store(f, value), move |w| {
            let before = w.k.name(f).refcnt;
            w.k.name_mut(f).refcnt = value;
            let site = w.site(t);
            w.oracle.on_store(f, site, value);
            w.ghost(f, g);
            w.record(t, Op::Store(f, value), Some(before), Some(value));
        })
        .await
    }

    /// `atomic_read(&name->refcnt)`.
    pub async fn atomic_read(&self, t: Tid, f: FileId) -> i32 {
        self.step(t, Op::AtomicRead(f), move |w| {
            let v = w.k.name(f).refcnt;
            let site = w.site(t);
            w.oracle.on_read(f, site, "atomic_read refcnt", v);
            w.record(t, Op::AtomicRead(f), Some(v), Some(v));
            v
        })
        .await
    }

    /// An atomic add of `delta` (`atomic_inc`, `atomic_dec_and_test`);
    /// returns the new value.
    pub async fn atomic_add(&self, t: Tid, f: FileId, delta: i32, g: Ghost) -> i32 {
        let op = if delta > 0 {
            Op::AtomicInc(f)
        } else {
            Op::AtomicDecAndTest(f)
        };
        self.step(t, op, move |w| {
            let before = w.k.name(f).refcnt;
            let after = before + delta;
            w.k.name_mut(f).refcnt = after;
            let site = w.site(t);
            w.oracle.on_rmw(f, site, after);
            w.ghost(f, g);
            w.record(t, op, Some(before), Some(after));
            after
        })
        .await
    }

    /// Free the filename (`__putname`, plus `kfree` of a separately
    /// allocated struct); `g` is the ghost change when the free itself drops
    /// the last reference (7.0's `putname` frees at 1 without a store).
    pub async fn free_name(&self, t: Tid, f: FileId, g: Ghost) {
        self.step(t, Op::Free(f), move |w| {
            let v = w.k.name(f).refcnt;
            let site = w.site(t);
            w.oracle.on_free(f, site);
            w.ghost(f, g);
            w.k.name_mut(f).freed = true;
            w.record(t, Op::Free(f), Some(v), None);
        })
        .await
    }

    /// Read `name->aname`.
    pub async fn aname_load(&self, t: Tid, f: FileId) -> Option<AnamePtr> {
        self.step(t, Op::AnameLoad(f), move |w| {
            let n = w.k.name(f);
            let (a, v) = (n.aname, n.refcnt);
            let site = w.site(t);
            w.oracle.on_read(f, site, "read name->aname", v);
            w.record(t, Op::AnameLoad(f), Some(v), Some(v));
            a
        })
        .await
    }

    /// Write `name->aname = e`.
    pub async fn aname_store(&self, t: Tid, f: FileId, e: EntryId) {
        self.step(t, Op::AnameStore(f, e), move |w| {
            let gen = w.k.entry(e).gen;
            let v = w.k.name(f).refcnt;
            w.k.name_mut(f).aname = Some(AnamePtr { entry: e, gen });
            let site = w.site(t);
            w.oracle.on_write(f, site, "write name->aname", v);
            w.record(t, Op::AnameStore(f, e), Some(v), Some(v));
        })
        .await
    }

    /// Read the string `name->name` (path walk, `strcmp`).
    pub async fn name_read(&self, t: Tid, f: FileId) {
        self.step(t, Op::NameRead(f), move |w| {
            let v = w.k.name(f).refcnt;
            let site = w.site(t);
            w.oracle.on_read(f, site, "read name->name", v);
            w.record(t, Op::NameRead(f), Some(v), Some(v));
        })
        .await
    }

    fn check_entry(w: &mut World, t: Tid, p: AnamePtr, access: &'static str) {
        let n = w.k.entry(p.entry);
        if n.gen != p.gen {
            let change = n.last_change;
            let site = w.site(t);
            w.oracle.on_stale_entry(p.entry, site, access, change);
        }
    }

    /// Read `n->type` of the entry `aname` points to.
    pub async fn entry_read_type(&self, t: Tid, p: AnamePtr) -> NameType {
        self.step(t, Op::EntryRead(p.entry), move |w| {
            Self::check_entry(w, t, p, "read aname->type");
            w.record(t, Op::EntryRead(p.entry), None, None);
            w.k.entry(p.entry).ty
        })
        .await
    }

    /// Write type and inode of the entry `aname` points to (`__audit_inode`'s
    /// `out:` label with `audit_copy_inode`).
    pub async fn entry_write(&self, t: Tid, p: AnamePtr, ty: NameType, ino: u32) {
        self.step(t, Op::EntryWrite(p.entry), move |w| {
            Self::check_entry(w, t, p, "write aname->type, ino");
            let n = w.k.entry_mut(p.entry);
            n.ty = ty;
            n.ino = Some(ino);
            w.record(t, Op::EntryWrite(p.entry), None, None);
        })
        .await
    }

    /// A step that makes entry `e` no longer the one any existing `aname`
    /// pointed to: `apply` changes it, its generation moves on, and the
    /// oracle learns who did it.
    async fn change_entry(
        &self,
        t: Tid,
        op: Op,
        e: EntryId,
        change: EntryChange,
        apply: impl FnOnce(&mut AuditName) + Unpin,
    ) {
        self.step(t, op, move |w| {
            let n = w.k.entry_mut(e);
            apply(n);
            n.gen += 1;
            n.last_change = Some(change);
            let site = w.site(t);
            w.oracle.on_entry_change(e, site);
            w.record(t, op, None, None);
        })
        .await
    }

    /// `memset(aname, 0, …)` of a preallocated slot by `audit_alloc_name`.
    pub async fn entry_memset(&self, t: Tid, e: EntryId, ty: NameType) {
        let reuse = move |n: &mut AuditName| {
            n.ty = ty;
            n.name = None;
            n.ino = None;
            n.should_free = false;
            n.linked = true;
        };
        self.change_entry(t, Op::EntryMemset(e), e, EntryChange::Reused, reuse)
            .await
    }

    /// `list_del(&n->list)`: the entry leaves its context's list; from now
    /// on an access through a filename's `aname` reaches a reset entry.
    pub async fn entry_unlink(&self, t: Tid, e: EntryId) {
        let unlink = |n: &mut AuditName| n.linked = false;
        self.change_entry(t, Op::EntryUnlink(e), e, EntryChange::Reset, unlink)
            .await
    }

    /// `kfree(n)` of a kzalloc'd `audit_names`.
    pub async fn entry_free(&self, t: Tid, e: EntryId) {
        let free = |n: &mut AuditName| n.freed = true;
        self.change_entry(t, Op::EntryFree(e), e, EntryChange::Freed, free)
            .await
    }

    /// `io_queue_async_work`: append `r` to the io-wq list.
    pub async fn enqueue(&self, t: Tid, r: ReqId) {
        self.step(t, Op::Enqueue(r), move |w| {
            w.k.requests[r.0 as usize].state = super::state::ReqState::Queued;
            w.k.work.push_back(r);
            w.record(t, Op::Enqueue(r), None, None);
        })
        .await
    }

    /// An io-wq worker takes the next request; `None` when the list is
    /// empty and no submitter is left.
    pub async fn dequeue(&self, t: Tid) -> Option<ReqId> {
        self.step(t, Op::Dequeue, move |w| {
            let r = w.k.work.pop_front();
            if let Some(r) = r {
                w.k.requests[r.0 as usize].state = super::state::ReqState::Running;
                w.record(t, Op::Dequeue, None, Some(r.0 as i32));
            }
            r
        })
        .await
    }

    /// The task posts SQEs to the SQPOLL ring.
    pub async fn sq_post(&self, t: Tid, sqes: &[Sqe]) {
        self.step(t, Op::SqPost, move |w| {
            w.k.sq_ring.extend(sqes.iter().copied());
            w.record(t, Op::SqPost, None, Some(sqes.len() as i32));
        })
        .await
    }

    /// The SQPOLL thread takes the next SQE; `None` when the ring is empty
    /// and the task has finished.
    pub async fn sq_take(&self, t: Tid) -> Option<Sqe> {
        self.step(t, Op::SqTake, move |w| {
            let s = w.k.sq_ring.pop_front();
            if s.is_some() {
                w.record(t, Op::SqTake, None, None);
            }
            s
        })
        .await
    }

    /// Hand the reference behind `token` to thread `to`.
    pub async fn send(&self, t: Tid, token: u16, to: Tid) {
        self.step(t, Op::Send(token), move |w| {
            if let Some(slot) = w.mailbox.get_mut(token as usize) {
                *slot = Some(to);
            }
            w.record(t, Op::Send(token), None, None);
        })
        .await
    }

    /// Receive the reference behind `token` (blocks until sent).
    pub async fn receive(&self, t: Tid, token: u16) {
        self.step(t, Op::Receive(token), move |w| {
            if let Some(slot) = w.mailbox.get_mut(token as usize) {
                *slot = None;
            }
            w.record(t, Op::Receive(token), None, None);
        })
        .await
    }

    /// Move ghost ownership of `f` from `from` to `to` (a hand-off).
    pub fn transfer(&self, f: FileId, from: Holder, to: Holder) {
        self.local(|w| {
            w.oracle.release(f, from);
            w.oracle.take(f, to);
        });
    }
}
