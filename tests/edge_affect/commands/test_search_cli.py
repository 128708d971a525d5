"""`edge-affect search` end to end on synthetic smile data, as CI runs it: explore,
price, train, choose, test once, register, convert for the Apollo3, parity, QEMU bench."""

import json

import pytest

from edge_affect import cli
from edge_affect.search.budget import parse_budgets
from edge_affect.search.engine import STATE, meets

BASELINE = "c16s2p2-c32bp2-c64bp2-f64"  # ~2.5 M MACs: a small start keeps CI fast
BUDGETS = ["apollo3:30ms", "flash:64KB"]


@pytest.mark.slow
def test_tiny_search_publishes_a_parity_checked_apollo3_model(tmp_path, monkeypatch, capsys):
    from edge_affect.converters.apollo3 import toolchain

    tools = toolchain.find_tools()
    if not (tools.can_build_host and tools.qemu and tools.arm_gcc):
        pytest.skip("needs make, a host C compiler, arm-none-eabi-gcc and qemu-system-arm (the Apollo3 target)")
    monkeypatch.setenv("EDGE_AFFECT_MODELS", str(tmp_path / "models"))
    out = tmp_path / "search"
    argv = ["search", "--task", "smile", *[a for b in BUDGETS for a in ("--budget", b)], "--data", "synthetic:600",
            "--out", str(out), "--name", "ci_smile", "--baseline", BASELINE, "--descents", "3",
            "--max-candidates", "2", "--epochs", "6", "--threads", "1", "--no-progress", "--json"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    state = json.loads((out / STATE).read_text())
    budgets = parse_budgets(BUDGETS)
    # the baseline is over budget; the chosen model fits and has the best selection score among those that fit
    assert not meets(state["priced"][BASELINE], budgets)
    chosen = summary["chosen"]
    assert chosen == state["chosen"] and meets(state["priced"][chosen], budgets)
    fitting = [a for a in state["candidates"] if meets(state["priced"][a], budgets)]
    assert state["trained"][chosen]["val_auc"] == max(state["trained"][a]["val_auc"] for a in fitting)
    assert state["test"]["arch"] == chosen and 0.0 <= state["test"]["auc"] <= 1.0
    # the report
    assert (out / "table.md").read_text().count("\n") == 2 + len(summary["table"])
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG" and (out / "test_roc.png").exists()
    assert summary["table"][0]["role"] == "baseline" and sum(r["role"] == "chosen" for r in summary["table"]) == 1
    # registered, converted, parity-checked on host and emulated Cortex-M4, measured on QEMU
    from edge_affect.models import get_entry, list_models

    published = summary["published"]
    assert "ci_smile" in list_models() and get_entry("ci_smile").kwargs == {"arch": chosen}
    assert published["parity"]["passed"] and published["parity"]["bit_exact"]
    assert published["parity"]["builds"] == ["host", "qemu"]
    measured, predicted = published["measured"], published["predicted"]
    assert measured["instructions_per_inference"] == pytest.approx(predicted["instructions"], rel=0.15)
    assert measured["flash_model_runtime_bytes"] == pytest.approx(predicted["flash_bytes"], rel=0.05)
    assert measured["ram_bytes"] == pytest.approx(predicted["ram_bytes"], rel=0.05)
    assert measured["latency_ms_at_48mhz"] <= 30 * 1.15

    # run again: everything is done, nothing is redone, the answer is the same
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["chosen"] == chosen


@pytest.mark.parametrize("extra, fragment", [
    (["--budget", "apollo3:fast"], "unit"), ([], "at least one --budget"), (["--budget", "cpu:1ms"], "KIND one of"),
])
def test_bad_budgets_are_one_line_errors(tmp_path, capsys, extra, fragment):
    code = cli.main(["search", "--data", "synthetic:50", "--out", str(tmp_path / "s"), *extra])
    assert code == 2 and fragment in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
