//! Linux 7.0 (Al Viro's `delayed_filename` series, `int refcnt` again):
//! the paths' refcount events worked out by hand from the patches, and the
//! series' claim that no reference is ever visible to two threads — so the
//! plain `int` is safe — checked over every schedule of small scenarios.

use filename_refcount::explore::explore;
use filename_refcount::kernel::machine::Op;
use filename_refcount::kernel::state::{AuditConfig, Opcode, Sqe, Uptr};
use filename_refcount::kernel::task::Syscall;
use filename_refcount::{run, Era, KindSet, RunOptions, Scenario, Schedule};

mod common;
use common::open;

/// Every refcount event: (thread, function, value after), with `-1` for
/// a free (7.0 frees the last reference without storing 0).
fn events(sc: &Scenario) -> Vec<(String, &'static str, i32)> {
    let program = sc.compile();
    let names = program.thread_names();
    let out = run(
        &program,
        Era::V7_0,
        &Schedule::serial(),
        &RunOptions::traced(),
    );
    assert_eq!(out.violations, vec![], "{sc:?}");
    out.trace
        .unwrap()
        .steps
        .iter()
        .filter(|s| s.is_refcount_update() || matches!(s.op, Op::Free(_)))
        .map(|s| {
            let v = if matches!(s.op, Op::Free(_)) {
                FREE
            } else {
                s.after.unwrap()
            };
            (names[s.thread.ix()].clone(), s.function(), v)
        })
        .collect()
}

const FREE: i32 = -1;

/// More schedules than any scenario here has: the searches are exhaustive.
const LIMIT: usize = 100_000;

fn check(sc: &Scenario, want: &[(&str, &str, i32)]) {
    let want: Vec<(String, &str, i32)> = want
        .iter()
        .map(|&(t, f, v)| (t.to_string(), f, v))
        .collect();
    assert_eq!(events(sc), want);
}

const DELAYED: &str = "delayed_getname";
const AUDIT: &str = "__audit_getname";
const PUT: &str = "putname";

/// (a) inline: S imports without audit, completes (registering with its
/// syscall context) when it issues, and puts twice.
#[test]
fn inline_openat() {
    let sc = Scenario::uring(AuditConfig::Rules, &[open(0)]);
    check(
        &sc,
        &[
            ("S", DELAYED, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("S", PUT, FREE),
        ],
    );
}

/// (b) the reporter's reproducer: after S's prep the worker alone touches
/// the name — it registers it in its own context.
#[test]
fn creat_existing_async_stays_on_the_worker() {
    let sqe = Sqe {
        creat: true,
        async_: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", DELAYED, 1),
            ("W1", AUDIT, 2),
            ("W1", "__audit_inode", 3),
            ("W1", PUT, 2),
            ("W1", PUT, 1),
            ("W1", PUT, FREE),
        ],
    );
}

/// (c) -EAGAIN after S completed (registered) the name: `putname_to_delayed`
/// sees a shared name, drops S's request reference and hands the request a
/// fresh copy, so S's audit entry and the worker never share one.
#[test]
fn eagain_hands_the_worker_a_fresh_copy() {
    let sqe = Sqe {
        eagain: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", DELAYED, 1),
            ("S", AUDIT, 2),
            ("S", "putname_to_delayed", 1),
            ("S", "do_getname_kernel", 1),
            ("S", PUT, FREE),
            ("W1", AUDIT, 2),
            ("W1", PUT, 1),
            ("W1", PUT, FREE),
        ],
    );
    let out = run(
        &sc.compile(),
        Era::V7_0,
        &Schedule::serial(),
        &RunOptions::default(),
    );
    assert_eq!(
        out.kernel.filenames.len(),
        2,
        "the copy is a second filename"
    );
}

/// Two SQEs with one user pointer: no `audit_reusename` any more, so two
/// filenames. Each worker's parent lookup finds its own entry (completed
/// there), so `may_delete`'s `audit_inode_child` finds that parent and the
/// new child entry takes a reference too — on the worker only.
#[test]
fn shared_user_pointer_gets_two_names() {
    let sqe = Sqe {
        op: Opcode::Unlinkat,
        path: Uptr(3),
        exists: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe, sqe]);
    check(
        &sc,
        &[
            ("S", DELAYED, 1),
            ("S", DELAYED, 1),
            ("W1", AUDIT, 2),
            ("W1", "__audit_inode_child", 3),
            ("W1", PUT, 2),
            ("W1", PUT, 1),
            ("W1", PUT, FREE),
            ("W1", AUDIT, 2),
            ("W1", "__audit_inode_child", 3),
            ("W1", PUT, 2),
            ("W1", PUT, 1),
            ("W1", PUT, FREE),
        ],
    );
}

/// (f) SQPOLL, inline on Q.
#[test]
fn sqpoll_inline() {
    let sc = Scenario {
        sqpoll: true,
        ..Scenario::uring(AuditConfig::Rules, &[open(0)])
    };
    check(
        &sc,
        &[
            ("Q", DELAYED, 1),
            ("Q", AUDIT, 2),
            ("Q", PUT, 1),
            ("Q", PUT, FREE),
        ],
    );
}

/// (d) openat(2): `getname` still registers at once, without reuse.
#[test]
fn openat_syscall() {
    let sc = Scenario {
        syscalls: vec![Syscall::Openat {
            path: Uptr(0),
            creat: false,
            exists: true,
        }],
        ..Scenario::default()
    };
    check(
        &sc,
        &[
            ("S", "getname_flags", 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("S", PUT, FREE),
        ],
    );
}

/// STATX (`audit_skip`): completed on a worker whose context is unused, so
/// no audit reference at all; `io_statx` puts it.
#[test]
fn statx() {
    let sqe = Sqe {
        op: Opcode::Statx,
        path: Uptr(0),
        exists: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(&sc, &[("S", DELAYED, 1), ("W1", PUT, FREE)]);
}

/// The 7.0 claim, checked: over every schedule of each scenario, no
/// violation of any kind — no lost update of the plain `int`, and no stale
/// `aname` either — where 5.16 fails on the same scenarios.
#[test]
fn no_reference_is_shared_under_any_schedule() {
    let creat = Sqe {
        creat: true,
        async_: true,
        ..open(0)
    };
    let eagain = Sqe {
        eagain: true,
        ..open(1)
    };
    let unlink = Sqe {
        op: Opcode::Unlinkat,
        path: Uptr(2),
        exists: true,
        async_: true,
        ..Sqe::default()
    };
    let scenarios = [
        Scenario::uring(AuditConfig::Rules, &[creat]),
        Scenario::uring(AuditConfig::Rules, &[eagain]),
        Scenario::uring(AuditConfig::Rules, &[unlink, unlink]),
        Scenario {
            sqpoll: true,
            ..Scenario::uring(AuditConfig::Rules, &[creat])
        },
        Scenario {
            syscalls: vec![
                Syscall::IoUringEnter(vec![creat]),
                Syscall::IoUringEnter(vec![Sqe {
                    async_: true,
                    ..open(1)
                }]),
            ],
            ..Scenario::default()
        },
    ];
    let mut total = 0;
    for sc in &scenarios {
        let mut bad = 0;
        let n = explore(&sc.compile(), Era::V7_0, LIMIT, |_, out| {
            bad += out.failures(KindSet::ALL).next().is_some() as usize;
            true
        });
        assert!(n < LIMIT, "{sc:?}: the search must be exhaustive");
        assert_eq!(bad, 0, "{sc:?}: {bad} of {n} schedules fail in v7.0");
        total += n;
        // SQPOLL was race-free before 7.0 too (path (f)).
        let mut legacy_bad = 0;
        explore(&sc.compile(), Era::V5_16, LIMIT, |_, out| {
            legacy_bad += out.failures(KindSet::ALL).next().is_some() as usize;
            legacy_bad == 0
        });
        assert_eq!(legacy_bad > 0, !sc.sqpoll, "{sc:?} in v5.16");
    }
    // After queueing, S often has nothing left that touches a name (its
    // context holds none), so some scenarios have a single schedule; the
    // ones with a later syscall or an inline attempt interleave.
    assert!(total > 2 * scenarios.len(), "{total} schedules in all");
}
