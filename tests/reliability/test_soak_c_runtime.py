"""Short version of the C runtime soak (scripts/soak_c_runtime.py runs
10,000): 100 inferences in one image with the arena scribbled before each,
every output identical to the first of its input and to the numpy int8
reference. On QEMU's Cortex-M4F when installed, else on the host build."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from edge_affect.converters.apollo3 import toolchain

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "soak_c_runtime.py"


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak_c_runtime", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_100_runs_identical_outputs(apollo3_bundle):
    tools = toolchain.find_tools()
    build = "qemu" if tools.can_run_qemu else "host"
    if build == "host":
        print(f"QEMU or the Arm toolchain is missing ({toolchain.INSTALL_HINT}): soaking the host build")
    result = _soak_module().soak(apollo3_bundle, runs=100, build=build, n_inputs=4)
    assert (result.runs, result.inputs) == (100, 4)
    assert result.mismatches == 0 and result.errors == 0 and result.first_bad_run == -1
    assert result.reference_bit_exact
    assert result.ok
