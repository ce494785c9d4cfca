//! Replays `corpus/` and `fuzz/regressions/` through the fuzz targets' own
//! functions, and keeps the hand-built seeds in `fuzz/seeds/` and the
//! corpus files made from them in step.
//!
//! `FILENAME_REFCOUNT_BLESS=1 cargo test --test corpus` rewrites
//! `corpus/<target>/seed-*` from `fuzz/seeds/` (and `corpus/VERSION`).

use filename_refcount::decode::FORMAT_VERSION;
use filename_refcount::harness::{check, check_bytes, Input, Level, Target};
use filename_refcount::text::{parse, Parsed};
use filename_refcount::Kind;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("FILENAME_REFCOUNT_BLESS").is_some()
}

fn texts(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "txt") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, fs::read_to_string(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn input_of(text: &str, what: &str) -> Input {
    match parse(text).unwrap_or_else(|e| panic!("{what}: {e}")) {
        Parsed::Scenario(_, s) => Input::Scenario(s),
        Parsed::Ops(_, o) => Input::Ops(o),
    }
}

fn level_dir(level: Level) -> &'static str {
    match level {
        Level::Scenario => "scenario",
        Level::Ops => "ops",
    }
}

/// Every seed that passes a target is in its corpus as `seed-<name>`, byte
/// for byte; a seed that fails it is not.
#[test]
fn seeds_and_corpus_agree() {
    let version_file = root().join("corpus/VERSION");
    if bless() {
        fs::create_dir_all(root().join("corpus")).unwrap();
        fs::write(&version_file, format!("{FORMAT_VERSION}\n")).unwrap();
    }
    let version = fs::read_to_string(&version_file).expect("corpus/VERSION");
    assert_eq!(
        version.trim(),
        FORMAT_VERSION.to_string(),
        "corpus/VERSION differs from the input format version: regenerate the corpus"
    );
    let mut count = 0;
    for target in Target::ALL {
        let dir = root().join("corpus").join(target.name());
        let seeds = texts(&root().join("fuzz/seeds").join(level_dir(target.level())));
        assert!(!seeds.is_empty());
        for (name, text) in seeds {
            let input = input_of(&text, &name);
            let file = dir.join(format!("seed-{name}"));
            let passes = check(target, &input).is_ok();
            let bytes = input.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
            if bless() {
                fs::create_dir_all(&dir).unwrap();
                if passes {
                    fs::write(&file, &bytes).unwrap();
                } else if file.exists() {
                    fs::remove_file(&file).unwrap();
                }
            }
            if passes {
                let stored =
                    fs::read(&file).unwrap_or_else(|_| panic!("{} missing; bless", file.display()));
                assert_eq!(stored, bytes, "{} is stale; bless", file.display());
                count += 1;
            } else {
                assert!(
                    !file.exists(),
                    "{} fails {target} but is in its corpus",
                    file.display()
                );
            }
        }
    }
    assert!(count >= 40, "{count} seed files");
}

/// Every corpus file decodes, re-encodes to itself, and runs clean under
/// its target (a corpus never holds a crashing input).
#[test]
fn every_corpus_file_passes_its_target() {
    let mut files = 0;
    for target in Target::ALL {
        let dir = root().join("corpus").join(target.name());
        for e in fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{}", dir.display()))
            .flatten()
        {
            let bytes = fs::read(e.path()).unwrap();
            if let Err(f) = check_bytes(target, &bytes) {
                panic!("{}:\n{f}", e.path().display());
            }
            let input = Input::decode(target.level(), &bytes);
            let again = Input::decode(target.level(), &input.encode().unwrap());
            assert_eq!(again, input, "{}", e.path().display());
            files += 1;
        }
    }
    assert!(files > 0);
}

fn expected_kinds(text: &str, what: &str) -> BTreeSet<Kind> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect:"))
        .unwrap_or_else(|| panic!("{what}: no `# expect:` line"));
    line.split_whitespace()
        .map(|k| Kind::parse(k).unwrap_or_else(|| panic!("{what}: unknown kind {k}")))
        .collect()
}

/// Every stored crash reproducer still fails its target, through the raw
/// bytes the fuzzer would see, with exactly the recorded kinds.
#[test]
fn regressions_still_fail_with_their_kinds() {
    let mut n = 0;
    for target in Target::ALL {
        let dir = root().join("fuzz/regressions").join(target.name());
        for (name, text) in texts(&dir) {
            let what = format!("{}/{name}", target.name());
            let want = expected_kinds(&text, &what);
            let input = input_of(&text, &what);
            assert_eq!(input.level(), target.level(), "{what}");
            let bytes = input.encode().unwrap();
            let failure = check_bytes(target, &bytes).expect_err(&what);
            let got: BTreeSet<Kind> = failure.kinds().into_iter().collect();
            assert_eq!(got, want, "{what}:\n{failure}");
            assert!(
                target.demonstrates_bug(),
                "{what}: a v6.6 refcount target must not fail"
            );
            n += 1;
        }
    }
    assert!(n >= 4);
}

/// The v6.6 refcount targets run the seed interleaving clean.
#[test]
fn seed_interleaving_is_clean_in_v6_6() {
    let text =
        fs::read_to_string(root().join("fuzz/regressions/scenario_v5_16/seed-interleaving.txt"))
            .unwrap();
    let input = input_of(&text, "seed");
    assert!(check(Target::ScenarioV6_6, &input).is_ok());
}
