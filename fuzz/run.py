#!/usr/bin/env python3
"""Build and run the fuzz targets for a bounded time; print executions and crashes.

    python fuzz/run.py                      every target, 60 s each
    python fuzz/run.py --seconds 10 spec kernels
    python fuzz/run.py --list
    python fuzz/run.py --json               one JSON object per target (for tests / CI)

C targets (fuzz/c/) are built with clang -fsanitize=fuzzer,address,undefined
and any undefined behaviour aborts. Python targets (fuzz/python/) run under
atheris, whose libFuzzer reports any exception other than EdgeAffectError.
Corpora persist under --work (default build/fuzz/) so that longer runs build
on shorter ones; a finding is written there as crashes/<target>/crash-*, and
is reproduced by running the target (build/fuzz/bin/<target> or
fuzz/python/fuzz_<target>.py) with that file as its only argument.

Exit status: 0 when every target ran clean, 1 when any found a crash, 2 when
a target could not run (reason printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "fuzz"
EMBEDDED = ROOT / "embedded"

C_FLAGS = ["-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-pedantic",
           "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
           f"-I{EMBEDDED / 'include'}", f"-I{EMBEDDED / 'kernels'}", f"-I{EMBEDDED / 'kernels' / 'optimized'}",
           f"-I{FUZZ / 'c'}"]


def _kernel_sources() -> list[Path]:
    return sorted((EMBEDDED / "kernels" / "reference").glob("*.c")) + \
        sorted((EMBEDDED / "kernels" / "optimized").glob("*.c"))


# C target -> sources besides its harness fuzz/c/fuzz_<name>.c
C_TARGETS = {
    "preprocess": lambda: [EMBEDDED / "src" / "ea_preprocess.c"],
    "kernels": _kernel_sources,
}
PYTHON_TARGETS = ("spec", "manifest", "fer2013", "affectnet", "afew_va", "ckplus", "genki4k", "jaffe",
                  "image", "keras_h5")
TARGETS = (*C_TARGETS, *PYTHON_TARGETS)

_STAT = re.compile(r"stat::(\w+):\s+(\d+)")


@dataclass
class Result:
    target: str
    kind: str  # "c" | "python"
    seconds: float  # the fuzzing budget
    executions: int = 0
    elapsed: float = 0.0  # wall time of the fuzzer process (start-up included; less when it stopped at a crash)
    crashes: list[str] = field(default_factory=list)
    error: str | None = None  # why it could not run
    corpus: int = 0
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.crashes


# ---------------------------------------------------------------- prerequisites

def clang_fuzzer_problem(clang: str = "clang") -> str | None:
    """None when `clang` can build a libFuzzer + ASan + UBSan binary, else why not."""
    if shutil.which(clang) is None:
        return f"{clang} not installed (apt-get install clang)"
    with tempfile.TemporaryDirectory(prefix="ea_fuzz_probe_") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
        result = subprocess.run([clang, "-fsanitize=fuzzer,address,undefined", str(src), "-o", str(Path(tmp) / "p")],
                                capture_output=True, text=True)
    if result.returncode != 0:
        return (f"{clang} cannot link libFuzzer/sanitizers (apt-get install libclang-rt-dev, or "
                f"libclang-rt-14-dev on Debian 12): {result.stderr.strip()[-300:]}")
    return None


def atheris_problem(python: str = sys.executable) -> str | None:
    result = subprocess.run([python, "-c", "import atheris"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"atheris not importable by {python} (pip install atheris): {result.stderr.strip()[-200:]}"
    return None


# ---------------------------------------------------------------- building and running

def build_c(target: str, bin_dir: Path, clang: str = "clang") -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    out = bin_dir / target
    sources = [FUZZ / "c" / f"fuzz_{target}.c", *C_TARGETS[target]()]
    result = subprocess.run([clang, *C_FLAGS, *map(str, sources), "-o", str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building {target} failed:\n{result.stderr.strip()[-3000:]}")
    return out


def run_target(target: str, seconds: float, work: Path, python: str = sys.executable, clang: str = "clang",
               max_len: int = 4096) -> Result:
    kind = "c" if target in C_TARGETS else "python"
    result = Result(target, kind, seconds)
    corpus = work / "corpus" / target
    crashes = work / "crashes" / target
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "c":
            command = [str(build_c(target, work / "bin", clang))]
        else:
            harness = FUZZ / "python" / f"fuzz_{target}.py"
            seeded = subprocess.run([python, str(harness), "--write-seeds", str(corpus)], capture_output=True,
                                    text=True, cwd=work)
            if seeded.returncode != 0:
                raise RuntimeError(f"writing the seeds failed:\n{seeded.stderr.strip()[-3000:]}")
            command = [python, str(harness)]
    except RuntimeError as exc:
        result.error = str(exc)
        return result
    before = set(crashes.iterdir())
    # Bytes of RSS that count as a leak-free run: Python targets start at ~250 MB (numpy, cv2, torch).
    rss_mb = 2048 if kind == "c" else 3072
    command += [str(corpus), f"-max_total_time={int(seconds)}", "-print_final_stats=1", f"-max_len={max_len}",
                "-timeout=20", f"-rss_limit_mb={rss_mb}", f"-artifact_prefix={crashes}/",
                "-detect_leaks=0" if kind == "python" else "-detect_leaks=1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(FUZZ / "python"),
                                                                    os.environ.get("PYTHONPATH")]))}
    # Linux carries a process's peak RSS across fork+exec, so a fuzzer started
    # straight from a big parent (pytest holding models) would "exceed" its RSS
    # limit at once. A shell that forks the fuzzer gives it a fresh peak.
    command = ["sh", "-c", '"$@"; exit $?', "sh", *command]
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=work, env=env, timeout=seconds + 120)
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        result.error = f"did not stop within {seconds + 120:.0f} s"
    result.elapsed = time.perf_counter() - start
    stats = {name: int(value) for name, value in _STAT.findall(output)}
    result.executions = stats.get("number_of_executed_units", 0)
    result.crashes = sorted(str(p) for p in set(crashes.iterdir()) - before)
    result.corpus = sum(1 for _ in corpus.iterdir())
    if not result.crashes and result.error is None and "number_of_executed_units" not in stats:
        result.error = "the fuzzer printed no statistics"
    if result.crashes or result.error:
        result.output_tail = output[-4000:]
    return result


def run_all(targets: list[str], seconds: float, work: Path, jobs: int, python: str = sys.executable,
            clang: str = "clang") -> list[Result]:
    problems = {"c": clang_fuzzer_problem(clang) if any(t in C_TARGETS for t in targets) else None,
                "python": atheris_problem(python) if any(t in PYTHON_TARGETS for t in targets) else None}
    skipped = [Result(t, "c" if t in C_TARGETS else "python", seconds,
                      error=problems["c" if t in C_TARGETS else "python"]) for t in targets
               if problems["c" if t in C_TARGETS else "python"]]
    runnable = [t for t in targets if not problems["c" if t in C_TARGETS else "python"]]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda t: run_target(t, seconds, work, python, clang), runnable))
    return sorted(results + skipped, key=lambda r: TARGETS.index(r.target))


def print_table(results: list[Result]) -> None:
    print(f"{'target':<12} {'kind':<7} {'seconds':>7} {'executions':>12} {'exec/s':>9} {'corpus':>7}  result")
    for r in results:
        rate = f"{r.executions / r.elapsed:,.0f}" if r.elapsed else "-"
        status = "ok" if r.ok else (f"CRASH {', '.join(Path(c).name for c in r.crashes)}" if r.crashes
                                    else f"not run: {r.error}")
        print(f"{r.target:<12} {r.kind:<7} {r.seconds:>7.0f} {r.executions:>12,} {rate:>9} {r.corpus:>7}  {status}")
    for r in results:
        if r.crashes:
            print(f"\n--- {r.target}: reproduce with the file(s) above; fuzzer output ends:\n{r.output_tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=float, default=60.0, help="fuzzing time per target (default 60)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="targets run at once (default: half the cores)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "fuzz",
                        help="binaries, corpora and crashes (default build/fuzz)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with atheris and edge_affect")
    parser.add_argument("--clang", default=os.environ.get("CLANG", "clang"))
    parser.add_argument("--json", action="store_true", help="print one JSON object per target")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        for t in TARGETS:
            print(t, "c" if t in C_TARGETS else "python")
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; known: {', '.join(TARGETS)}")
    if args.seconds < 1:
        parser.error("--seconds must be >= 1")
    start = time.perf_counter()
    results = run_all(args.targets or list(TARGETS), args.seconds, args.work.resolve(), args.jobs, args.python,
                      args.clang)
    if args.json:
        for r in results:
            print(json.dumps({**asdict(r), "ok": r.ok}))
    else:
        print_table(results)
        print(f"\n{len(results)} target(s) in {time.perf_counter() - start:.0f} s")
    if any(r.crashes for r in results):
        return 1
    return 2 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
