"""`edge-affect search`: the whole run, from data to a registered, converted,
parity-checked Apollo3 model. Each stage records its result in the state
first, so a restart skips what is done."""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_affect.errors import InputError
from edge_affect.models.smile_net import parse_arch
from edge_affect.search import engine, report
from edge_affect.search.engine import BASE_MODEL, SearchConfig, SearchState
from edge_affect.ui import progress_bars

APOLLO3_BUNDLE = "apollo3-int8"


@dataclass
class SearchOutcome:
    state: SearchState
    table: list[dict[str, Any]]
    plot: Path
    seed_bar: float | None


def run_search(config: SearchConfig, name: str | None = None, publish: bool = True,
               log: engine.Log = print) -> SearchOutcome:
    from edge_affect.models import get_spec

    spec = get_spec(BASE_MODEL)
    if spec.task != config.task:
        raise InputError(f"search --task {config.task!r}: only 'smile' has a search space (smile_net)")
    if config.steps_below < 0:
        raise InputError(f"search: --steps-below must be >= 0, got {config.steps_below}")
    if config.descents < 1 or config.max_candidates < 1 or config.folds < 1:
        raise InputError(f"search: --descents, --max-candidates and --folds must be >= 1, got {config.descents}, "
                         f"{config.max_candidates}, {config.folds}")
    if name is not None:
        from edge_affect.models.user_models import check_name

        check_name(name)
    baseline = _baseline(config.baseline)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state = SearchState.load(out, config)

    data = engine.split_data(config, spec, log)
    splits = engine.split_record(data)
    if state.splits and state.splits != splits:
        raise InputError(f"{out / engine.STATE}: the data or its split changed since this search started "
                         f"(split sha256 {state.splits.get('sha256', '?')[:12]} vs {splits['sha256'][:12]})")
    state.splits = splits
    state.save(out)
    log(f"split: train {splits['train']['n']}, selection {splits['val']['n']}, test {splits['test']['n']} "
        f"(test held out until one model is chosen)")

    with progress_bars(config.progress) as bars:
        pricer = engine.Pricer(spec, state)
        engine.explore(config, state, pricer, log, bars)
        if not state.candidates:
            state.candidates = engine.pick_candidates(state, config.budgets, config.max_candidates)
            state.save(out)
        if not state.candidates:
            raise InputError(f"search: none of {config.descents} descents found an architecture within "
                             f"{[b.text for b in config.budgets]}; loosen a budget or raise --descents")
        queue = ([baseline] if config.train_baseline else []) + state.candidates
        task = bars.add_task("training candidates", total=len(queue)) if bars else None
        for arch in queue:
            if arch not in state.trained:
                state.trained[arch] = engine.train_and_score(config, state, data, spec, arch, log)
                state.save(out)
                scored = state.trained[arch]
                log(f"trained {arch}: selection AUC {_fmt(scored['val_auc'])} ({scored['train_seconds']:.0f} s)")
            if bars:
                bars.advance(task)

    chosen = engine.choose(state, config.budgets)
    if chosen is None:
        raise InputError("search: no trained candidate within budget has a selection AUC "
                         "(the selection split needs both classes)")
    if state.chosen not in (None, chosen):
        raise InputError(f"{out / engine.STATE}: chose {state.chosen!r} before, {chosen!r} now; the state is "
                         f"inconsistent — start a new --out")
    state.chosen = chosen
    state.save(out)
    if config.folds > 1 and state.final is None:
        log(f"retraining {chosen} on all {len(data.folds[0][0]) + len(data.folds[0][1])} non-test samples")
        state.final = engine.train_final(config, data, spec, chosen)
        state.save(out)
    if state.test is None:  # the test split is scored exactly once, for the chosen model only
        state.test = engine.test_once(config, state, data, spec, log)
        state.save(out)

    bar = engine.seed_bar(state, baseline)
    table = report.rows(state, config.budgets, baseline, bar)
    report.write_tables(out, table)
    plot = report.plot_pareto(out, table, config.budgets, bar,
                              f"smile search on {config.data}: {', '.join(b.text for b in config.budgets)}")
    if publish and state.published is None:
        state.published = publish_chosen(config, state, spec, name or default_name(out), log)
        state.save(out)
    return SearchOutcome(state, table, plot, bar)


def default_name(out: Path) -> str:
    digest = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:8]
    return f"smile_search_{digest}"


def publish_chosen(config: SearchConfig, state: SearchState, spec, name: str, log: engine.Log) -> dict[str, Any]:
    """Register the chosen model under `name`, convert it for the Apollo3, check
    parity (host and emulated Cortex-M4) and measure it on QEMU."""
    from edge_affect.models.user_models import save_user_model
    from edge_affect.parity import check_bundle

    out = Path(config.out)
    arch = state.chosen
    scored = state.trained[arch]
    model_dir = save_user_model(
        name, BASE_MODEL, {"arch": arch}, spec, engine.chosen_weights(config, state),
        description=f"smile model chosen by `edge-affect search` ({arch})",
        provenance={"search": str(out.resolve()), "data": config.data, "budgets": [b.text for b in config.budgets],
                    "val_auc": scored["val_auc"], "test_auc": state.test["auc"] if state.test else None})
    log(f"registered {name} ({model_dir})")
    build = importlib.import_module("edge_affect.converters.build")
    bundle = build.build_bundle(name, "apollo3", "int8", out / APOLLO3_BUNDLE, progress=log)
    parity = check_bundle(bundle)
    if not parity.passed:
        raise InputError(f"search: the chosen model's Apollo3 bundle failed parity: {parity.failures}")
    converter = importlib.import_module("edge_affect.converters").get_converter("apollo3")
    measured = converter.device_bench(bundle, _manifest(bundle))["kernels"]["optimized"]
    predicted = state.priced[arch]
    log(f"Apollo3 (QEMU): {measured['instructions_per_inference']:,} instructions, "
        f"{measured['latency_ms_at_48mhz']} ms at 48 MHz (cost model: {predicted['latency_ms_48mhz']:.2f} ms)")
    return {
        "name": name, "model_dir": str(model_dir), "bundle": str(bundle),
        "parity": {"passed": parity.passed, "bit_exact": parity.bit_exact, "n_inputs": parity.n_inputs,
                   "builds": sorted(parity.builds), "top1_vs_fp32": parity.top1_agreement},
        "measured": {k: measured[k] for k in ("instructions_per_inference", "latency_ms_at_48mhz",
                                              "latency_ms_at_96mhz", "flash_model_bytes",
                                              "flash_model_runtime_bytes", "ram_bytes", "stack_high_water_bytes")},
        "predicted": {k: predicted.get(k) for k in ("instructions", "latency_ms_48mhz", "latency_ms_96mhz",
                                                    "flash_model_bytes", "flash_bytes", "ram_bytes", "stack_bytes")},
    }


def _manifest(bundle: Path) -> dict[str, Any]:
    from edge_affect.bundle import load_bundle

    return load_bundle(bundle, verify=False).manifest  # check_bundle has just verified every sha256


def _baseline(text: str) -> str:
    try:
        return str(parse_arch(text))
    except ValueError as exc:
        raise InputError(f"--baseline: {exc}") from None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
