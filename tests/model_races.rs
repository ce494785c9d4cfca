//! Interleavings: the seed document's underflow, a lost decrement, the
//! stale audit entry, and exhaustive schedules of race-free paths.

use filename_refcount::explore::explore;
use filename_refcount::kernel::machine::Op;
use filename_refcount::kernel::state::{AuditConfig, EntryChange, Opcode, Sqe, Tid, Uptr};
use filename_refcount::trace::TraceStep;
use filename_refcount::{run, Era, Kind, KindSet, RunOptions, Scenario, Schedule};

/// How many of `thread`'s own steps, in the serial trace of `sc`, run up to
/// and including the first one matching `pred`.
fn steps_until(sc: &Scenario, era: Era, thread: u8, pred: impl Fn(&TraceStep) -> bool) -> u8 {
    let out = run(
        &sc.compile(),
        era,
        &Schedule::serial(),
        &RunOptions::traced(),
    );
    let mine: Vec<&TraceStep> = out
        .trace
        .as_ref()
        .expect("traced")
        .steps
        .iter()
        .filter(|s| s.thread == Tid(thread))
        .collect();
    let i = mine.iter().position(|s| pred(s)).expect("step found");
    (i + 1) as u8
}

fn in_fn(s: &TraceStep, f: &str) -> bool {
    s.stack.contains(&f)
}

fn is_load(s: &TraceStep) -> bool {
    matches!(s.op, Op::Load(_) | Op::AtomicRead(_))
}

fn is_update(s: &TraceStep) -> bool {
    s.is_refcount_update()
}

fn kinds(out: &filename_refcount::Outcome, set: KindSet) -> Vec<Kind> {
    let mut k: Vec<Kind> = out.failures(set).map(|v| v.kind).collect();
    k.sort();
    k.dedup();
    k
}

fn seed_scenario() -> Scenario {
    let sqe = Sqe {
        op: Opcode::Openat,
        path: Uptr(0),
        creat: true,
        exists: true,
        async_: true,
        ..Sqe::default()
    };
    Scenario::uring(AuditConfig::Rules, &[sqe])
}

/// The seed document's interleaving for `era`: S loads 2 for its
/// syscall-exit putname; W's `__audit_inode` takes the count to 3; S stores
/// 1; W's putname frees; W's uring-exit putname runs.
fn seed_schedule(era: Era) -> Schedule {
    let sc = seed_scenario();
    let s_load = steps_until(&sc, era, 0, |s| in_fn(s, "syscall_exit_work") && is_load(s));
    let w_inc = steps_until(&sc, era, 1, |s| in_fn(s, "__audit_inode") && is_update(s));
    Schedule::of(&[(0, s_load), (1, w_inc), (0, 1), (1, 0)])
}

#[test]
fn seed_interleaving_underflows_in_v5_16() {
    let sc = seed_scenario();
    let out = run(
        &sc.compile(),
        Era::V5_16,
        &seed_schedule(Era::V5_16),
        &RunOptions::traced(),
    );
    assert_eq!(
        kinds(&out, KindSet::REFCOUNT),
        vec![Kind::Underflow, Kind::UseAfterFree, Kind::LostUpdate]
    );
    // The root cause comes first: S's store overwrote W's increment.
    let lost = out.first_failure(KindSet::REFCOUNT).unwrap();
    assert_eq!(lost.kind, Kind::LostUpdate);
    assert_eq!(
        (lost.site.thread, lost.site.function, lost.value),
        (Tid(0), "putname", 1)
    );
    let other = lost.other.unwrap();
    assert_eq!((other.thread, other.function), (Tid(1), "__audit_inode"));
    // The BUG is in the worker's uring-exit putname, on freed memory.
    let bug = out
        .failures(KindSet::NONE.with(Kind::Underflow))
        .next()
        .unwrap();
    assert_eq!(
        (bug.site.thread, bug.site.function, bug.value),
        (Tid(1), "putname", 0)
    );
    let uaf = out
        .failures(KindSet::NONE.with(Kind::UseAfterFree))
        .next()
        .unwrap();
    assert_eq!(uaf.site.thread, Tid(1));
    assert_eq!(
        uaf.other.unwrap().thread,
        Tid(1),
        "freed by W's io_openat2 putname"
    );
    // The worker died on the BUG.
    assert_eq!(
        out.threads[1],
        filename_refcount::kernel::machine::Status::Dead
    );
    // The counts along the way: 1, 2, (S loads 2), 3, 1 (lost), 0 (free).
    let ups: Vec<i32> = out
        .trace
        .unwrap()
        .refcount_updates()
        .iter()
        .map(|u| u.2)
        .collect();
    assert_eq!(ups, vec![1, 2, 3, 1, 0]);
}

#[test]
fn seed_interleaving_is_clean_in_v6_6() {
    let sc = seed_scenario();
    let out = run(
        &sc.compile(),
        Era::V6_6,
        &seed_schedule(Era::V6_6),
        &RunOptions::traced(),
    );
    assert_eq!(kinds(&out, KindSet::REFCOUNT), vec![]);
    let ups: Vec<i32> = out
        .trace
        .unwrap()
        .refcount_updates()
        .iter()
        .map(|u| u.2)
        .collect();
    assert_eq!(ups, vec![1, 2, 3, 2, 1, 0]);
}

/// A plain IOSQE_ASYNC openat (no O_CREAT): S and W both load 2 and both
/// store 1, so one decrement is lost and the name leaks.
#[test]
fn lost_decrement_leaks_in_v5_16() {
    let sqe = Sqe {
        op: Opcode::Openat,
        path: Uptr(0),
        exists: true,
        async_: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    let sched = |era| {
        let s_load = steps_until(&sc, era, 0, |s| in_fn(s, "syscall_exit_work") && is_load(s));
        let w_load = steps_until(&sc, era, 1, |s| in_fn(s, "io_openat2") && is_load(s));
        Schedule::of(&[(0, s_load), (1, w_load), (0, 1), (1, 0)])
    };
    let out = run(
        &sc.compile(),
        Era::V5_16,
        &sched(Era::V5_16),
        &RunOptions::default(),
    );
    assert_eq!(
        kinds(&out, KindSet::REFCOUNT),
        vec![Kind::Leak, Kind::LostUpdate]
    );
    let leak = out.failures(KindSet::NONE.with(Kind::Leak)).next().unwrap();
    assert_eq!(
        (leak.value, leak.holders_left),
        (1, 0),
        "refcnt 1, no holder left"
    );
    let out6 = run(
        &sc.compile(),
        Era::V6_6,
        &sched(Era::V6_6),
        &RunOptions::default(),
    );
    assert_eq!(kinds(&out6, KindSet::REFCOUNT), vec![]);
}

/// With rules loaded, a punted openat whose worker runs after S's syscall
/// exit follows `aname` into S's reset entry — in both eras.
#[test]
fn worker_after_syscall_exit_touches_stale_audit_entry() {
    let sqe = Sqe {
        op: Opcode::Openat,
        path: Uptr(0),
        exists: true,
        async_: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    for era in Era::SUBMITTER_AUDIT {
        let out = run(
            &sc.compile(),
            era,
            &Schedule::serial(),
            &RunOptions::default(),
        );
        let stale: Vec<_> = out.failures(KindSet::STALE).collect();
        assert_eq!(stale.len(), 1, "{era}");
        assert_eq!(stale[0].site.thread, Tid(1));
        assert_eq!(stale[0].site.function, "__audit_inode");
        assert_eq!(stale[0].change, Some(EntryChange::Reset));
        assert_eq!(stale[0].other.unwrap().function, "audit_free_names");
        assert_eq!(kinds(&out, KindSet::REFCOUNT), vec![], "{era}");
    }
    // A later syscall on S reuses the slot: a worker that runs while S is
    // inside it reads and writes S's new, unrelated entry.
    let mut sc2 = sc.clone();
    sc2.syscalls
        .push(filename_refcount::kernel::task::Syscall::Openat {
            path: Uptr(5),
            creat: false,
            exists: true,
        });
    for era in Era::SUBMITTER_AUDIT {
        let reuse = steps_until(&sc2, era, 0, |s| {
            in_fn(s, "__x64_sys_openat") && matches!(s.op, Op::EntryMemset(_))
        });
        let sched = Schedule::of(&[(0, reuse), (1, 0)]);
        let out = run(&sc2.compile(), era, &sched, &RunOptions::default());
        let stale: Vec<_> = out.failures(KindSet::STALE).collect();
        assert_eq!(stale.len(), 1, "{era}");
        assert_eq!(stale[0].change, Some(EntryChange::Reused), "{era}");
    }
    // If the worker runs before S's syscall exit, nothing is stale.
    let enq = steps_until(&sc, Era::V6_6, 0, |s| matches!(s.op, Op::Enqueue(_)));
    let out = run(
        &sc.compile(),
        Era::V6_6,
        &Schedule::of(&[(0, enq), (1, 0)]),
        &RunOptions::default(),
    );
    assert_eq!(
        out.failures(KindSet::ALL).collect::<Vec<_>>(),
        Vec::<&filename_refcount::Violation>::new()
    );
}

/// No refcount violation under any schedule, in either era, for: an inline
/// openat (the worker idles until the task is done: one schedule), SQPOLL
/// inline (the task posts, Q does everything: one schedule) and SQPOLL
/// punted (Q's last step, the empty ring check, against each point in the
/// worker's run).
#[test]
fn sqpoll_and_inline_are_race_free_under_every_schedule() {
    let open = Sqe {
        op: Opcode::Openat,
        path: Uptr(0),
        exists: true,
        ..Sqe::default()
    };
    let inline = Scenario::uring(AuditConfig::Rules, &[open]);
    let sq_inline = Scenario {
        sqpoll: true,
        ..inline.clone()
    };
    let punted = Sqe {
        async_: true,
        creat: true,
        ..open
    };
    let sq_punted = Scenario {
        sqpoll: true,
        ..Scenario::uring(AuditConfig::Rules, &[punted])
    };
    for era in Era::SUBMITTER_AUDIT {
        let worker_steps = {
            let out = run(
                &sq_punted.compile(),
                era,
                &Schedule::serial(),
                &RunOptions::traced(),
            );
            // W's steps other than its final empty dequeue, which must wait
            // for Q's exit.
            out.trace
                .unwrap()
                .steps
                .iter()
                .filter(|s| s.thread == Tid(2))
                .count()
        };
        for (sc, want) in [
            (&inline, 1),
            (&sq_inline, 1),
            (&sq_punted, worker_steps + 1),
        ] {
            let mut bad = Vec::new();
            let n = explore(&sc.compile(), era, 100_000, |schedule, out| {
                if out.failures(KindSet::REFCOUNT).next().is_some() {
                    bad.push(schedule.clone());
                }
                true
            });
            assert_eq!(bad, vec![], "{era}: {sc:?}");
            assert_eq!(n, want, "{era}: schedule count for {sc:?}");
        }
    }
}

/// The seed scenario explored exhaustively: v5.16 has failing schedules of
/// every refcount kind but DoubleFree; v6.6 has none.
#[test]
fn seed_scenario_exhaustively() {
    let sc = seed_scenario();
    let mut found = KindSet::NONE;
    let mut failing = 0;
    let total = explore(&sc.compile(), Era::V5_16, 1_000_000, |_, out| {
        for v in out.failures(KindSet::REFCOUNT) {
            found = found.with(v.kind);
        }
        failing += out.failures(KindSet::REFCOUNT).next().is_some() as usize;
        true
    });
    assert!(failing > 0 && failing < total);
    for k in [
        Kind::Underflow,
        Kind::UseAfterFree,
        Kind::Leak,
        Kind::LostUpdate,
    ] {
        assert!(found.contains(k), "{k} reachable in v5.16");
    }
    let mut clean = true;
    explore(&sc.compile(), Era::V6_6, 1_000_000, |_, out| {
        clean &= out.failures(KindSet::REFCOUNT).next().is_none();
        true
    });
    assert!(clean, "v6.6 has no refcount violation under any schedule");
}
