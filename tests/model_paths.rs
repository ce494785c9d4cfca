//! The paths (a)–(f) of shared/kernel-model.md under the serial schedule:
//! the exact refcount updates, worked out by hand from the kernel source,
//! and no refcount violation, in both eras where prep registers names with
//! the submitter (5.16 and 6.6; 7.0 is in tests/model_v7_0.rs).

use filename_refcount::kernel::state::{AuditConfig, Opcode, Sqe, Uptr};
use filename_refcount::kernel::task::Syscall;
use filename_refcount::{run, Era, Kind, KindSet, RunOptions, Scenario, Schedule};

mod common;
use common::open;

type U = (&'static str, &'static str, i32);

fn updates(sc: &Scenario, era: Era) -> (Vec<(String, &'static str, i32)>, Vec<Kind>) {
    let program = sc.compile();
    let names = program.thread_names();
    let out = run(&program, era, &Schedule::serial(), &RunOptions::traced());
    let ups = out
        .trace
        .as_ref()
        .expect("traced")
        .refcount_updates()
        .into_iter()
        .map(|(t, f, v)| (names[t.ix()].clone(), f, v))
        .collect();
    let kinds = out.failures(KindSet::REFCOUNT).map(|v| v.kind).collect();
    (ups, kinds)
}

fn check(sc: &Scenario, expected: &[U]) {
    for era in Era::SUBMITTER_AUDIT {
        let (ups, kinds) = updates(sc, era);
        let want: Vec<(String, &str, i32)> = expected
            .iter()
            .map(|&(t, f, v)| (t.to_string(), f, v))
            .collect();
        assert_eq!(ups, want, "refcount updates in {era}");
        assert_eq!(kinds, vec![], "refcount violations in {era}");
    }
}

const GET: &str = "getname_flags";
const AUDIT: &str = "__audit_getname";
const INODE: &str = "__audit_inode";
const PUT: &str = "putname";

/// (a) Inline OPENAT: all on S. The worker's `__audit_inode` shortcut
/// changes no count; io_openat2's putname, then the syscall exit's.
#[test]
fn path_a_inline_openat() {
    let sc = Scenario::uring(AuditConfig::Rules, &[open(0)]);
    check(
        &sc,
        &[("S", GET, 1), ("S", AUDIT, 2), ("S", PUT, 1), ("S", PUT, 0)],
    );
}

/// (b) O_CREAT on an existing file, punted: the six updates of the seed
/// document, in its order (serially, S's syscall exit comes first).
#[test]
fn path_b_creat_existing_is_the_seed_documents_six_updates() {
    let sqe = Sqe {
        creat: true,
        async_: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("W1", INODE, 2),
            ("W1", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (b) O_CREAT forced async without IOSQE_ASYNC: the same six updates
/// (5.16: the nonblocking attempt returns -EAGAIN at once; 6.6: prep forces
/// async).
#[test]
fn path_b_creat_forced_async() {
    let sqe = Sqe {
        creat: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("W1", INODE, 2),
            ("W1", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (b) any other punted open: the worker takes the shortcut and puts once;
/// its uring exit resets an empty context.
#[test]
fn path_b_plain_async_openat() {
    let sqe = Sqe {
        async_: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (b) O_CREAT of a new file: parent shortcut, then `audit_inode_child` in
/// the worker's empty list makes anonymous entries without a reference.
#[test]
fn path_b_creat_new_file() {
    let sqe = Sqe {
        creat: true,
        exists: false,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (c) The nonblocking attempt on S misses the dcache (-EAGAIN, no count
/// change), then the punt: as the plain async open.
#[test]
fn path_c_eagain_then_punt() {
    let sqe = Sqe {
        eagain: true,
        ..open(0)
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (d) openat(2): all on S.
#[test]
fn path_d_plain_openat_syscall() {
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
        &[("S", GET, 1), ("S", AUDIT, 2), ("S", PUT, 1), ("S", PUT, 0)],
    );
}

/// (e) RENAMEAT: per name S does +1 +1; the worker's parent lookups take
/// the shortcut, its `audit_inode_child` calls take no reference, and
/// `do_renameat2` puts each name once.
#[test]
fn path_e_renameat() {
    let sqe = Sqe {
        op: Opcode::Renameat,
        path: Uptr(0),
        path2: Uptr(1),
        exists: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    check(
        &sc,
        &[
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", PUT, 1),
            ("S", PUT, 1),
            ("W1", PUT, 0),
            ("W1", PUT, 0),
        ],
    );
}

/// (e) UNLINKAT and MKDIRAT likewise, one name each.
#[test]
fn path_e_unlinkat_mkdirat() {
    for (op, exists) in [(Opcode::Unlinkat, true), (Opcode::Mkdirat, false)] {
        let sqe = Sqe {
            op,
            path: Uptr(0),
            exists,
            ..Sqe::default()
        };
        let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
        check(
            &sc,
            &[
                ("S", GET, 1),
                ("S", AUDIT, 2),
                ("S", PUT, 1),
                ("W1", PUT, 0),
            ],
        );
    }
}

/// (e) Two SQEs with the same user pointer in one io_uring_enter share one
/// filename: the second prep's `__audit_reusename` hit adds a reference.
#[test]
fn path_e_shared_user_pointer() {
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
            ("S", GET, 1),
            ("S", AUDIT, 2),
            ("S", "__audit_reusename", 3),
            ("S", PUT, 2),
            ("W1", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// (f) SQPOLL, inline: Q preps with an UNUSED context (no audit
/// reference); at issue its context is URING: `__audit_inode` adds one,
/// io_openat2 puts one, the uring exit puts the last.
#[test]
fn path_f_sqpoll_inline() {
    let sc = Scenario {
        sqpoll: true,
        ..Scenario::uring(AuditConfig::Rules, &[open(0)])
    };
    check(
        &sc,
        &[("Q", GET, 1), ("Q", INODE, 2), ("Q", PUT, 1), ("Q", PUT, 0)],
    );
}

/// (f) SQPOLL, punted: the same updates on the worker after Q's prep.
#[test]
fn path_f_sqpoll_punted() {
    let sqe = Sqe {
        async_: true,
        ..open(0)
    };
    let sc = Scenario {
        sqpoll: true,
        ..Scenario::uring(AuditConfig::Rules, &[sqe])
    };
    check(
        &sc,
        &[
            ("Q", GET, 1),
            ("W1", INODE, 2),
            ("W1", PUT, 1),
            ("W1", PUT, 0),
        ],
    );
}

/// STATX has `audit_skip`: in 6.6 S's prep registers the name and the
/// worker (never in a uring context) only puts it; in 5.16 the worker
/// imports the user pointer itself and nothing is shared.
#[test]
fn statx_differs_between_eras() {
    let sqe = Sqe {
        op: Opcode::Statx,
        path: Uptr(0),
        exists: true,
        ..Sqe::default()
    };
    let sc = Scenario::uring(AuditConfig::Rules, &[sqe]);
    let (v5, k5) = updates(&sc, Era::V5_16);
    let (v6, k6) = updates(&sc, Era::V6_6);
    let s = |v: &[(String, &str, i32)]| -> Vec<(String, String, i32)> {
        v.iter()
            .map(|(t, f, n)| (t.clone(), f.to_string(), *n))
            .collect()
    };
    let want5 = vec![
        ("W1".to_string(), GET.to_string(), 1),
        ("W1".to_string(), PUT.to_string(), 0),
    ];
    let want6 = vec![
        ("S".to_string(), GET.to_string(), 1),
        ("S".to_string(), AUDIT.to_string(), 2),
        ("S".to_string(), PUT.to_string(), 1),
        ("W1".to_string(), PUT.to_string(), 0),
    ];
    assert_eq!(s(&v5), want5);
    assert_eq!(s(&v6), want6);
    assert!(k5.is_empty() && k6.is_empty());
}

/// With audit off or without rules no reference is shared: the request's
/// one reference is put by whoever issues it.
#[test]
fn no_rules_no_audit_reference() {
    for audit in [AuditConfig::Off, AuditConfig::Dummy] {
        let sqe = Sqe {
            creat: true,
            async_: true,
            ..open(0)
        };
        let sc = Scenario::uring(audit, &[sqe]);
        check(&sc, &[("S", GET, 1), ("W1", PUT, 0)]);
    }
}

/// More than AUDIT_NAMES names in one syscall: the sixth entry is
/// kzalloc'd and kfree'd by the reset; counts still balance.
#[test]
fn more_than_five_names_in_one_syscall() {
    let sqes: Vec<Sqe> = (0..6).map(open).collect();
    let sc = Scenario::uring(AuditConfig::Rules, &sqes);
    let mut want = Vec::new();
    for _ in 0..6 {
        want.extend([("S", GET, 1), ("S", AUDIT, 2), ("S", PUT, 1)]);
    }
    want.extend([("S", PUT, 0); 6]);
    check(&sc, &want);
    let out = run(
        &sc.compile(),
        Era::V6_6,
        &Schedule::serial(),
        &RunOptions::default(),
    );
    let heap: Vec<_> = out
        .kernel
        .entries
        .iter()
        .filter(|e| e.slot.is_none())
        .collect();
    assert_eq!(heap.len(), 1, "one kzalloc'd entry");
    assert!(heap[0].freed, "kfree'd by audit_free_names");
}
