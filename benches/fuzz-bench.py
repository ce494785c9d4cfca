#!/usr/bin/env python3
"""Fuzzing benchmark: prints figures, asserts nothing.

For every target, built exactly like an empty libFuzzer target (`cargo fuzz
build -s none -O`, one process, one core):

* exec/s: for the targets that run clean (v6.6 refcount targets, the empty
  baseline), executions per wall second of a seeded, fixed-length run from
  the seed corpus; for the bug-demonstrating targets (which stop at the first
  crash), executions / seconds summed over the time-to-crash runs below.
* time to the first violation, from an empty corpus, for each target that
  demonstrates a bug, over 10 seeds: executions and wall seconds (median,
  min, max).

Usage: python3 benches/fuzz-bench.py [--seeds N] [--seconds N] [--limit N] [--no-build]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "fuzz", "target", "x86_64-unknown-linux-gnu", "release")
CLEAN = ["scenario_v6_6", "ops_v6_6", "scenario_v7_0", "empty"]
BUGGY = ["scenario_v5_16", "ops_v5_16", "stale_aname_v6_6"]


def stat(output, name):
    m = re.search(r"stat::%s:\s+(\d+)" % name, output)
    return int(m.group(1)) if m else None


def run(target, args):
    t0 = time.monotonic()
    p = subprocess.run(
        [os.path.join(BIN, target)] + args + ["-print_final_stats=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    return p.returncode, p.stdout, time.monotonic() - t0


def throughput(target, seconds):
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(ROOT, "corpus", target)
        dirs = [work] + ([corpus] if os.path.isdir(corpus) else [])
        args = ["-seed=1", "-max_total_time=%d" % seconds, "-max_len=256"]
        code, out, secs = run(target, args + dirs)
        if code != 0:
            sys.exit("%s crashed during the throughput run:\n%s" % (target, out[-3000:]))
        execs = stat(out, "number_of_executed_units")
        return execs, secs


def time_to_crash(target, seed, limit):
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus")
        os.mkdir(corpus)
        args = [
            "-seed=%d" % seed,
            "-max_total_time=%d" % limit,
            "-max_len=256",
            "-artifact_prefix=%s/" % work,
            corpus,
        ]
        code, out, secs = run(target, args)
        crashed = any(f.startswith("crash-") for f in os.listdir(work))
        return crashed, stat(out, "number_of_executed_units"), secs, out


def summary(xs, fmt):
    if not xs:
        return "n/a"
    return "median %s  min %s  max %s" % (
        fmt % statistics.median(xs),
        fmt % min(xs),
        fmt % max(xs),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=10, help="length of each throughput run")
    ap.add_argument("--limit", type=int, default=120, help="seconds per time-to-crash run")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "fuzz", "build", "-s", "none", "-O"], cwd=ROOT, check=True)
    print("machine: %s cores; one libFuzzer process per run" % os.cpu_count())
    rates = {}
    print("\nthroughput (seeded %d s run from the seed corpus, -max_len=256):" % a.seconds)
    for t in CLEAN:
        execs, secs = throughput(t, a.seconds)
        rates[t] = (execs or 0) / secs
        print("  %-18s %9.0f exec/s   (%d execs in %.2f s wall)" % (t, rates[t], execs or 0, secs))
    base = rates.get("empty") or 0
    for t in ["scenario_v6_6", "ops_v6_6", "scenario_v7_0"]:
        if base:
            print("  %-18s %.1f%% of the empty target" % (t, 100.0 * rates[t] / base))
    print("\ntime to the first violation from an empty corpus, seeds 1..%d:" % a.seeds)
    for t in BUGGY:
        execs, secs, misses = [], [], 0
        for seed in range(1, a.seeds + 1):
            crashed, n, s, out = time_to_crash(t, seed, a.limit)
            if not crashed:
                misses += 1
                continue
            execs.append(n or 0)
            secs.append(s)
        rate = sum(execs) / sum(secs) if secs else 0
        print("  %s (%d/%d seeds found it; %.0f exec/s up to the crash)" % (t, len(execs), a.seeds, rate))
        print("    executions: %s" % summary(execs, "%d"))
        print("    seconds:    %s" % summary(secs, "%.2f"))


if __name__ == "__main__":
    main()
