//! The `filename-refcount` binary: exit codes, one-line errors, encode /
//! decode round trips, JSON and SVG output, and the seed example in both
//! kernel eras.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::Rng;

const BIN: &str = env!("CARGO_BIN_EXE_filename-refcount");
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-underflow.txt");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run filename-refcount")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write test file");
    p.display().to_string()
}

/// Exit 2 with exactly one line on stderr, starting `error: `, containing
/// `want`, and no panic or backtrace.
fn assert_error(o: &Output, want: &str) -> String {
    let err = stderr(o);
    assert_eq!(code(o), 2, "exit code; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(want), "expected {want:?} in {err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn seed_example_v5_16_fails_with_the_three_kinds() {
    let o = run(&["replay", "--kernel", "v5.16", SEED]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    for k in ["LostUpdate", "UseAfterFree", "Underflow"] {
        assert!(
            out.contains(&format!("  - {k}: ")),
            "verdict lists {k}:\n{out}"
        );
    }
    // Explanation and swimlane.
    assert!(out.contains("kernel BUG at fs/namei.c:262"), "{out}");
    assert!(out.contains("Call Trace:"), "{out}");
    assert!(out.contains("--- swimlane ---"), "{out}");
    assert!(out.contains("S (submitter task)") && out.contains("W1 (iou-wrk)"));
    assert!(out.contains("<== LostUpdate"), "{out}");
    assert!(out.contains("<== UseAfterFree, Underflow"), "{out}");
    // Swimlane columns are aligned: every row has its separators at the
    // same character positions as the header.
    let lane: Vec<&str> = out
        .split("--- swimlane ---\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with('('))
        .collect();
    let seps = |l: &str| -> Vec<usize> {
        l.chars()
            .enumerate()
            .filter(|(_, c)| *c == '|')
            .map(|(i, _)| i)
            .collect()
    };
    let head = seps(lane[0]);
    assert_eq!(head.len(), 3, "{}", lane[0]);
    for l in &lane {
        assert_eq!(seps(l)[..3], head[..], "misaligned row {l:?}");
    }
}

#[test]
fn seed_example_v6_6_is_clean_for_refcount_kinds() {
    let o = run(&["replay", "--kernel", "v6.6", SEED]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("verdict: clean"), "{out}");
    assert!(out.contains("StaleAuditEntry, not counted"), "{out}");
    // The aname bug the atomic fix left: counted with --kinds all.
    let o = run(&["replay", "--kernel", "v6.6", "--kinds", "all", SEED]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("  - StaleAuditEntry: "));
    let o = run(&["replay", "--target", "stale_aname_v6_6", SEED]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("target stale_aname_v6_6"));
    // The targets' own eras and kinds.
    assert_eq!(
        code(&run(&["replay", "--target", "scenario_v5_16", SEED])),
        1
    );
    assert_eq!(
        code(&run(&["replay", "--target", "scenario_v6_6", SEED])),
        0
    );
}

#[test]
fn kernel_flag_overrides_the_text_kernel_line() {
    let d = scratch("kernel-line");
    let text = std::fs::read_to_string(SEED).unwrap();
    let f = write(&d, "v66.txt", format!("kernel v6.6\n{text}"));
    assert_eq!(code(&run(&["replay", &f])), 0);
    assert_eq!(code(&run(&["replay", "--kernel", "v5.16", &f])), 1);
}

#[test]
fn text_error_has_line_and_column() {
    let d = scratch("text-error");
    let f = write(
        &d,
        "bad.txt",
        "audit rules\nsyscall io_uring_enter\n  sqe openat p9 exists\n",
    );
    let o = run(&["replay", "--kernel", "v5.16", &f]);
    let err = assert_error(&o, "line 3, column 14: path `p9` out of range");
    assert!(
        err.starts_with(&format!("error: {f}: line 3, column 14: ")),
        "{err}"
    );
}

#[test]
fn unknown_flag_in_text_is_a_text_error() {
    let d = scratch("text-flag");
    let f = write(
        &d,
        "flag.txt",
        "# a comment\naudit rules\nsyscall io_uring_enter\n  sqe openat p1 exists bogus\n",
    );
    let o = run(&["replay", "--kernel", "v6.6", &f]);
    assert_error(&o, "line 4, column 24: unknown flag `bogus`");
    // Also with a target: a text error is not retried as raw bytes.
    let o = run(&["replay", "--target", "scenario_v6_6", &f]);
    assert_error(&o, "line 4, column 24: unknown flag `bogus`");
}

#[test]
fn unknown_target_lists_the_valid_ones() {
    let o = run(&["replay", "--target", "nope", SEED]);
    let err = assert_error(&o, "unknown target `nope`");
    for t in [
        "scenario_v5_16",
        "scenario_v6_6",
        "ops_v5_16",
        "ops_v6_6",
        "stale_aname_v6_6",
    ] {
        assert!(err.contains(t), "{err}");
    }
}

#[test]
fn raw_input_needs_a_target_or_level() {
    let d = scratch("raw-level");
    let f = write(
        &d,
        "crash-1",
        [0x05u8, 0x01, 0x81, 0x20, 0x00, 0x00, 0xff, 0x51],
    );
    let o = run(&["replay", "--kernel", "v5.16", &f]);
    let err = assert_error(&o, "needs --target NAME or --level scenario|ops");
    assert!(
        err.contains("scenario_v5_16") && err.contains("ops_v6_6"),
        "{err}"
    );
    // With a level it runs.
    let o = run(&["replay", "--level", "scenario", "--kernel", "v5.16", &f]);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let o = run(&["replay", "--target", "ops_v6_6", &f]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn wrong_level_text_for_a_target() {
    let o = run(&["replay", "--target", "ops_v6_6", SEED]);
    assert_error(
        &o,
        "is a scenario-level input but target ops_v6_6 takes operation-level inputs",
    );
    let d = scratch("wrong-level");
    let f = write(
        &d,
        "ops.txt",
        "threads 2\nop T0 getname p0 n0\nop T0 putname n0\n",
    );
    let o = run(&["replay", "--target", "scenario_v5_16", &f]);
    assert_error(
        &o,
        "is an operation-level input but target scenario_v5_16 takes scenario-level inputs",
    );
    let o = run(&["encode", "--target", "ops_v5_16", SEED]);
    assert_error(&o, "takes operation-level inputs");
}

#[test]
fn missing_era() {
    let o = run(&["replay", SEED]);
    let err = assert_error(&o, "no kernel era: pass --kernel v5.16|v6.6");
    assert!(err.starts_with(&format!("error: {SEED}: ")), "{err}");
}

#[test]
fn unreadable_file() {
    let d = scratch("unreadable");
    let missing = d.join("no-such-file.txt").display().to_string();
    let o = run(&["replay", "--kernel", "v5.16", &missing]);
    assert_error(&o, &format!("error: {missing}: cannot read"));
    // A directory is unreadable too.
    let o = run(&["replay", "--kernel", "v5.16", &d.display().to_string()]);
    assert_error(&o, "cannot read");
}

#[test]
fn bad_flags_are_one_line_errors() {
    assert_error(&run(&["replay", "--bogus", SEED]), "--bogus");
    assert_error(
        &run(&["replay", "--kernel", "v7", SEED]),
        "unknown kernel era",
    );
    assert_error(
        &run(&["replay", "--kinds", "nope", SEED]),
        "unknown violation kind `nope`",
    );
    assert_error(&run(&["replay"]), "required");
    assert_error(&run(&["frobnicate"]), "frobnicate");
}

#[test]
fn several_files_exit_with_the_worst() {
    let d = scratch("several");
    let missing = d.join("missing").display().to_string();
    let o = run(&["replay", "--kernel", "v6.6", SEED, SEED]);
    assert_eq!(code(&o), 0);
    let o = run(&["replay", "--kernel", "v5.16", SEED, SEED]);
    assert_eq!(code(&o), 1);
    let o = run(&["replay", "--kernel", "v5.16", &missing, SEED]);
    assert_eq!(code(&o), 2);
    // The good file was still processed.
    assert!(stdout(&o).contains("  - LostUpdate: "));
    // JSON: an array, one element per file.
    let o = run(&["replay", "--json", "--kernel", "v5.16", SEED, &missing]);
    assert_eq!(code(&o), 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON array");
    let a = v.as_array().expect("array");
    assert_eq!(a.len(), 2);
    assert!(a[0]["verdict"].is_array());
    assert!(a[1]["error"].as_str().unwrap().contains("cannot read"));
}

#[test]
fn encode_decode_round_trip_of_the_example() {
    let d = scratch("round-trip");
    let bin = d.join("seed.bin").display().to_string();
    let o = run(&["encode", "--target", "scenario_v5_16", "-o", &bin, SEED]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!d.join("seed.bin.tmp").exists());
    let bytes = std::fs::read(&bin).unwrap();
    // Without -o the bytes go to stdout.
    let o = run(&["encode", "--target", "scenario_v5_16", SEED]);
    assert_eq!(o.stdout, bytes);

    let o = run(&["decode", "--target", "scenario_v5_16", &bin]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("schedule S*8 W1*10 S W1*"), "{text}");
    assert!(!text.contains("kernel "), "no kernel line without --kernel");
    // The decoded text is the example, as the parser sees it.
    let want = filename_refcount::text::parse(&std::fs::read_to_string(SEED).unwrap()).unwrap();
    let got = filename_refcount::text::parse(&text).unwrap();
    assert_eq!(got, want);
    // decode(encode(x)) == x for the printed text x.
    let t = write(&d, "seed.dec.txt", &text);
    let o = run(&["encode", "--level", "scenario", &t]);
    assert_eq!(o.stdout, bytes);
    // The raw bytes replay like the text.
    let o = run(&["replay", "--target", "scenario_v5_16", &bin]);
    assert_eq!(code(&o), 1);
    // --kernel adds the line.
    let o = run(&["decode", "--level", "scenario", "--kernel", "v6.6", &bin]);
    assert!(stdout(&o).contains("\nkernel v6.6\n"));
}

#[test]
fn encode_error_is_reported() {
    let d = scratch("encode-error");
    // 65 one-step slices: more than an input's 64 slice bytes.
    let slices = vec!["S"; 65].join(" ");
    let f = write(&d, "long.txt", format!("audit rules\nschedule {slices}\n"));
    let out = d.join("long.bin");
    let o = run(&[
        "encode",
        "--target",
        "scenario_v5_16",
        "-o",
        &out.display().to_string(),
        &f,
    ]);
    assert_error(&o, "cannot encode: the schedule needs 65 slice bytes");
    assert!(!out.exists());
    let o = run(&["decode", SEED]);
    assert_error(&o, "decode needs --target NAME or --level");
}

#[test]
fn json_output_has_the_documented_keys() {
    let o = run(&["replay", "--json", "--kernel", "v5.16", SEED]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    for key in [
        "file",
        "era",
        "level",
        "target",
        "kinds",
        "input_text",
        "scenario",
        "program",
        "schedule",
        "verdict",
        "uncounted",
        "steps",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["era"], "v5.16");
    assert_eq!(v["level"], "scenario");
    assert!(v["target"].is_null());
    let mut kinds: Vec<&str> = v["verdict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["LostUpdate", "Underflow", "UseAfterFree"]);
    let lost = &v["verdict"][0];
    assert_eq!(lost["kind"], "LostUpdate");
    assert_eq!(lost["thread"], "S");
    assert_eq!(lost["function"], "putname");
    assert_eq!(lost["object"], "name#0");
    assert_eq!(lost["other"]["thread"], "W1");
    assert_eq!(lost["other"]["function"], "__audit_inode");
    // Scenario structure.
    let sc = &v["scenario"];
    assert_eq!(sc["audit"], "rules");
    assert_eq!(sc["workers"], 1);
    let sqe = &sc["syscalls"][0]["sqes"][0];
    assert_eq!(sc["syscalls"][0]["syscall"], "io_uring_enter");
    assert_eq!(
        (sqe["op"].as_str(), sqe["path"].as_str()),
        (Some("openat"), Some("p0"))
    );
    assert_eq!(sqe["async"], true);
    assert_eq!(sqe["creat"], true);
    let threads = v["program"]["threads"].as_array().unwrap();
    assert_eq!(threads[0]["name"], "S");
    assert_eq!(threads[0]["role"], "task");
    assert_eq!(threads[1]["name"], "W1");
    assert_eq!(threads[1]["role"], "worker");
    // Schedule.
    let sched = v["schedule"].as_array().unwrap();
    assert_eq!(sched[0], serde_json::json!({"thread": "S", "steps": 8}));
    assert_eq!(
        sched[3],
        serde_json::json!({"thread": "W1", "steps": "until-blocked"})
    );
    // Steps.
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["operation"], "alloc");
    assert_eq!(steps[0]["object"], "name#0");
    assert_eq!(steps[0]["after"], 1);
    assert!(steps[0]["stack"].as_array().unwrap().len() > 1);
    let store = steps.iter().find(|s| s["index"] == 18).unwrap();
    assert_eq!(store["thread"], "S");
    assert_eq!(store["operation"], "store");
    assert_eq!(
        (store["before"].as_i64(), store["after"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(store["holders"], 2);
    let detail = store["detail"].as_str().unwrap();
    assert!(
        detail.contains("store") && detail.contains("name#0"),
        "{detail}"
    );
    assert_eq!(store["violations"], serde_json::json!(["LostUpdate"]));
    // The input text replays.
    let d = scratch("json");
    let f = write(&d, "again.txt", v["input_text"].as_str().unwrap());
    assert_eq!(code(&run(&["replay", &f])), 1);

    // Clean: verdict null.
    let o = run(&["replay", "--json", "--target", "scenario_v6_6", SEED]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["verdict"].is_null());
    assert_eq!(v["target"], "scenario_v6_6");
    assert_eq!(v["uncounted"][0]["kind"], "StaleAuditEntry");
}

#[test]
fn svg_is_written_atomically() {
    let d = scratch("svg");
    let out = d.join("seed.svg");
    let o = run(&[
        "replay",
        "--kernel",
        "v5.16",
        "--svg",
        &out.display().to_string(),
        SEED,
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    assert!(
        svg.starts_with("<?xml") || svg.starts_with("<svg"),
        "{}",
        &svg[..40]
    );
    assert!(svg.contains("<svg ") && svg.trim_end().ends_with("</svg>"));
    for k in [
        "LostUpdate",
        "UseAfterFree",
        "Underflow",
        "putname",
        "__audit_inode",
    ] {
        assert!(svg.contains(k), "svg mentions {k}");
    }
    assert!(!d.join("seed.svg.tmp").exists());

    // Into a directory that does not exist: exit 2, nothing written.
    let missing = d.join("no-such-dir").join("x.svg");
    let o = run(&[
        "replay",
        "--kernel",
        "v5.16",
        "--svg",
        &missing.display().to_string(),
        SEED,
    ]);
    assert_error(&o, "cannot write");
    assert!(!missing.exists() && !d.join("no-such-dir").exists());

    // Onto a directory: the rename fails, and the temporary file is removed.
    let dir_out = d.join("taken");
    std::fs::create_dir(&dir_out).unwrap();
    let o = run(&[
        "replay",
        "--kernel",
        "v5.16",
        "--svg",
        &dir_out.display().to_string(),
        SEED,
    ]);
    assert_error(&o, "cannot write");
    assert!(dir_out.is_dir());
    assert!(!d.join("taken.tmp").exists());
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "only seed.svg and taken/: {names:?}");
}

#[test]
fn decode_then_encode_round_trips_random_bytes() {
    let d = scratch("property");
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for i in 0..300 {
        let len = (rng.next() % 48) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let raw = write(&d, "in.bin", &bytes);
        let o = run(&["decode", "--level", "scenario", &raw]);
        assert_eq!(code(&o), 0, "case {i}: {}", stderr(&o));
        let text = stdout(&o);
        let t = write(&d, "in.txt", &text);
        let o = run(&["encode", "--target", "scenario_v5_16", &t]);
        assert_eq!(code(&o), 0, "case {i} {bytes:02x?}: {}\n{text}", stderr(&o));
        let again = write(&d, "again.bin", &o.stdout);
        let o = run(&["decode", "--level", "scenario", &again]);
        assert_eq!(stdout(&o), text, "case {i}: {bytes:02x?}");
    }
}

#[test]
fn ops_example_in_both_eras_and_round_trip() {
    let ops = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ops-lost-update.txt");
    let o = run(&["replay", "--target", "ops_v5_16", ops]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("  - LostUpdate: T0 in putname"));
    assert_eq!(code(&run(&["replay", "--target", "ops_v6_6", ops])), 0);
    let d = scratch("ops-example");
    let bin = d.join("ops.bin").display().to_string();
    let o = run(&["encode", "--target", "ops_v5_16", "-o", &bin, ops]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["decode", "--level", "ops", &bin]);
    let want = filename_refcount::text::parse(&std::fs::read_to_string(ops).unwrap()).unwrap();
    assert_eq!(filename_refcount::text::parse(&stdout(&o)).unwrap(), want);
    let o = run(&["replay", "--json", "--target", "ops_v5_16", &bin]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["level"], "ops");
    assert!(v["scenario"].is_null());
    assert_eq!(v["program"]["threads"][1]["ops"][2]["op"], "audit_getname");
}

/// Raw bytes carry no level, but cargo fuzz keeps each target's corpus and
/// artifacts in a directory named after it: a raw file from a directory of
/// the other level is refused; one from the same level (a v5.16 crash
/// replayed under v6.6, say) is fine.
#[test]
fn raw_file_from_another_levels_directory_is_refused() {
    let root = env!("CARGO_MANIFEST_DIR");
    let scenario_file = format!("{root}/corpus/scenario_v6_6/seed-e-renameat");
    let o = run(&["replay", "--target", "ops_v6_6", &scenario_file]);
    assert_error(
        &o,
        "this raw input is in the directory of target scenario_v6_6, which takes \
         scenario-level inputs, but target ops_v6_6 takes operation-level inputs",
    );
    let o = run(&["decode", "--level", "ops", &scenario_file]);
    assert_error(&o, "but --level ops was given");
    let v5_file = format!("{root}/corpus/scenario_v5_16/seed-e-renameat");
    let o = run(&["replay", "--target", "scenario_v6_6", &v5_file]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
