"""The search run: resumable, and refusing bad arguments before any work.
(The whole run through the CLI, with publishing: tests/edge_affect/commands/test_search_cli.py.)"""

import json

import pytest

from edge_affect.errors import InputError
from edge_affect.search import engine
from edge_affect.search.budget import parse_budgets
from edge_affect.search.engine import STATE, SearchConfig
from edge_affect.search.run import run_search

BASELINE = "c16s2p2-c32bp2-c64bp2-f64"  # ~2.5 M MACs: a small start keeps CI fast


def _config(out, **overrides):
    return SearchConfig(**{"data": "synthetic:360", "budgets": parse_budgets(["apollo3:12ms", "flash:48KB"]),
                           "out": out, "baseline": BASELINE, "descents": 3, "max_candidates": 2, "epochs": 2,
                           "threads": 1, "progress": False, **overrides})


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_AFFECT_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def _require_toolchain():
    from edge_affect.converters.apollo3 import toolchain

    tools = toolchain.find_tools()
    if not (tools.can_build_host and tools.qemu and tools.arm_gcc):
        pytest.skip("needs make, a host C compiler, arm-none-eabi-gcc and qemu-system-arm (the Apollo3 target)")


@pytest.mark.slow
def test_an_interrupted_search_resumes_without_redoing_work(tmp_path, user_models, monkeypatch):
    _require_toolchain()
    config = _config(tmp_path / "search")
    trained = []
    real = engine.train_and_score

    def flaky(config_, state, data, spec, arch, log):
        if len(trained) == 1:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the second training
        trained.append(arch)
        return real(config_, state, data, spec, arch, log)

    monkeypatch.setattr(engine, "train_and_score", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_search(config, publish=False, log=lambda _line: None)
    saved = json.loads((config.out / STATE).read_text())
    assert list(saved["trained"]) == trained and saved["chosen"] is None and saved["test"] is None

    priced = dict(saved["priced"])
    monkeypatch.setattr(engine, "train_and_score", lambda *a: (trained.append(a[4]), real(*a))[1])
    monkeypatch.setattr(engine.Pricer, "price", _no_new_prices(engine.Pricer.price, priced))
    outcome = run_search(config, publish=False, log=lambda _line: None)
    assert len(trained) == len(set(trained))  # nothing trained twice
    assert set(outcome.state.trained) == set([BASELINE] + outcome.state.candidates)
    # the same arguments are required to resume
    with pytest.raises(InputError, match="other settings"):
        run_search(_config(config.out, epochs=3), publish=False, log=lambda _line: None)


def _no_new_prices(price, priced):
    def guarded(self, arch):
        assert arch in priced, f"{arch} was priced again after the restart"
        return price(self, arch)

    return guarded


def test_bad_arguments_fail_before_any_work(tmp_path):
    with pytest.raises(InputError, match="--baseline"):
        run_search(_config(tmp_path, baseline="c8-x"), log=lambda _line: None)
    with pytest.raises(InputError, match="descents"):
        run_search(_config(tmp_path, descents=0), log=lambda _line: None)
    with pytest.raises(InputError, match="only 'smile'"):
        run_search(_config(tmp_path, task="expression"), log=lambda _line: None)
    assert not (tmp_path / STATE).exists()


@pytest.mark.slow
def test_cross_validated_search_retrains_the_chosen_model_on_all_non_test_data(tmp_path, user_models):
    _require_toolchain()
    config = _config(tmp_path / "search", folds=2, descents=1, max_candidates=1, epochs=1, train_baseline=False)
    state = run_search(config, publish=False, log=lambda _line: None).state
    scored = state.trained[state.chosen]
    assert len(scored["val_auc_folds"]) == 2 and scored["val_auc"] == pytest.approx(sum(scored["val_auc_folds"]) / 2)
    assert state.final["weights"].startswith("final/") and (config.out / state.final["weights"]).exists()
    assert state.test["arch"] == state.chosen
