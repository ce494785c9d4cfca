//! io_uring: prep on the submitting thread, issue inline or on an io-wq
//! worker, and the SQPOLL thread. Follows io_uring/io_uring.c,
//! io_uring/openclose.c, io_uring/fs.c, io_uring/statx.c and
//! io_uring/opdef.c (all in fs/io_uring.c before 6.0).

use super::auditsc::{audit_uring_entry, audit_uring_exit};
use super::machine::Machine;
use super::namei::{
    complete_getname, delayed_getname, do_filp_open, do_mkdirat, do_renameat2, do_unlinkat,
    filename_lookup, getname_flags, putname, putname_to_delayed, OpenHow, OpenResult,
};
use super::state::{FileId, ReqId, ReqState, Request, Sqe, Tid, Uptr};
use crate::oracle::Holder;

/// What an issue attempt returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueResult {
    /// Completed (successfully or not): the request is finished.
    Done,
    /// -EAGAIN from a nonblocking attempt: punt to io-wq.
    Again,
}

/// Whether prep forces the request to io-wq (`REQ_F_FORCE_ASYNC`).
fn forced_async(m: &Machine, sqe: &Sqe) -> bool {
    if sqe.async_ {
        return true;
    }
    if !m.era().forces_async_in_prep() {
        return false;
    }
    match sqe.op {
        // io_uring/openclose.c io_openat_force_async
        super::state::Opcode::Openat | super::state::Opcode::Openat2 => sqe.creat || sqe.trunc,
        // io_uring/statx.c io_statx_prep, io_uring/fs.c *_prep
        _ => true,
    }
}

/// The request's reference on its `i`th name.
fn req_holder(r: ReqId, i: u8) -> Holder {
    Holder::Request(r, i)
}

/// io_uring/io_uring.c `io_init_req` + `io_req_prep` (the opcode's prep):
/// import the names. OPENAT / OPENAT2: `__io_openat_prep` → `getname`;
/// RENAMEAT: `getname(oldpath)`, `getname(newpath)`; UNLINKAT, MKDIRAT:
/// `getname`; STATX: `getname_uflags` from 5.19 on, nothing before (5.16's
/// `io_statx` passed the user pointer to `do_statx`).
pub async fn io_req_prep(m: &Machine, t: Tid, sqe: Sqe) -> ReqId {
    let r = m.local(|w| {
        let r = ReqId(w.k.requests.len() as u16);
        w.k.requests.push(Request {
            sqe,
            submitter: t,
            names: [None, None],
            state: ReqState::Prepped,
        });
        r
    });
    let _f = m.enter(t, "io_req_prep");
    use super::state::Opcode::*;
    let getname_now = match sqe.op {
        Statx => m.era().statx_getname_in_prep(),
        _ => true,
    };
    if getname_now {
        let prep = match sqe.op {
            Openat | Openat2 => "io_openat_prep",
            Statx => "io_statx_prep",
            Renameat => "io_renameat_prep",
            Unlinkat => "io_unlinkat_prep",
            Mkdirat => "io_mkdirat_prep",
        };
        let _g = m.enter(t, prep);
        let f = import_name(m, t, sqe.path, req_holder(r, 0)).await;
        m.local(|w| w.k.requests[r.0 as usize].names[0] = Some(f));
        if sqe.op == Renameat {
            let f2 = import_name(m, t, sqe.path2, req_holder(r, 1)).await;
            m.local(|w| w.k.requests[r.0 as usize].names[1] = Some(f2));
        }
    }
    r
}

/// A prep's import of a path: `getname` (registered with the submitter's
/// audit context), or from 7.0 `delayed_getname` (not registered).
async fn import_name(m: &Machine, t: Tid, path: Uptr, holder: Holder) -> FileId {
    if m.era().delayed_filename() {
        delayed_getname(m, t, path, holder).await
    } else {
        getname_flags(m, t, path, holder).await
    }
}

/// From 7.0 the issuing thread completes the request's delayed names
/// (`CLASS(filename_complete_delayed, …)` / `complete_getname`), which
/// registers them with its own audit context; before 7.0 prep did that.
async fn complete_names(m: &Machine, t: Tid, req: &Request) {
    if !m.era().delayed_filename() {
        return;
    }
    for f in req.names.into_iter().flatten() {
        complete_getname(m, t, f).await;
    }
}

/// io_uring/io_uring.c `io_issue_sqe`: `audit_uring_entry` / the opcode's
/// issue / `audit_uring_exit`, unless the opcode has `audit_skip`.
pub async fn io_issue_sqe(m: &Machine, t: Tid, r: ReqId, nonblock: bool) -> IssueResult {
    let _f = m.enter(t, "io_issue_sqe");
    let req = m.local(|w| w.k.requests[r.0 as usize].clone());
    let audit = !req.sqe.op.audit_skip();
    if audit {
        audit_uring_entry(m, t);
    }
    let res = issue_op(m, t, r, &req, nonblock).await;
    if audit {
        audit_uring_exit(m, t).await;
    }
    if res == IssueResult::Done {
        m.local(|w| w.k.requests[r.0 as usize].state = ReqState::Done);
    }
    res
}

async fn issue_op(m: &Machine, t: Tid, r: ReqId, req: &Request, nonblock: bool) -> IssueResult {
    use super::state::Opcode::*;
    let sqe = req.sqe;
    let name = req.names[0];
    match sqe.op {
        Openat => {
            let _f = m.enter(t, "io_openat");
            io_openat2(m, t, r, req, nonblock).await
        }
        Openat2 => io_openat2(m, t, r, req, nonblock).await,
        // io_uring/fs.c: the ops that can block return -EAGAIN when
        // nonblocking (5.16; 6.x forces them async at prep).
        Renameat | Unlinkat | Mkdirat | Statx if nonblock => IssueResult::Again,
        Renameat => {
            let _f = m.enter(t, "io_renameat");
            complete_names(m, t, req).await;
            if let (Some(from), Some(to)) = (name, req.names[1]) {
                do_renameat2(
                    m,
                    t,
                    from,
                    to,
                    sqe.exists,
                    [req_holder(r, 0), req_holder(r, 1)],
                )
                .await;
            }
            IssueResult::Done
        }
        Unlinkat => {
            let _f = m.enter(t, "io_unlinkat");
            complete_names(m, t, req).await;
            if let Some(f) = name {
                do_unlinkat(m, t, f, sqe.exists, req_holder(r, 0)).await;
            }
            IssueResult::Done
        }
        Mkdirat => {
            let _f = m.enter(t, "io_mkdirat");
            complete_names(m, t, req).await;
            if let Some(f) = name {
                do_mkdirat(m, t, f, sqe.exists, req_holder(r, 0)).await;
            }
            IssueResult::Done
        }
        Statx => {
            let _f = m.enter(t, "io_statx");
            let _g = m.enter(t, "do_statx");
            match name {
                // 7.0: completed here, put when io_statx's scope ends.
                Some(f) if m.era().delayed_filename() => {
                    drop(_g);
                    complete_names(m, t, req).await;
                    let _g = m.enter(t, "do_statx");
                    filename_lookup(m, t, f, sqe.exists).await;
                    drop(_g);
                    putname(m, t, f, req_holder(r, 0)).await;
                }
                // 6.x: the name from prep; io_statx_cleanup puts it.
                Some(f) => {
                    filename_lookup(m, t, f, sqe.exists).await;
                    drop(_g);
                    let _h = m.enter(t, "io_statx_cleanup");
                    putname(m, t, f, req_holder(r, 0)).await;
                }
                // 5.16: do_statx → vfs_statx → user_path_at imports the
                // user pointer on this thread and puts it.
                None => {
                    let local = Holder::Local(t, r.0);
                    let f = getname_flags(m, t, sqe.path, local).await;
                    filename_lookup(m, t, f, sqe.exists).await;
                    putname(m, t, f, local).await;
                }
            }
            IssueResult::Done
        }
    }
}

/// io_uring/openclose.c `io_openat2`: a nonblocking attempt of an O_CREAT /
/// O_TRUNC open returns -EAGAIN at once (5.16; 6.x never tries), a
/// LOOKUP_CACHED miss returns -EAGAIN keeping the name; otherwise
/// `do_filp_open` and `putname(open->filename)`. From 7.0 the name is
/// completed first (`name __free(putname) = complete_getname(…)`) and an
/// -EAGAIN gives it back with `putname_to_delayed`.
async fn io_openat2(m: &Machine, t: Tid, r: ReqId, req: &Request, nonblock: bool) -> IssueResult {
    let _f = m.enter(t, "io_openat2");
    let sqe = req.sqe;
    let Some(f) = req.names[0] else {
        return IssueResult::Done;
    };
    if nonblock && (sqe.creat || sqe.trunc) {
        return IssueResult::Again;
    }
    complete_names(m, t, req).await;
    let how = OpenHow {
        creat: sqe.creat,
        exists: sqe.exists,
        cached_miss: nonblock && sqe.eagain,
    };
    if do_filp_open(m, t, f, how).await == OpenResult::Again {
        if m.era().delayed_filename() {
            let back = putname_to_delayed(m, t, f, req_holder(r, 0)).await;
            m.local(|w| w.k.requests[r.0 as usize].names[0] = Some(back));
        }
        return IssueResult::Again;
    }
    putname(m, t, f, req_holder(r, 0)).await;
    IssueResult::Done
}

/// io_uring/io_uring.c `io_submit_sqe` → `io_queue_sqe`: prep, then punt
/// (`io_queue_async_work`) when forced async, else a nonblocking issue that
/// punts on -EAGAIN.
pub async fn io_submit_sqe(m: &Machine, t: Tid, sqe: Sqe) {
    let _f = m.enter(t, "io_submit_sqe");
    let r = io_req_prep(m, t, sqe).await;
    let _g = m.enter(t, "io_queue_sqe");
    if !forced_async(m, &sqe) && io_issue_sqe(m, t, r, true).await == IssueResult::Done {
        return;
    }
    let _h = m.enter(t, "io_queue_async_work");
    m.enqueue(t, r).await;
}

/// io_uring/io-wq.c `io_wq_worker` loop → io_uring/io_uring.c
/// `io_wq_submit_work`: take requests off the work list and issue them
/// blocking, until no more can arrive.
pub async fn io_wq_worker(m: &Machine, t: Tid) {
    let _f = m.enter(t, "io_wq_worker");
    loop {
        let Some(r) = m.dequeue(t).await else {
            break;
        };
        let _g = m.enter(t, "io_wq_submit_work");
        io_issue_sqe(m, t, r, false).await;
    }
}

/// io_uring/sqpoll.c `io_sq_thread` → `__io_sq_thread` →
/// `io_submit_sqes`: take the SQEs the task posted and submit them, with
/// the SQPOLL thread's own audit context (UNUSED during prep).
pub async fn io_sq_thread(m: &Machine, t: Tid) {
    let _f = m.enter(t, "io_sq_thread");
    loop {
        let Some(sqe) = m.sq_take(t).await else {
            break;
        };
        let _g = m.enter(t, "io_submit_sqes");
        io_submit_sqe(m, t, sqe).await;
    }
}
