#!/usr/bin/env bash
# Emulate the OSS-Fuzz / ClusterFuzzLite build of this repository without
# Docker, run oss-fuzz/build.sh in it, and check what it leaves in $OUT.
#
# Usage: scripts/test-oss-fuzz-build.sh          (from anywhere in the repo)
#
# Environment:
#   FUZZ_TOOLCHAIN=nightly  (default) nightly Rust with AddressSanitizer, as
#                           on OSS-Fuzz
#   FUZZ_TOOLCHAIN=stable   stable Rust without a sanitizer (`-s none`), for
#                           machines without nightly
#   KEEP_TMP=1              keep the temporary SRC/OUT/WORK tree
#
# What it does:
#   1. makes temporary SRC, OUT and WORK directories, and copies the
#      repository's files (git ls-files: tracked plus untracked-but-not-
#      ignored, so uncommitted edits are tested; no target/ directories) to
#      $SRC/filename-refcount, as the Dockerfiles do;
#   2. exports what base-builder-rust and its `compile` script set that
#      matters for a Rust libFuzzer ASan build, copies oss-fuzz/build.sh to
#      $SRC/build.sh and runs it as `compile` does (`bash -eux $SRC/build.sh`
#      from $SRC/filename-refcount);
#   3. checks $OUT: per shipped target (scenario_v6_6, ops_v6_6,
#      scenario_v7_0) the binary,
#      <t>_seed_corpus.zip holding exactly corpus/<t>/, and <t>.options with
#      max_len equal to the decoder's bound (recomputed from the constants in
#      src/); no other file (in particular no v5.16, stale_aname or empty
#      binary);
#   4. runs each binary over its unzipped seed corpus with -runs=2000 -seed=1
#      and the options from its .options file, and expects exit 0.
#   Prints PASS/FAIL per check and exits 1 if any check failed (2 for a usage
#   or setup error).
#
# Differences from the real OSS-Fuzz build (base-builder-rust image):
#   * the toolchain is whatever `rustup` has here (the image pins a nightly
#     through RUSTUP_TOOLCHAIN; we set RUSTUP_TOOLCHAIN=$FUZZ_TOOLCHAIN);
#   * libFuzzer is the copy bundled in libfuzzer-sys (OSS-Fuzz sets
#     CUSTOM_LIBFUZZER_PATH to its own libFuzzingEngine.a, which does not
#     exist here), built with the host's C++ compiler;
#   * base-builder's `cargo` wrapper only changes coverage builds
#     (SANITIZER=coverage), which are not emulated; on stable our own small
#     `cargo` shim (below) adds `-s none` to `cargo fuzz build`, since ASan
#     needs nightly;
#   * no llvm-symbolizer is copied to $OUT and the bad-build checks of
#     OSS-Fuzz's `check_build` are not run (step 4 is a smaller stand-in).
set -euo pipefail

die() { echo "test-oss-fuzz-build: $*" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
TARGETS=(scenario_v6_6 ops_v6_6 scenario_v7_0)
NOT_SHIPPED=(scenario_v5_16 ops_v5_16 stale_aname_v6_6 empty)

case "$FUZZ_TOOLCHAIN" in
  nightly|nightly-*) SANITIZER_MODE=address ;;
  stable|stable-*|1.*) SANITIZER_MODE=none ;;
  *) die "FUZZ_TOOLCHAIN must be nightly[-DATE] or stable (got '$FUZZ_TOOLCHAIN')" ;;
esac

# --- tools ---------------------------------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v zip >/dev/null || ! command -v unzip >/dev/null; then
  echo "test-oss-fuzz-build: installing zip and unzip"
  as_root apt-get update -q
  as_root apt-get install -y -q zip unzip
fi
command -v cargo >/dev/null || die "cargo not found"
rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1 \
  || die "toolchain '$FUZZ_TOOLCHAIN' not installed (rustup toolchain install $FUZZ_TOOLCHAIN, or FUZZ_TOOLCHAIN=stable)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "test-oss-fuzz-build: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# --- the emulated build environment --------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oss-fuzz-build.XXXXXX")
cleanup() {
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
export SRC=$TMP/src OUT=$TMP/out WORK=$TMP/work
mkdir -p "$SRC/filename-refcount" "$OUT" "$WORK" "$TMP/bin"
PROJECT=$SRC/filename-refcount

if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files that exist in the worktree.
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$PROJECT"
else
  cp -a "$ROOT/." "$PROJECT/"
  rm -rf "$PROJECT/target" "$PROJECT/fuzz/target" "$PROJECT/fuzz/artifacts" \
         "$PROJECT/fuzz/corpus" "$PROJECT/fuzz/coverage"
fi

# What base-builder(-rust) and `compile` export for SANITIZER=address,
# FUZZING_ENGINE=libfuzzer on x86_64 (infra/base-images/base-builder/compile).
export SANITIZER=$SANITIZER_MODE FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust
export ARCHITECTURE=x86_64
export RUSTUP_TOOLCHAIN=$FUZZ_TOOLCHAIN
if [ "$SANITIZER_MODE" = address ]; then
  export RUSTFLAGS="--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers"
else
  export RUSTFLAGS="--cfg fuzzing -Cdebuginfo=1 -Cforce-frame-pointers"
fi
if command -v clang >/dev/null && command -v clang++ >/dev/null; then
  export CC=clang CXX=clang++
fi
# build.sh expects cargo-fuzz's default target directory (fuzz/target).
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

if [ "$SANITIZER_MODE" = none ]; then
  # The cargo shim: stable Rust has no ASan, and cargo-fuzz defaults to
  # `-s address`, so `cargo fuzz build ...` becomes `cargo fuzz build -s none
  # ...`; every other cargo command passes through unchanged.
  real_cargo=$(command -v cargo)
  cat > "$TMP/bin/cargo" <<EOF
#!/usr/bin/env bash
if [ "\${1-}" = fuzz ] && [ "\${2-}" = build ]; then
  shift 2
  exec "$real_cargo" fuzz build -s none "\$@"
fi
exec "$real_cargo" "\$@"
EOF
  chmod +x "$TMP/bin/cargo"
  export PATH="$TMP/bin:$PATH"
fi

cp "$PROJECT/oss-fuzz/build.sh" "$SRC/build.sh"   # as the Dockerfile's COPY

# --- build -----------------------------------------------------------------
echo "test-oss-fuzz-build: toolchain $FUZZ_TOOLCHAIN, sanitizer $SANITIZER_MODE, tree $TMP"
start=$SECONDS
if ! (cd "$PROJECT" && bash -eux "$SRC/build.sh") >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log"
  echo "FAIL: oss-fuzz/build.sh exited non-zero (log above)"
  exit 1
fi
echo "PASS: oss-fuzz/build.sh ($((SECONDS - start)) s)"

# --- checks ------------------------------------------------------------------
failures=0
checks=0
check() { # check <description> <command...>
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@"; then
    echo "PASS: $what"
  else
    echo "FAIL: $what"
    failures=$((failures + 1))
  fi
}

const() { # const <file> <NAME>: the value of `pub const NAME: T = value;`
  sed -n "s/^pub const $2: [a-z0-9]* = \([0-9]*\);.*/\1/p" "$PROJECT/$1"
}
FORMAT_VERSION=$(const src/decode.rs FORMAT_VERSION)
MAX_SLICES=$(const src/decode.rs MAX_SLICES)
MAX_OPS=$(const src/decode.rs MAX_OPS)
MAX_SYSCALLS=$(const src/scenario.rs MAX_SYSCALLS)
MAX_SQES=$(const src/scenario.rs MAX_SQES)
# The bounds below are derived from the layout of format version 1 (see the
# comments in oss-fuzz/*.options); a new version needs them re-derived.
check "input format version is 1, for which the max_len bounds were derived (got ${FORMAT_VERSION:-?})" \
  test "${FORMAT_VERSION:-}" = 1
max_len_bound() {
  case $1 in
    scenario_*) echo $((1 + MAX_SYSCALLS * (1 + 2 * MAX_SQES) + MAX_SLICES)) ;;
    ops_*) echo $((1 + 2 * MAX_OPS + MAX_SLICES)) ;;
  esac
}

options_value() { # options_value <file> <key>
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p" "$1" | head -n 1
}
libfuzzer_flags() { # the [libfuzzer] section as -key=value flags
  awk '/^\[/{s=($0=="[libfuzzer]")} s && /^[[:space:]]*[a-z_]+[[:space:]]*=/ {
         gsub(/[[:space:]]/, ""); print "-" $0 }' "$1"
}

same_dir_contents() { diff -r "$1" "$2" >/dev/null; }

expected_out=()
for t in "${TARGETS[@]}"; do
  expected_out+=("$t" "${t}_seed_corpus.zip" "$t.options")
  check "$t: executable in \$OUT" test -x "$OUT/$t"

  zip="$OUT/${t}_seed_corpus.zip"
  check "$t: ${t}_seed_corpus.zip is non-empty" test -s "$zip"
  mkdir -p "$WORK/seeds-$t"
  unzip -q -o "$zip" -d "$WORK/seeds-$t" 2>/dev/null || true
  check "$t: seed corpus zip holds exactly corpus/$t/ ($(ls -A "$PROJECT/corpus/$t" | wc -l) files, flat)" \
    same_dir_contents "$WORK/seeds-$t" "$PROJECT/corpus/$t"

  opts="$OUT/$t.options"
  check "$t: $t.options present with a [libfuzzer] section" grep -qx '\[libfuzzer\]' "$opts"
  bound=$(max_len_bound "$t")
  got=$(options_value "$opts" max_len)
  check "$t: max_len ${got:-?} equals the decoder's bound $bound" test "${got:-}" = "$bound"
done

for t in "${NOT_SHIPPED[@]}"; do
  check "$t: not in \$OUT" test ! -e "$OUT/$t"
done
actual_out=$(ls -A "$OUT" | sort)
wanted_out=$(printf '%s\n' "${expected_out[@]}" | sort)
check "\$OUT holds nothing else ($(echo "$actual_out" | tr '\n' ' '))" \
  test "$actual_out" = "$wanted_out"

for t in "${TARGETS[@]}"; do
  if [ ! -x "$OUT/$t" ]; then
    check "$t: runs 2000 inputs from its seed corpus (no binary)" false
    continue
  fi
  mapfile -t flags < <(libfuzzer_flags "$OUT/$t.options")
  mkdir -p "$WORK/corpus-$t" "$WORK/artifacts-$t"
  start=$SECONDS
  if timeout 300 "$OUT/$t" -runs=2000 -seed=1 "${flags[@]}" \
       -artifact_prefix="$WORK/artifacts-$t/" \
       "$WORK/corpus-$t" "$WORK/seeds-$t" >"$WORK/run-$t.log" 2>&1; then
    ok=true
  else
    ok=false
    tail -n 30 "$WORK/run-$t.log"
  fi
  check "$t: -runs=2000 -seed=1 ${flags[*]} over its seed corpus exits 0 ($((SECONDS - start)) s)" $ok
done

echo "test-oss-fuzz-build: $checks checks, $failures failed"
[ "$failures" = 0 ]
