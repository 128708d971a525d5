"""`edge-affect apollo3-cost`: fit on a subset is deterministic and writes a loadable
file; estimate prints the cost of a registered model as a table or JSON."""

from __future__ import annotations

import argparse
import json

import pytest

from edge_affect.commands import apollo3_cost
from edge_affect.converters.apollo3 import cost_model as cm
from edge_affect.converters.apollo3 import toolchain


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="edge-affect")
    apollo3_cost.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["apollo3-cost", *argv])
    return args.func(args)


@pytest.mark.slow
def test_fit_on_a_subset_is_deterministic_and_loadable(tmp_path):
    if not toolchain.find_tools().can_run_qemu:
        pytest.skip(f"Cortex-M4 toolchain or QEMU missing; install: {toolchain.INSTALL_HINT}")
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        assert run(["fit", "--programs", "fc_heavy", "--kernels", "optimized", "--out", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    model = cm.CostModel.load(paths[0])
    assert set(model.sets) == {"optimized"}
    assert set(model.sets["optimized"].ops) == {"conv2d", "max_pool2d", "fully_connected"}
    data = json.loads(paths[0].read_text())
    assert data["calibration_programs"][0]["name"] == "fc_heavy"
    assert data["kernels"]["optimized"]["fit"]["ops"]["fully_connected"]["samples"] == 3
    # A softmax runs the reference kernel, which this subset did not fit: an error, not a zero.
    program, plan = _softmax_program()
    with pytest.raises(cm.CostModelError, match="reference kernel set"):
        model.estimate(program, plan)


def test_fit_refuses_unknown_programs():
    with pytest.raises(cm.CostModelError, match="known: .*smile_narrow"):
        run(["fit", "--programs", "no_such_net", "--out", "unused.json"])


def test_estimate_with_a_bad_cost_model_file_fails_before_any_work(tmp_path):
    path = tmp_path / "cost.json"
    path.write_text("{}")
    with pytest.raises(cm.CostModelError, match=str(path)):
        run(["estimate", "smile_tiny", "--cost-model", str(path)])


@pytest.mark.slow
def test_estimate_prints_json_for_both_kernel_sets(capsys):
    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler: scratch sizes come from the compiled kernels")
    assert run(["estimate", "smile_tiny", "--kernels", "optimized", "reference", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    optimized, reference = out["estimates"]
    assert out["model"] == "smile_tiny" and optimized["kernels"] == "optimized"
    assert optimized["macs"] == reference["macs"] > 600_000
    assert optimized["instructions"] < reference["instructions"]
    assert optimized["flash_model_bytes"] == reference["flash_model_bytes"]
    assert optimized["flash_bytes"] == optimized["flash_model_bytes"] + optimized["flash_runtime_bytes"]
    assert optimized["arena_bytes"] == reference["arena_bytes"] > 0
    assert len(optimized["per_op"]) == 9 and optimized["per_op"][-1]["variant"] == "softmax/reference"


def _softmax_program():
    from edge_affect.converters.apollo3.lower import Program, Softmax, Tensor
    from edge_affect.converters.apollo3.memory import plan_memory
    from edge_affect.runtime.int8 import quant_math as qm

    x = Tensor("x", (1, 1, 1, 7), 0.1, 0)
    y = Tensor("y", (1, 1, 1, 7), qm.SOFTMAX_OUTPUT_SCALE, qm.SOFTMAX_OUTPUT_ZERO_POINT)
    program = Program(tensors={"x": x, "y": y}, input="x", output="y",
                      ops=(Softmax(layer="output.softmax", input="x", output="y", params=qm.softmax_params(0.1)),))
    return program, plan_memory(program, (0,))


def test_estimate_table_lists_the_figures_and_every_op(capsys):
    program, plan = _softmax_program()
    estimates = [cm.estimate_program(program, plan, k) for k in cm.KERNEL_SETS]
    apollo3_cost._print_estimates("toy", estimates)
    out = capsys.readouterr().out
    for text in ("latency @ 48 MHz", "flash: total", "RAM: total", "optimized kernels", "output.softmax",
                 f"{estimates[0].instructions:,}"):
        assert text in out
