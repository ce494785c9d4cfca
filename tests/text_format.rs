//! The text format: printer/parser round trips on seeded random inputs,
//! exact error positions, a no-panic sweep over mutated texts, and one
//! hand-written reproducer parsed field by field.

use filename_refcount::input::{OpsInput, ScenarioInput};
use filename_refcount::kernel::state::{AuditConfig, Opcode, Sqe, Uptr};
use filename_refcount::kernel::task::Syscall;
use filename_refcount::ops::OpStep;
use filename_refcount::text::{ops_to_text, parse, scenario_to_text, Parsed, TextError};
use filename_refcount::{Era, Scenario, Schedule, Slice};

mod common;
use common::Rng;

fn era(rng: &mut Rng) -> Option<Era> {
    match rng.below(3) {
        0 => None,
        1 => Some(Era::V5_16),
        _ => Some(Era::V6_6),
    }
}

fn audit(rng: &mut Rng) -> AuditConfig {
    [AuditConfig::Off, AuditConfig::Dummy, AuditConfig::Rules][rng.below(3) as usize]
}

fn steps(rng: &mut Rng) -> u8 {
    match rng.below(4) {
        0 => 0,
        1 => 1,
        2 => rng.u8_below(16),
        _ => rng.next() as u8,
    }
}

fn schedule(rng: &mut Rng, threads: u8) -> Schedule {
    let n = rng.below(13) as usize;
    Schedule {
        slices: (0..n)
            .map(|_| Slice {
                thread: rng.u8_below(threads),
                steps: steps(rng),
            })
            .collect(),
    }
}

fn sqe(rng: &mut Rng) -> Sqe {
    let op = Opcode::ALL[rng.below(Opcode::ALL.len() as u64) as usize];
    Sqe {
        op,
        path: Uptr(rng.u8_below(8)),
        path2: if op == Opcode::Renameat {
            Uptr(rng.u8_below(8))
        } else {
            Uptr(0)
        },
        creat: rng.bool(),
        trunc: rng.bool(),
        exists: rng.bool(),
        async_: rng.bool(),
        eagain: rng.bool(),
    }
}

fn scenario_input(rng: &mut Rng) -> ScenarioInput {
    let sqpoll = rng.bool();
    let workers = 1 + rng.u8_below(3);
    let syscalls = (0..rng.below(5))
        .map(|_| {
            if rng.below(3) == 0 {
                Syscall::Openat {
                    path: Uptr(rng.u8_below(8)),
                    creat: rng.bool(),
                    exists: rng.bool(),
                }
            } else {
                Syscall::IoUringEnter((0..rng.below(9)).map(|_| sqe(rng)).collect())
            }
        })
        .collect();
    let threads = 1 + sqpoll as u8 + workers;
    ScenarioInput {
        scenario: Scenario {
            audit: audit(rng),
            sqpoll,
            workers,
            syscalls,
        },
        schedule: schedule(rng, threads),
    }
}

fn op_step(rng: &mut Rng, threads: u8) -> OpStep {
    let token = rng.below(64) as u16;
    let p = Uptr(rng.u8_below(8));
    match rng.below(12) {
        0 => OpStep::Getname { uptr: p, token },
        1 => OpStep::GetnameKernel { path: p, token },
        2 => OpStep::AuditGetname { token },
        3 => OpStep::AuditInode {
            token,
            parent: rng.bool(),
        },
        4 => OpStep::AuditInodeChild {
            token,
            create: rng.bool(),
        },
        5 => OpStep::Putname { token },
        6 => OpStep::Send {
            token,
            to: rng.u8_below(threads),
        },
        7 => OpStep::Receive { token },
        8 => OpStep::SyscallEntry,
        9 => OpStep::SyscallExit,
        10 => OpStep::UringEntry,
        _ => OpStep::UringExit,
    }
}

fn ops_input(rng: &mut Rng) -> OpsInput {
    let threads = 1 + rng.u8_below(4);
    let ops = (0..rng.below(21))
        .map(|_| (rng.u8_below(threads), op_step(rng, threads)))
        .collect();
    OpsInput {
        audit: audit(rng),
        threads,
        ops,
        schedule: schedule(rng, threads),
    }
}

#[test]
fn scenario_round_trip() {
    let mut rng = Rng::new(0x5eed_0001);
    for case in 0..2000 {
        let input = scenario_input(&mut rng);
        let era = era(&mut rng);
        let text = scenario_to_text(&input, era);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        assert_eq!(
            parsed,
            Parsed::Scenario(era, input.clone()),
            "case {case}:\n{text}"
        );
        let Parsed::Scenario(era2, back) = parsed else {
            unreachable!()
        };
        assert_eq!(scenario_to_text(&back, era2), text, "case {case}");
    }
}

#[test]
fn ops_round_trip() {
    let mut rng = Rng::new(0x5eed_0002);
    for case in 0..2000 {
        let input = ops_input(&mut rng);
        let era = era(&mut rng);
        let text = ops_to_text(&input, era);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        assert_eq!(
            parsed,
            Parsed::Ops(era, input.clone()),
            "case {case}:\n{text}"
        );
        let Parsed::Ops(era2, back) = parsed else {
            unreachable!()
        };
        assert_eq!(ops_to_text(&back, era2), text, "case {case}");
    }
}

#[test]
fn empty_text_is_default_scenario() {
    for text in ["", "\n\n", "# only a comment\n   \t\n"] {
        assert_eq!(
            parse(text),
            Ok(Parsed::Scenario(None, ScenarioInput::default()))
        );
    }
}

#[test]
fn hand_written_seed_interleaving() {
    let text = "\
# the seed interleaving, written by hand
\tkernel   v5.16     # the int refcount
audit rules
   syscall io_uring_enter
        sqe openat p0 creat async\texists   # flags in any order
# schedule: task, then worker
schedule S*7  W1*10 S\tW1*
";
    let want = ScenarioInput {
        scenario: Scenario {
            audit: AuditConfig::Rules,
            sqpoll: false,
            workers: 1,
            syscalls: vec![Syscall::IoUringEnter(vec![Sqe {
                op: Opcode::Openat,
                path: Uptr(0),
                path2: Uptr(0),
                creat: true,
                trunc: false,
                exists: true,
                async_: true,
                eagain: false,
            }])],
        },
        schedule: Schedule {
            slices: vec![
                Slice {
                    thread: 0,
                    steps: 7,
                },
                Slice {
                    thread: 1,
                    steps: 10,
                },
                Slice {
                    thread: 0,
                    steps: 1,
                },
                Slice {
                    thread: 1,
                    steps: 0,
                },
            ],
        },
    };
    assert_eq!(parse(text), Ok(Parsed::Scenario(Some(Era::V5_16), want)));
}

#[test]
fn hand_written_ops() {
    let text = "op T1 receive n3\nthreads 3 # after the op line\nop T0 send n3 T1\n\
                kernel 6.6\nschedule T2* T0*2";
    let want = OpsInput {
        audit: AuditConfig::Rules,
        threads: 3,
        ops: vec![
            (1, OpStep::Receive { token: 3 }),
            (0, OpStep::Send { token: 3, to: 1 }),
        ],
        schedule: Schedule::of(&[(2, 0), (0, 2)]),
    };
    assert_eq!(parse(text), Ok(Parsed::Ops(Some(Era::V6_6), want)));
}

/// The error `text` gives, checked for position and message.
#[track_caller]
fn error(text: &str, line: usize, column: usize, part: &str) -> TextError {
    let e = match parse(text) {
        Err(e) => e,
        Ok(p) => panic!("expected an error for {text:?}, parsed {p:?}"),
    };
    assert_eq!(
        (e.line, e.column),
        (line, column),
        "position of {e} for {text:?}"
    );
    assert!(
        e.message.contains(part),
        "message {:?} lacks {part:?}",
        e.message
    );
    e
}

#[test]
fn error_unknown_directive() {
    let e = error("audit rules\n  foo bar\n", 2, 3, "unknown directive `foo`");
    assert!(e.message.contains(
        "expected kernel, audit, sqpoll, workers, syscall, sqe, threads, op or schedule"
    ));
    assert_eq!(e.to_string(), format!("line 2, column 3: {}", e.message));
}

#[test]
fn error_unknown_opcode() {
    error(
        "syscall io_uring_enter\nsqe opn p0\n",
        2,
        5,
        "unknown opcode `opn`; expected one of openat, openat2, statx, renameat, unlinkat, mkdirat",
    );
}

#[test]
fn error_unknown_flag() {
    error(
        "syscall io_uring_enter\n sqe openat p0 creatt\n",
        2,
        16,
        "unknown flag `creatt`; expected exists, missing, creat, trunc, async or eagain",
    );
    error(
        "syscall openat p1 async\n",
        1,
        19,
        "unknown flag `async` for syscall openat",
    );
}

#[test]
fn error_duplicate_flags() {
    error(
        "syscall io_uring_enter\nsqe openat p0 exists missing\n",
        2,
        22,
        "`missing` contradicts `exists`",
    );
    error(
        "syscall io_uring_enter\nsqe openat p0 creat async creat\n",
        2,
        27,
        "duplicate flag `creat` (first at column 15)",
    );
    error(
        "syscall openat p0 missing missing\n",
        1,
        27,
        "duplicate flag `missing`",
    );
}

#[test]
fn error_duplicate_lines() {
    error(
        "# x\nkernel v6.6\nkernel v6.6\n",
        3,
        1,
        "duplicate `kernel` line (first on line 2)",
    );
    error(
        "schedule\nschedule S\n",
        2,
        1,
        "duplicate `schedule` line (first on line 1)",
    );
}

#[test]
fn error_sqe_outside_io_uring_enter() {
    error(
        "sqe openat p0\n",
        1,
        1,
        "`sqe` outside `syscall io_uring_enter`",
    );
    error(
        "syscall openat p0 exists\n  sqe openat p0\n",
        2,
        3,
        "`sqe` outside `syscall io_uring_enter`",
    );
    error(
        "syscall io_uring_enter\nsqe statx p1\nschedule S\nsqe statx p2\n",
        4,
        1,
        "`sqe` outside",
    );
}

#[test]
fn error_workers_and_threads_range() {
    error("workers 7\n", 1, 9, "workers must be 1 to 3, found 7");
    error("workers 0\n", 1, 9, "workers must be 1 to 3, found 0");
    error(
        "workers three\n",
        1,
        9,
        "workers must be 1 to 3, found three",
    );
    error("workers\n", 1, 9, "missing number of workers");
    error("threads 5\n", 1, 9, "threads must be 1 to 4, found 5");
}

#[test]
fn error_unknown_thread_in_schedule() {
    error(
        "workers 1\nschedule S W2*3\n",
        2,
        12,
        "unknown thread `W2` in schedule; this scenario has threads S, W1",
    );
    error(
        "schedule S*2 Q\nsqpoll no\n",
        1,
        14,
        "unknown thread `Q` in schedule; this scenario has threads S, W1",
    );
    // With sqpoll, Q exists, wherever the schedule line is.
    assert!(parse("schedule S*2 Q\nsqpoll yes\n").is_ok());
    error(
        "threads 2\nschedule T0 T2\n",
        2,
        13,
        "unknown thread `T2` in schedule; this program has threads T0, T1",
    );
}

#[test]
fn error_bad_slice_count() {
    error("schedule W1 S*0\n", 1, 13, "slice count must be 1 to 255");
    error("schedule S*x\n", 1, 10, "bad slice count `x` in `S*x`");
    error(
        "schedule S*3 S*300\n",
        1,
        14,
        "slice count must be 1 to 255",
    );
    error(
        "schedule S*99999999999999999999999\n",
        1,
        10,
        "slice count must be 1 to 255",
    );
    error("schedule S*-1\n", 1, 10, "bad slice count `-1`");
}

#[test]
fn error_path_out_of_range() {
    error(
        "syscall io_uring_enter\nsqe unlinkat p9\n",
        2,
        14,
        "path `p9` out of range; expected p0 to p7",
    );
    error(
        "syscall openat q1\n",
        1,
        16,
        "expected a path p0 to p7, found `q1`",
    );
    error(
        "syscall io_uring_enter\nsqe renameat p1\n",
        2,
        17,
        "missing new path of renameat",
    );
    error(
        "syscall io_uring_enter\nsqe openat p1 p2\n",
        2,
        15,
        "only renameat takes two paths",
    );
    error("op T0 getname p8 n0\n", 1, 15, "path `p8` out of range");
}

#[test]
fn error_ops_ranges() {
    error(
        "threads 2\nop T0 putname n1\nop T2 putname n1\n",
        3,
        4,
        "thread `T2` out of range; `threads 2` gives T0 to T1",
    );
    // `threads` may come after the op lines; the default is 2.
    error(
        "op T3 syscall_entry\nthreads 3\n",
        1,
        4,
        "thread `T3` out of range",
    );
    assert!(parse("op T3 syscall_entry\nthreads 4\n").is_ok());
    error("op T0 send n1 T5\n", 1, 15, "thread `T5` out of range");
    error(
        "op T0 putname n64\n",
        1,
        15,
        "token `n64` out of range; expected n0 to n63",
    );
    error(
        "op X0 putname n1\n",
        1,
        4,
        "expected an operation-level thread",
    );
    error("op T0 fly\n", 1, 7, "unknown operation `fly`");
    error(
        "op T0 audit_inode n1 dir\n",
        1,
        22,
        "expected parent or file",
    );
    error(
        "op T0 uring_exit x\n",
        1,
        18,
        "unexpected word `x` after `op T0 uring_exit`",
    );
}

#[test]
fn error_mixing_levels() {
    error(
        "kernel v6.6\nthreads 2\nsyscall openat p0\n",
        3,
        1,
        "cannot mix scenario line `syscall` with operation-level lines (`threads` on line 2)",
    );
    error(
        "workers 2\nop T0 syscall_entry\n",
        2,
        1,
        "cannot mix operation-level line `op` with scenario lines (`workers` on line 1)",
    );
}

#[test]
fn error_too_many() {
    let five = "syscall openat p0\n".repeat(5);
    error(&five, 5, 1, "too many syscalls; at most 4 (MAX_SYSCALLS)");
    let nine = format!("syscall io_uring_enter\n{}", "  sqe statx p0\n".repeat(9));
    error(
        &nine,
        10,
        3,
        "too many sqes in one io_uring_enter; at most 8 (MAX_SQES)",
    );
    // Eight in each of two calls is fine.
    let two = format!(
        "syscall io_uring_enter\n{0}syscall io_uring_enter\n{0}",
        "sqe statx p0\n".repeat(8)
    );
    assert!(parse(&two).is_ok());
}

#[test]
fn error_bad_era_and_values() {
    error(
        "kernel v8.1\n",
        1,
        8,
        "unknown kernel era `v8.1` (expected v5.16, v6.6 or v7.0)",
    );
    error("kernel\n", 1, 8, "missing kernel era");
    error(
        "kernel v6.6 v5.16\n",
        1,
        13,
        "unexpected word `v5.16` after `kernel v6.6`",
    );
    error("audit some\n", 1, 7, "unknown audit configuration `some`");
    error("sqpoll maybe\n", 1, 8, "expected sqpoll yes or no");
    error("syscall read\n", 1, 9, "unknown syscall `read`");
    error(
        "syscall io_uring_enter now\n",
        1,
        24,
        "unexpected word `now` after `syscall io_uring_enter`",
    );
    // Columns count characters, not bytes.
    error("audit rules # é\nsqpoll é\n", 2, 8, "found `é`");
    error("\u{e9}\u{e9} x", 1, 1, "unknown directive `éé`");
}

fn mutate(rng: &mut Rng, chars: &mut Vec<char>) {
    const ALPHABET: &[char] = &[
        ' ', '\t', '\n', '\r', '#', '*', '0', '1', '3', '9', 'p', 'n', 'T', 'S', 'W', 'Q', 'x',
        'é', '→', '\u{0}', '-', '+',
    ];
    let len = chars.len() as u64;
    let at = if len == 0 { 0 } else { rng.below(len) as usize };
    match rng.below(4) {
        0 if at < chars.len() => {
            chars.remove(at);
        }
        1 if at < chars.len() => {
            let c = chars[at];
            chars.insert(at, c);
        }
        2 if at < chars.len() => {
            chars[at] = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
        }
        _ => chars.insert(at, ALPHABET[rng.below(ALPHABET.len() as u64) as usize]),
    }
}

#[test]
fn mutated_texts_never_panic() {
    let mut rng = Rng::new(0x5eed_0003);
    let mut bases = Vec::new();
    for _ in 0..4 {
        bases.push(scenario_to_text(&scenario_input(&mut rng), era(&mut rng)));
        bases.push(ops_to_text(&ops_input(&mut rng), era(&mut rng)));
    }
    let (mut ok, mut err) = (0, 0);
    for case in 0..5000 {
        let base = &bases[case % bases.len()];
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut chars);
        }
        let text: String = chars.into_iter().collect();
        match parse(&text) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1, "{e} for {text:?}");
                assert!(!e.message.is_empty());
                err += 1;
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(200) as usize;
    (0..len).map(|_| rng.next() as u8).collect()
}

#[test]
fn decoded_scenarios_survive_text() {
    use filename_refcount::decode::{scenario_from_bytes, scenario_to_bytes};
    let mut rng = Rng::new(0x5eed_0004);
    for case in 0..2000 {
        let bytes = random_bytes(&mut rng);
        let era = era(&mut rng);
        let input = scenario_from_bytes(&bytes);
        let text = scenario_to_text(&input, era);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        let Parsed::Scenario(era2, back) = parsed else {
            panic!("case {case}: not a scenario:\n{text}");
        };
        assert_eq!((era2, &back), (era, &input), "case {case}:\n{text}");
        let bytes2 = scenario_to_bytes(&back)
            .unwrap_or_else(|e| panic!("case {case}: cannot encode: {e}\n{text}"));
        let again = scenario_from_bytes(&bytes2);
        assert_eq!(scenario_to_text(&again, era2), text, "case {case}");
    }
}

#[test]
fn decoded_ops_survive_text() {
    use filename_refcount::decode::{ops_from_bytes, ops_to_bytes};
    let mut rng = Rng::new(0x5eed_0005);
    for case in 0..2000 {
        let bytes = random_bytes(&mut rng);
        let era = era(&mut rng);
        let input = ops_from_bytes(&bytes);
        let text = ops_to_text(&input, era);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        let Parsed::Ops(era2, back) = parsed else {
            panic!("case {case}: not operation-level:\n{text}");
        };
        assert_eq!((era2, &back), (era, &input), "case {case}:\n{text}");
        let bytes2 = ops_to_bytes(&back)
            .unwrap_or_else(|e| panic!("case {case}: cannot encode: {e}\n{text}"));
        let again = ops_from_bytes(&bytes2);
        assert_eq!(ops_to_text(&again, era2), text, "case {case}");
    }
}
