#!/usr/bin/env bash
# Corpus and regression upkeep for the fuzz targets.
#
# Usage (from anywhere in the repository):
#   scripts/corpus-upkeep.sh merge <target> <new-corpus-dir>...
#       Merge new fuzzer inputs (e.g. fuzz/corpus/<target>, a ClusterFuzzLite
#       or OSS-Fuzz corpus download, the corpus dirs of parallel runs) into
#       corpus/<target>, minimizing: the hand-built corpus/<target>/seed-*
#       files are always kept; of every other input, old or new, only those
#       that add coverage beyond the seeds (libFuzzer -set_cover_merge=1, or
#       -merge=1, see MERGE_FLAG) are kept, under libFuzzer's SHA-1 names.
#       Then runs `cargo test --test corpus`.
#   scripts/corpus-upkeep.sh tmin <target> <crash-file> <name>
#       Minimize a crashing input (cargo fuzz tmin), convert it to the text
#       format (filename-refcount decode) and store it as the regression
#       fuzz/regressions/<target>/<name>.txt with a `# expect: <Kinds>` line
#       from `filename-refcount replay --json`; then runs the regression test.
#   scripts/corpus-upkeep.sh check
#       Checks corpus/VERSION against FORMAT_VERSION in src/decode.rs and
#       runs `cargo test --test corpus` (every corpus file decodes, re-encodes
#       and passes its target; every regression still fails as recorded).
#
# Targets: scenario_v5_16 scenario_v6_6 ops_v5_16 ops_v6_6 stale_aname_v6_6 scenario_v7_0.
#
# Environment:
#   FUZZ_TOOLCHAIN=stable   (default) build the fuzz targets with the default
#                           toolchain and no sanitizer (`-s none`)
#   FUZZ_TOOLCHAIN=nightly  build with `cargo +nightly` and AddressSanitizer,
#                           as OSS-Fuzz does
#   MERGE_FLAG=-merge=1     merge: libFuzzer's plain merge (keeps every input
#                           that adds a coverage feature) instead of the
#                           default -set_cover_merge=1 (a greedy set cover:
#                           about half as many files for the same features)
#   TMIN_RUNS=N             cargo fuzz tmin --runs (default 255)
#   FORCE=1                 tmin: overwrite an existing regression file
#
# Exit status:
#   0  done
#   1  a step failed (build, merge, minimization, conversion, cargo test,
#      corpus/VERSION mismatch)
#   2  usage error
#   3  tmin: a regression was written but its `# expect:` line needs the
#      kinds filled in by hand (the replay CLI gave none)
#   4  tmin: the crash is in a target that must never fail;
#      it is a bug to fix, not a regression to store (tests/corpus.rs
#      rejects such files), so nothing was written
set -euo pipefail

ME=scripts/corpus-upkeep.sh
TARGETS=(scenario_v5_16 scenario_v6_6 ops_v5_16 ops_v6_6 stale_aname_v6_6 scenario_v7_0)
MUST_NEVER_FAIL=(scenario_v6_6 ops_v6_6 scenario_v7_0)

usage() { # usage [exit status]: the header comment above
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit "${1:-2}"
}
die() { echo "$ME: $1" >&2; exit "${2:-1}"; }  # die <message> [status]

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

case "${FUZZ_TOOLCHAIN:-stable}" in
  stable) FUZZ=(cargo fuzz); SAN=(-s none) ;;
  nightly) FUZZ=(cargo +nightly fuzz); SAN=(-s address) ;;
  *) die "FUZZ_TOOLCHAIN must be stable or nightly" 2 ;;
esac

in_list() { local x=$1; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }
need_target() {
  in_list "$1" "${TARGETS[@]}" || die "unknown target '$1' (one of: ${TARGETS[*]})" 2
}
need_cargo_fuzz() {
  "${FUZZ[@]}" --version >/dev/null 2>&1 \
    || die "cargo-fuzz is missing: cargo install cargo-fuzz --locked"
}
# A temporary directory, removed when the script exits.
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cli() { cargo run --quiet --release --bin filename-refcount -- "$@"; }

# The fuzz binary of <target>, built in release mode.
build_target() {
  "${FUZZ[@]}" build -O "${SAN[@]}" "$1" >&2
  local host
  host=$(rustc -vV | sed -n 's/^host: //p')
  BIN="$ROOT/fuzz/target/$host/release/$1"
  [ -x "$BIN" ] || die "no fuzz binary at $BIN"
}

cmd_merge() {
  [ $# -ge 2 ] || usage
  local target=$1
  shift
  need_target "$target"
  local d
  for d in "$@"; do [ -d "$d" ] || die "not a directory: $d" 2; done
  need_cargo_fuzz
  build_target "$target"

  local corpus="corpus/$target" tmp
  tmp=$SCRATCH
  mkdir -p "$corpus" "$tmp/merged"
  local before
  before=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  # The seeds go first: libFuzzer keeps everything in the first directory
  # and adds, from the others, only inputs with new coverage.
  find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec cp {} "$tmp/merged/" \;
  "$BIN" "${MERGE_FLAG:--set_cover_merge=1}" -merge_control_file="$tmp/merge-control" \
      -artifact_prefix="$tmp/" "$tmp/merged" "$corpus" "$@" >"$tmp/merge.log" 2>&1 \
    || { tail -n 30 "$tmp/merge.log" >&2; die "libFuzzer merge failed"; }
  # Replace every non-seed file with the merge result.
  find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
  find "$tmp/merged" -maxdepth 1 -type f ! -name 'seed-*' -exec cp {} "$corpus/" \;
  local after
  after=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  echo "$ME: $corpus: $before -> $after files ($(find "$corpus" -maxdepth 1 -name 'seed-*' | wc -l) seeds)"
  cargo test --quiet --test corpus
}

# Violation kinds of the verdict in `filename-refcount replay --json` output
# (stdin), space-separated; empty if there are none or python3 is missing.
verdict_kinds() {
  command -v python3 >/dev/null || { cat >/dev/null; return 0; }
  python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
if isinstance(doc, list):
    doc = doc[0] if doc else {}
kinds = []
for v in doc.get("verdict") or []:
    k = v.get("kind") if isinstance(v, dict) else v
    if isinstance(k, str) and k not in kinds:
        kinds.append(k)
print(" ".join(sorted(kinds)))
'
}

cmd_tmin() {
  [ $# -eq 3 ] || usage
  local target=$1 crash=$2 name=$3
  need_target "$target"
  [ -f "$crash" ] || die "no such crash file: $crash" 2
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad name '$name' (letters, digits, . _ -)" 2
  local out="fuzz/regressions/$target/$name.txt"
  if [ -e "$out" ] && [ "${FORCE:-0}" != 1 ]; then
    die "$out exists (FORCE=1 overwrites)" 2
  fi
  need_cargo_fuzz

  local artifacts="fuzz/artifacts/$target" marker
  mkdir -p "$artifacts"
  marker="$SCRATCH/marker"
  touch "$marker"
  # Every file libFuzzer writes is newer than the marker; the smallest new
  # minimized-from-* file is the final result (tmin keeps every step's).
  sleep 1
  "${FUZZ[@]}" tmin -O "${SAN[@]}" -r "${TMIN_RUNS:-255}" "$target" "$crash" \
    || die "cargo fuzz tmin failed (does $crash still crash $target?)"
  local min
  min=$(find "$artifacts" -maxdepth 1 -type f -name 'minimized-from-*' -newer "$marker" \
          -printf '%s %T@ %p\n' | sort -k1,1n -k2,2nr | head -n 1 | cut -d' ' -f3-)
  if [ -z "$min" ]; then
    # libFuzzer writes nothing when no smaller input crashes ("failed to
    # minimize beyond"); it exits non-zero if the input does not crash.
    echo "$ME: $crash is already minimal"
    min=$crash
  fi
  echo "$ME: minimized $(wc -c <"$crash") -> $(wc -c <"$min") bytes: $min"

  local text
  text=$(cli decode --target "$target" "$min") \
    || die "could not convert $min to text (\`filename-refcount decode\`; is the CLI built?); the minimized input is kept"

  if in_list "$target" "${MUST_NEVER_FAIL[@]}"; then
    printf '%s\n' "$text"
    echo "$ME: $target must never fail: the input above is a bug in the model or the fix, not a regression to store; nothing written." >&2
    exit 4
  fi

  local json kinds status=0
  json=$(cli replay --target "$target" --json "$min") || true
  kinds=$(printf '%s' "$json" | verdict_kinds)
  mkdir -p "$(dirname "$out")"
  {
    echo "# $name: minimized by $ME tmin from $(basename "$crash")."
    if [ -n "$kinds" ]; then
      echo "# expect: $kinds"
    else
      echo "# TODO: fill in the violation kinds (see \`cargo run --release --bin filename-refcount -- replay --target $target $out\`)"
      echo "# expect: TODO"
    fi
    printf '%s\n' "$text" | grep -v '^# expect:' || true
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "$ME: wrote $out"
  if [ -z "$kinds" ]; then
    echo "$ME: the replay CLI gave no verdict kinds; edit the '# expect:' line of $out" >&2
    exit 3
  fi
  cargo test --quiet --test corpus regressions_still_fail_with_their_kinds || status=1
  return $status
}

cmd_check() {
  [ $# -eq 0 ] || usage
  local want have
  want=$(sed -n 's/^pub const FORMAT_VERSION: u32 = \([0-9]*\);.*/\1/p' src/decode.rs)
  [ -n "$want" ] || die "no FORMAT_VERSION in src/decode.rs"
  have=$(tr -d '[:space:]' <corpus/VERSION 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    die "corpus/VERSION is '${have:-missing}' but the input format is version $want: regenerate the seeds with FILENAME_REFCOUNT_BLESS=1 cargo test --test corpus, and re-fuzz or drop the other corpus files"
  fi
  echo "$ME: corpus/VERSION matches input format version $want"
  cargo test --quiet --test corpus
}

[ $# -ge 1 ] || usage
sub=$1
shift
case "$sub" in
  merge) cmd_merge "$@" ;;
  tmin) cmd_tmin "$@" ;;
  check) cmd_check "$@" ;;
  -h|--help|help) usage 0 ;;
  *) echo "$ME: unknown subcommand '$sub'" >&2; usage ;;
esac
