import json

import numpy as np
import pytest

from edge_affect.errors import InputError
from edge_affect.models import get_spec
from edge_affect.search.budget import parse_budgets
from edge_affect.search.engine import (STATE, Guide, SearchConfig, SearchState, choose, pick_candidates, seed_bar,
                                       split_data, split_record)
from edge_affect.search.report import markdown_table, pareto_front, plot_pareto, rows, write_tables

SPEC = get_spec("smile_net")
BUDGETS = parse_budgets(["apollo3:100ms", "flash:64KB"])


def _config(tmp_path, **overrides):
    return SearchConfig(**{"data": "synthetic:120", "budgets": BUDGETS, "out": tmp_path, **overrides})


def _cost(latency, flash=10_000, macs=1000):
    return {"latency_ms_48mhz": latency, "flash_bytes": flash, "ram_bytes": 5000, "macs": macs, "params": 10}


def test_splits_are_stratified_disjoint_and_reproducible(tmp_path):
    config = _config(tmp_path)
    a, b = split_data(config, SPEC, lambda _: None), split_data(config, SPEC, lambda _: None)
    assert split_record(a) == split_record(b)
    parts = [set(a.train), set(a.val), set(a.test)]
    assert sum(map(len, parts)) == 120 and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    targets = np.asarray(a.prepared.targets)
    for part in (a.val, a.test):
        assert targets[part].sum() >= 1  # both classes everywhere
    other = split_data(_config(tmp_path, seed=5), SPEC, lambda _: None)
    assert split_record(other)["sha256"] != split_record(a)["sha256"]


def test_fractions_that_leave_nothing_to_train_on_are_refused(tmp_path):
    with pytest.raises(InputError, match="leave data to train on"):
        split_data(_config(tmp_path, val_fraction=0.5, test_fraction=0.5), SPEC, lambda _: None)


def test_state_resumes_only_with_the_same_settings(tmp_path):
    config = _config(tmp_path)
    state = SearchState(config=config.fingerprint())
    state.priced["c8"] = _cost(1.0)
    state.save(tmp_path)
    assert SearchState.load(tmp_path, config).priced == {"c8": _cost(1.0)}
    with pytest.raises(InputError, match="budgets: was .* now"):
        SearchState.load(tmp_path, _config(tmp_path, budgets=parse_budgets(["apollo3:50ms"])))
    (tmp_path / STATE).write_text("{")
    with pytest.raises(InputError, match="unreadable search state"):
        SearchState.load(tmp_path, config)


def test_the_choice_is_the_best_selection_score_within_budget_not_the_first_success(tmp_path):
    state = SearchState(config={}, candidates=["a", "b", "c", "d"])
    state.priced = {"a": _cost(90), "b": _cost(40), "c": _cost(150), "d": _cost(30, flash=100_000)}
    state.trained = {"a": {"val_auc": 0.70}, "b": {"val_auc": 0.74}, "c": {"val_auc": 0.90}, "d": {"val_auc": 0.95}}
    assert choose(state, BUDGETS) == "b"  # c is too slow, d too big for the flash budget
    state.trained["a"]["val_auc"] = 0.74
    assert choose(state, BUDGETS) == "b"  # a tie goes to the faster model
    state.priced["b"]["error"] = "unsupported op"
    assert choose(state, BUDGETS) == "a"


def test_candidates_are_the_distinct_fitting_finds_largest_first():
    state = SearchState(config={})
    state.priced = {"x": _cost(50, macs=500), "y": _cost(60, macs=900), "z": _cost(200, macs=5000)}
    state.descents = [{"arch": "x"}, {"arch": "y"}, {"arch": "x"}, {"arch": None}, {"arch": "z"}]
    assert pick_candidates(state, BUDGETS, 5) == ["y", "x"]
    assert pick_candidates(state, BUDGETS, 1) == ["y"]


def test_half_the_candidates_are_the_largest_finds_the_rest_spread_over_latency():
    state = SearchState(config={})
    state.priced = {f"f{i}": _cost(90 + i, macs=9000 + i) for i in range(3)}  # the finds, near the budget
    state.priced |= {f"s{i}": _cost(10 * (i + 1), macs=100 * (i + 1)) for i in range(8)}  # smaller, 10..80 ms
    state.descents = [{"arch": "f0", "below": ["s0", "s1"]}, {"arch": "f1", "below": ["s2", "s3", "s4"]},
                      {"arch": "f2", "below": ["s5", "s6", "s7"]}]
    picked = pick_candidates(state, BUDGETS, 4)
    assert picked[:2] == ["f2", "f1"]  # the two largest finds
    assert sorted(picked[2:]) == ["f0", "s0"]  # the rest: the smallest and the largest remaining
    assert set(pick_candidates(state, BUDGETS, 20)) == set(state.priced)


def test_seed_bar_is_the_seeds_algorithm_1_rule():
    state = SearchState(config={}, trained={"base": {"val_auc": 0.7}})
    assert seed_bar(state, "base") == pytest.approx(0.66)
    assert seed_bar(state, "other") is None


def test_guide_learns_cost_ratios_from_priced_models_and_never_overestimates_them():
    priced = {"c8s2p2-c16bp2-g-f16": _cost(10.0, flash=20_000), "c16s2p2-c32bp2-g-f16": _cost(30.0, flash=30_000)}
    from edge_affect.search.space import footprint

    for arch in priced:
        priced[arch]["macs"] = footprint(arch).macs
    guide = Guide(SPEC, BUDGETS, priced)
    for arch, cost in priced.items():
        figures = guide.figures(arch)
        assert figures["latency_ms_48mhz"] <= cost["latency_ms_48mhz"] + 1e-9
        assert figures["flash_bytes"] <= cost["flash_bytes"] + 1e-9
    assert guide.excess("c16s2p2-c32bp2-g-f16") > guide.excess("c8s2p2-c16bp2-g-f16")


def test_report_table_and_pareto_plot(tmp_path):
    state = SearchState(config={}, candidates=["a", "b", "c"], chosen="b", test={"auc": 0.71})
    state.priced = {"base": _cost(900, flash=900_000), "a": _cost(90), "b": _cost(40), "c": _cost(20)}
    state.trained = {"base": {"val_auc": 0.8}, "a": {"val_auc": 0.70}, "b": {"val_auc": 0.74}, "c": {"val_auc": 0.6}}
    assert pareto_front(state, ["a", "b", "c"]) == {"b", "c"}  # a is slower and worse than b
    table = rows(state, BUDGETS, "base", seed_bar(state, "base"))
    assert [r["role"] for r in table] == ["baseline", "pareto", "chosen", "candidate"]
    assert [r["arch"] for r in table] == ["base", "c", "b", "a"]
    assert table[2]["test_auc"] == 0.71 and all(r["test_auc"] is None for r in table if r["arch"] != "b")
    assert table[0]["fits"] is False and table[2]["seed_bar_met"] is True  # bar 0.74
    csv_path, md_path = write_tables(tmp_path, table)
    assert md_path.read_text() == markdown_table(table) and csv_path.read_text().count("\n") == 5
    png = plot_pareto(tmp_path, table, BUDGETS, 0.74, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(table)


def test_folds_partition_the_non_test_data_and_keep_the_test_split(tmp_path):
    one = split_data(_config(tmp_path), SPEC, lambda _: None)
    three = split_data(_config(tmp_path, folds=3), SPEC, lambda _: None)
    assert set(three.test) == set(one.test)  # the same held-out test split either way
    rest = set(one.train) | set(one.val)
    validated = [set(v) for _, v in three.folds]
    assert len(three.folds) == 3 and set().union(*validated) == rest and sum(map(len, validated)) == len(rest)
    for train_idx, val_idx in three.folds:
        assert set(train_idx) | set(val_idx) == rest and not set(train_idx) & set(val_idx)
    assert one.folds == [(one.train, one.val)]


def test_a_state_written_before_a_setting_existed_resumes_with_its_default(tmp_path):
    config = _config(tmp_path)
    state = SearchState(config={k: v for k, v in config.fingerprint().items() if k != "folds"})
    state.save(tmp_path)
    SearchState.load(tmp_path, config)  # folds defaults to 1: same search
    with pytest.raises(InputError, match="folds: was 1, now 2"):
        SearchState.load(tmp_path, _config(tmp_path, folds=2))


def test_the_readme_genki4k_layout_feeds_the_search_split(tmp_path):
    """`--data genki4k:DIR` (the README's full command) through the search's data path,
    on a GENKI-4K-format copy the test writes: labels.txt + files/fileNNNN.jpg."""
    import cv2

    from edge_affect.data.synthetic import generate

    root = tmp_path / "GENKI-4K"
    (root / "files").mkdir(parents=True)
    lines = []
    for i, face in enumerate(generate(30, 5, size=(96, 96), color="gray"), start=1):
        cv2.imwrite(str(root / "files" / f"file{i:04d}.jpg"), face.image)
        lines.append(f"{int(face.labels['smile'])} 0.1 -0.05 0.0")
    lines[0] = "1" + lines[0][1:]
    lines[1] = "0" + lines[1][1:]  # both classes, whatever the generator drew
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    data = split_data(_config(tmp_path / "out", data=f"genki4k:{root}"), SPEC, lambda _: None)
    assert len(data.prepared) == 30 and sum(map(len, (data.train, data.val, data.test))) == 30
    x = data.prepared.image(int(data.test[0]))
    assert x.shape[:2] == (64, 64)
