#!/usr/bin/env python3
"""Tern's test runner: every test group, one summary.

Groups, in order:
  unit        GLib test programs in build/tests/unit (no /dev/kvm), TAP output
  kvm         GLib test programs in build/tests/kvm (in-process VMs, need /dev/kvm)
  functional  tests/functional/test_*.py: tern processes driven from outside
              (boot tests, error paths, and the Linux guest in test_linux.py)
  fuzz        the migration-stream loader under libFuzzer (clang, ASan+UBSan, in
              build-fuzz/): seed corpus (fuzz-seeds' streams and streams written
              by build/tern), a check that every seed loads, corpus replay, and a
              bounded session of $TERN_FUZZ_SECONDS (default 60) seconds

Each GLib test case and each Python test function counts as one test.  The last
line is "N passed, N failed, N skipped"; the exit status is non-zero on any
failure.  Usage: tests/run.py [-g GROUP]... [-k SUBSTRING] [--list] [-v]
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TERN_BUILD", os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "tests", "functional"))

import ternlib  # noqa: E402


class Result:
    def __init__(self):
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.groups = {}
        self.failures = []

    def add(self, group, name, status, seconds, detail=""):
        self.counts[status] += 1
        g = self.groups.setdefault(group, {"passed": 0, "failed": 0, "skipped": 0, "time": 0.0})
        g[status] += 1
        g["time"] += seconds
        word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[status]
        extra = f"  ({detail})" if status == "skipped" and detail else ""
        print(f"{word} {group}/{name} [{seconds:.1f}s]{extra}", flush=True)
        if status == "failed":
            self.failures.append(f"{group}/{name}")
            if detail:
                print("  " + detail.rstrip().replace("\n", "\n  "), flush=True)


TAP_LINE = re.compile(r"^(ok|not ok) \d+ (\S+)(.*)$")


def run_glib_program(path, group, res, args, selected):
    name = os.path.basename(path)
    if not selected(f"{group}/{name}"):
        return
    start = time.monotonic()
    try:
        p = subprocess.run([path, "--tap"], capture_output=True, text=True, timeout=600,
                           cwd=BUILD)
    except subprocess.TimeoutExpired as e:
        res.add(group, name, "failed", time.monotonic() - start, f"timed out\n{e.stdout}")
        return
    elapsed = time.monotonic() - start
    seen = 0
    for line in p.stdout.splitlines():
        m = TAP_LINE.match(line)
        if not m:
            continue
        seen += 1
        ok, case, rest = m.groups()
        if "# SKIP" in rest:
            res.add(group, f"{name}{case}", "skipped", 0.0, rest.split("# SKIP", 1)[1].strip())
        elif ok == "ok":
            res.add(group, f"{name}{case}", "passed", 0.0)
        else:
            res.add(group, f"{name}{case}", "failed", 0.0, p.stderr[-4000:])
    if p.returncode != 0 or seen == 0:
        res.add(group, name, "failed", elapsed,
                f"exit status {p.returncode}, {seen} test cases\n{p.stdout[-2000:]}\n"
                f"{p.stderr[-4000:]}")
    elif args.verbose:
        print(f"     {name}: {seen} cases in {elapsed:.1f}s")
    res.groups[group]["time"] += elapsed


def run_glib_group(group, res, args, selected):
    d = os.path.join(BUILD, "tests", group)
    progs = sorted(f for f in os.listdir(d) if f.startswith("test-") and not f.endswith(".p")
                   and os.path.isfile(os.path.join(d, f))
                   and os.access(os.path.join(d, f), os.X_OK)) if os.path.isdir(d) else []
    if not progs:
        res.add(group, "build", "failed", 0.0, f"no test programs in {d}")
        return
    if group == "kvm":
        why = ternlib.kvm_unavailable()
        if why:
            for p in progs:
                if selected(f"{group}/{p}"):
                    res.add(group, p, "skipped", 0.0, why)
            return
    for p in progs:
        run_glib_program(os.path.join(d, p), group, res, args, selected)


def load_python_tests():
    d = os.path.join(TOP, "tests", "functional")
    tests = []
    for f in sorted(os.listdir(d)):
        if not (f.startswith("test_") and f.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(f[:-3], os.path.join(d, f))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(vars(mod), key=lambda n: getattr(getattr(mod, n), "__code__", None)
                           and getattr(mod, n).__code__.co_firstlineno or 0):
            fn = getattr(mod, name)
            if name.startswith("test_") and callable(fn):
                tests.append((f[:-3], name, fn))
    return tests


def run_python_group(group, res, args, selected):
    for modname, name, fn in load_python_tests():
        full = f"{modname}.{name}"
        if not selected(f"{group}/{full}"):
            continue
        env = ternlib.Env(BUILD, f"{modname}-{name}", keep=args.keep)
        start = time.monotonic()
        try:
            fn(env)
            status, detail = "passed", ""
        except ternlib.Skip as e:
            status, detail = "skipped", str(e)
        except Exception:  # noqa: BLE001 - any exception fails the test
            status, detail = "failed", traceback.format_exc()
            detail += env.diagnostics()
        finally:
            env.cleanup(failed=False)
        res.add(group, full, status, time.monotonic() - start, detail)


FUZZ_BUILD = os.path.join(TOP, "build-fuzz")
# A "block" record with data is 1 MiB; without -max_len libFuzzer cuts every
# input at its largest seed and at 1 MiB at most, so a stream with a chunk
# of data and RAM after it would never load whole.  4 MiB: the fixture's
# disk sent whole (3 chunks) plus its RAM.
FUZZ_MAX_LEN = 4 << 20


def run_step(res, group, name, argv, timeout, env=None, ok_check=None):
    """Run one command as a test; returns its CompletedProcess or None."""
    start = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        res.add(group, name, "failed", time.monotonic() - start, str(e))
        return None
    ok = p.returncode == 0 and (ok_check is None or ok_check(p))
    res.add(group, name, "passed" if ok else "failed", time.monotonic() - start,
            "" if ok else f"exit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
    return p if ok else None


def run_tern_streams(res, group, corpus):
    """Streams written by build/tern (tests/fuzz/tern-streams.py) into the
    corpus; skipped without /dev/kvm (status 77)."""
    start = time.monotonic()
    argv = [sys.executable, os.path.join(TOP, "tests", "fuzz", "tern-streams.py"), BUILD, corpus]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        res.add(group, "tern-streams", "failed", time.monotonic() - start, str(e))
        return
    if p.returncode == 77:
        res.add(group, "tern-streams", "skipped", time.monotonic() - start, p.stderr.strip())
        return
    res.add(group, "tern-streams", "passed" if p.returncode == 0 else "failed",
            time.monotonic() - start, f"exit {p.returncode}\n{p.stdout}\n{p.stderr[-5000:]}")


def run_fuzz_group(res, args, selected):
    group = "fuzz"
    if not selected(f"{group}/"):
        return
    env = dict(os.environ, CC="clang")
    if not os.path.exists(os.path.join(FUZZ_BUILD, "build.ninja")):
        if not run_step(res, group, "configure", ["meson", "setup", FUZZ_BUILD, TOP,
                        "-Dfuzzing=enabled", "-Dguests=disabled", "-Dtests=disabled"],
                        600, env):
            return
    if not run_step(res, group, "build", ["ninja", "-C", FUZZ_BUILD,
                                          "tests/fuzz/fuzz-loadvm"], 1200, env):
        return
    fuzzer = os.path.join(FUZZ_BUILD, "tests", "fuzz", "fuzz-loadvm")
    with tempfile.TemporaryDirectory(prefix="tern-fuzz-") as work:
        corpus = os.path.join(work, "corpus")
        os.mkdir(corpus)
        seeds = os.path.join(BUILD, "tests", "fuzz", "fuzz-seeds")
        if not run_step(res, group, "seed-corpus", [seeds, corpus], 120):
            return
        run_tern_streams(res, group, corpus)
        # Every seed, tern's own streams included, must load into the fixture.
        run_step(res, group, "seeds-load", [seeds, "--check", corpus], 120)
        # Regression inputs (crashes fixed in the past) live in the tree.
        saved = os.path.join(TOP, "tests", "fuzz", "corpus")
        replay = [corpus] + ([saved] if os.path.isdir(saved) else [])
        run_step(res, group, "replay-corpus",
                 [fuzzer, "-runs=0", f"-max_len={FUZZ_MAX_LEN}"] + replay, 600)
        seconds = int(os.environ.get("TERN_FUZZ_SECONDS", "60"))
        p = run_step(res, group, f"session-{seconds}s",
                     [fuzzer, corpus, f"-max_total_time={seconds}", f"-max_len={FUZZ_MAX_LEN}",
                      "-print_final_stats=1",
                      f"-artifact_prefix={work}/", "-close_fd_mask=1"],
                     seconds * 3 + 300,
                     ok_check=lambda p: "Done" in p.stderr)
        if p:
            runs = re.search(r"stat::number_of_executed_units: (\d+)", p.stderr)
            print(f"     fuzz session: {runs.group(1) if runs else '?'} executions in "
                  f"{seconds}s, corpus {len(os.listdir(corpus))} inputs", flush=True)


GROUPS = {
    "unit": lambda res, a, s: run_glib_group("unit", res, a, s),
    "kvm": lambda res, a, s: run_glib_group("kvm", res, a, s),
    "functional": lambda res, a, s: run_python_group("functional", res, a, s),
    "fuzz": run_fuzz_group,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-g", "--group", action="append", choices=list(GROUPS))
    ap.add_argument("-k", dest="substr", action="append", default=[],
                    help="run only tests whose group/name contains this")
    ap.add_argument("--keep", action="store_true", help="keep each test's work directory")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    def selected(full):
        return not args.substr or any(s in full for s in args.substr)

    res = Result()
    start = time.monotonic()
    for g in args.group or list(GROUPS):
        print(f"== {g}", flush=True)
        GROUPS[g](res, args, selected)
    print("\n== summary")
    for g, c in res.groups.items():
        print(f"  {g:<11} {c['passed']:4} passed {c['failed']:3} failed {c['skipped']:3} skipped"
              f"  {c['time']:7.1f}s")
    print(f"  total time {time.monotonic() - start:.1f}s")
    for f in res.failures:
        print(f"  failed: {f}")
    c = res.counts
    print(f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    return 1 if c["failed"] or not c["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
