#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script for filename-refcount.
#
# The one build script: OSS-Fuzz runs it as $SRC/build.sh (projects/
# filename-refcount/build.sh is a copy of this file), and ClusterFuzzLite's
# .clusterfuzzlite/build.sh execs this file from the checkout.
# scripts/test-oss-fuzz-build.sh runs it outside Docker.
#
# Environment (set by the base-builder-rust image and its `compile` script):
#   SRC, OUT, WORK   source, output and scratch directories
#   RUSTFLAGS        "--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1
#                     -Cforce-frame-pointers" for the address sanitizer;
#                     cargo-fuzz appends it to its own instrumentation flags
#   SANITIZER        address, or coverage for coverage builds (then
#                     base-builder's `cargo` wrapper turns `cargo fuzz build`
#                     into a plain `cargo build --bins` with coverage flags and
#                     copies the binaries to the same release directory)
#   RUSTUP_TOOLCHAIN the image's pinned nightly
# So, as OSS-Fuzz's Rust guide says, a plain `cargo fuzz build -O` is all the
# build needs: no --sanitizer flag (cargo-fuzz's default is address anyway).
#
# Only the targets that must never fail are shipped:
#   scenario_v6_6, ops_v6_6   the Linux 6.6 refcount rules
#   scenario_v7_0             Linux 7.0 (delayed_filename, int refcnt again):
#                             every kind, stale aname included
# Not shipped, because they fail by design (they demonstrate bugs, see the
# table at the top of src/harness.rs) and would be reported as crashes:
#   scenario_v5_16, ops_v5_16   the refcount race (fixed in 6.6)
#   stale_aname_v6_6            the stale audit_names entry (unfixed)
# Nor the benchmark baseline `empty`.
set -eux

PROJECT_DIR="$SRC/filename-refcount"
TARGETS="scenario_v6_6 ops_v6_6 scenario_v7_0"
BIN_DIR="$PROJECT_DIR/fuzz/target/x86_64-unknown-linux-gnu/release"

cd "$PROJECT_DIR"
# Build only the shipped targets (the others would just cost build time).
for target in $TARGETS; do
  cargo fuzz build -O "$target"
done

for target in $TARGETS; do
  cp "$BIN_DIR/$target" "$OUT/"

  # Seed corpus: $OUT/<target>_seed_corpus.zip, flat (zip -j), from the
  # checked-in corpus/<target>/. An empty or missing corpus is a build error.
  corpus="$PROJECT_DIR/corpus/$target"
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    echo "error: seed corpus $corpus is missing or empty" >&2
    exit 1
  fi
  rm -f "$OUT/${target}_seed_corpus.zip"
  zip -j -q "$OUT/${target}_seed_corpus.zip" "$corpus"/*

  # libFuzzer options (max_len etc.; the reasons are in the file).
  cp "$PROJECT_DIR/oss-fuzz/$target.options" "$OUT/$target.options"
done
