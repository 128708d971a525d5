"""Every fuzz target (fuzz/run.py) builds and runs briefly without a finding.

CI budget: C targets 8 s each, Python targets 6 s each, two at a time,
about a minute and a half in all. Longer runs: `python fuzz/run.py` (60 s
per target) or --seconds N; their corpora persist under build/fuzz/, and
this test starts from a fresh one in its tmp dir (seeds only), so it is
reproducible. A skip names what is missing (clang's libFuzzer runtime, or
atheris).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RUN_PY = Path(__file__).resolve().parents[2] / "fuzz" / "run.py"
C_SECONDS = 8
PYTHON_SECONDS = 6


def _runner():
    spec = importlib.util.spec_from_file_location("fuzz_run", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


RUN = _runner()


def _check(results) -> None:
    for r in results:
        print(f"{r.target}: {r.executions:,} executions in {r.elapsed:.1f} s, corpus {r.corpus}")
        assert r.error is None, f"{r.target} could not run: {r.error}\n{r.output_tail}"
        assert not r.crashes, f"{r.target} found {r.crashes}:\n{r.output_tail}"
        assert r.executions > 0


def test_c_targets(tmp_path):
    problem = RUN.clang_fuzzer_problem()
    if problem:
        pytest.skip(f"C fuzz targets not run: {problem}")
    _check(RUN.run_all(list(RUN.C_TARGETS), C_SECONDS, tmp_path, jobs=2))


def test_python_targets(tmp_path):
    problem = RUN.atheris_problem()
    if problem:
        pytest.skip(f"Python fuzz targets not run: {problem}")
    _check(RUN.run_all(list(RUN.PYTHON_TARGETS), PYTHON_SECONDS, tmp_path, jobs=2))


def test_run_py_lists_every_harness():
    c_files = {p.stem.removeprefix("fuzz_") for p in (RUN_PY.parent / "c").glob("fuzz_*.c")}
    py_files = {p.stem.removeprefix("fuzz_") for p in (RUN_PY.parent / "python").glob("fuzz_*.py")}
    assert c_files == set(RUN.C_TARGETS) and py_files == set(RUN.PYTHON_TARGETS)
