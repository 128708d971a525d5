"""The search loop, resumable at every step.

1. Split the data once, stratified: train / selection (validation) / test.
2. Explore: random descents from the baseline through one-step reductions,
   guided by exact MAC / parameter / activation counts, until a descent's
   architecture fits every budget by the Apollo3 cost model (the real estimate:
   quantized, lowered and priced per op). Each descent's first fitting
   architecture is a candidate; different descents reach different ones.
3. Train the baseline (its AUC sets the seed's "good enough" bar, reported
   only) and the largest candidates; score each on the selection split, or
   by K-fold cross-validation over all non-test data (--folds K).
4. Choose the best selection score among the candidates that meet every
   budget — not the first success — (with folds: retrain it on all non-test
   data), then score the held-out test split once.

State lives in OUT/search.json (rewritten atomically after every step);
an interrupted run started again with the same arguments continues where
it stopped, including inside a candidate's training.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edge_affect.errors import InputError
from edge_affect.fileio import json_safe, write_text_atomic
from edge_affect.models.smile_net import SEED_BASELINE_ARCH, parse_arch
from edge_affect.search.budget import Budget
from edge_affect.search.space import footprint, reductions

STATE = "search.json"
STATE_FORMAT = "edge-affect-search"
BASE_MODEL = "smile_net"
# The seed's stopping rule (Algorithm 1), reported beside our selection: a model is
# "good enough" when its AUC >= 0.5 + SEED_KEEP * (baseline AUC - 0.5).
SEED_KEEP = 0.8
# A descent takes a step only when it cuts the guide cost by at least this much.
MIN_STEP = 0.05
# Priced steps a descent may take past its first guided stop before it gives up.
EXTRA_PRICED_STEPS = 4

Log = Callable[[str], None]


@dataclass
class SearchConfig:
    data: str  # KIND[SPLIT]:PATH or synthetic:N
    budgets: list[Budget]
    out: Path
    task: str = "smile"
    baseline: str = SEED_BASELINE_ARCH
    descents: int = 16
    steps_below: int = 2  # gentle steps each descent takes past its first fit (smaller models for the front)
    max_candidates: int = 8
    epochs: int | None = None  # None: the smile recipe's
    batch_size: int | None = None
    lr: float | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    folds: int = 1  # 1: one selection split; K > 1: K-fold cross-validation on all non-test data
    seed: int = 0
    train_baseline: bool = True
    threads: int | None = None
    progress: bool = True

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between a run and its resumption."""
        return {"data": self.data, "task": self.task, "baseline": self.baseline,
                "budgets": [b.text for b in self.budgets], "descents": self.descents,
                "steps_below": self.steps_below,
                "max_candidates": self.max_candidates, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "val_fraction": self.val_fraction, "test_fraction": self.test_fraction,
                "folds": self.folds, "seed": self.seed, "train_baseline": self.train_baseline}


@dataclass
class SearchState:
    config: dict[str, Any]
    splits: dict[str, Any] = field(default_factory=dict)
    priced: dict[str, dict[str, Any]] = field(default_factory=dict)  # arch -> cost record
    descents: list[dict[str, Any]] = field(default_factory=list)  # one per finished descent
    candidates: list[str] = field(default_factory=list)  # the archs to train, in order
    trained: dict[str, dict[str, Any]] = field(default_factory=dict)  # arch -> selection scores
    chosen: str | None = None
    test: dict[str, Any] | None = None  # the chosen model's held-out score, computed once
    final: dict[str, Any] | None = None  # with folds: the chosen model retrained on all non-test data
    published: dict[str, Any] | None = None  # registered name, Apollo3 bundle, parity, measured figures

    def save(self, out: Path) -> None:
        document = {"format": STATE_FORMAT, "format_version": 1, **asdict(self)}
        write_text_atomic(out / STATE, json.dumps(json_safe(document), indent=2) + "\n")

    @classmethod
    def load(cls, out: Path, config: SearchConfig) -> "SearchState":
        path = out / STATE
        if not path.exists():
            return cls(config=config.fingerprint())
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable search state ({exc}); remove it to start afresh") from None
        if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
            raise InputError(f"{path}: not an edge-affect search state")
        saved = document.get("config", {})
        # A setting added after the state was written had its default then.
        defaults = SearchConfig(data="", budgets=[], out=out).fingerprint()
        changed = {k: (saved.get(k, defaults[k]), v) for k, v in config.fingerprint().items()
                   if saved.get(k, defaults[k]) != v}
        if changed:
            detail = ", ".join(f"{k}: was {old!r}, now {new!r}" for k, (old, new) in changed.items())
            raise InputError(f"{path}: this directory holds a search with other settings ({detail}); "
                             f"use another --out or the same arguments to resume")
        fields = {k: document[k] for k in cls.__dataclass_fields__ if k in document}
        return cls(**fields)


def candidate_dir(out: Path, arch: str) -> Path:
    digest = hashlib.sha256(arch.encode()).hexdigest()[:10]
    return out / "candidates" / digest


# ---------------------------------------------------------------------------- data


@dataclass
class SearchData:
    prepared: Any  # edge_affect.model_data.Prepared
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    # (train, validation) index pairs scored per candidate: the selection split, or K folds of train + val
    folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def split_data(config: SearchConfig, spec, log: Log) -> SearchData:
    """Stratified train / selection / test indices, the same on every resumption."""
    from edge_affect.data.split import holdout_split
    from edge_affect.model_data import load_data, prepare

    prepared = prepare(load_data(config.data, config.task, spec, config.seed), spec)
    log(f"data {config.data}: {prepared.summary()}")
    labels = np.asarray(prepared.targets)
    if len(np.unique(labels)) < 2:
        raise InputError(f"search data {config.data}: needs both smiling and non-smiling faces")
    if not (0 < config.val_fraction < 1 and 0 < config.test_fraction < 1
            and config.val_fraction + config.test_fraction < 1):
        raise InputError(f"search: --val-fraction {config.val_fraction} and --test-fraction {config.test_fraction} "
                         f"must be in (0, 1) and leave data to train on")
    rest, test = holdout_split(len(labels), config.test_fraction, config.seed, labels=labels)
    inner_fraction = config.val_fraction / (1 - config.test_fraction)
    train_pos, val_pos = holdout_split(len(rest), inner_fraction, config.seed + 1, labels=labels[rest])
    data = SearchData(prepared, rest[train_pos], rest[val_pos], test)
    if config.folds > 1:
        from edge_affect.data.split import kfold

        data.folds = [(rest[t], rest[v]) for t, v in kfold(len(rest), config.folds, config.seed + 1,
                                                           labels=labels[rest])]
    else:
        data.folds = [(data.train, data.val)]
    return data


def split_record(data: SearchData) -> dict[str, Any]:
    digest = hashlib.sha256()
    for part in (data.train, data.val, data.test, *(i for fold in data.folds for i in fold)):
        digest.update(np.asarray(part, np.int64).tobytes() + b"|")
    targets = np.asarray(data.prepared.targets)
    return {name: {"n": int(len(idx)), "positives": int(targets[idx].sum())}
            for name, idx in (("train", data.train), ("val", data.val), ("test", data.test))} | \
        {"sha256": digest.hexdigest()}


# ---------------------------------------------------------------------------- pricing


class Pricer:
    """Apollo3 cost of an architecture by the C runtime's cost model (cached in the state)."""

    def __init__(self, spec, state: SearchState) -> None:
        self.spec = spec
        self.state = state

    @functools.cached_property
    def calibration(self) -> np.ndarray:
        """Cost does not depend on the weights' values, only on shapes: the untrained
        network is priced, quantized with a few real calibration faces (made only when
        something is left to price; a resumed search usually has none)."""
        from edge_affect.goldens import calibration_crops, model_inputs

        return model_inputs(calibration_crops(self.spec.input), self.spec.input)[:16]

    def price(self, arch: str) -> dict[str, Any]:
        if arch in self.state.priced:
            return self.state.priced[arch]
        from edge_affect.errors import ConversionError
        from edge_affect.models import create_model

        # Lazily by name: edge_affect never imports the converters package statically.
        estimate_model = importlib.import_module("edge_affect.converters.apollo3.cost_model").estimate_model

        shape = footprint(arch, self.spec.input.channels, self.spec.input.size[0])
        record: dict[str, Any] = {"params": shape.params}
        try:
            estimate = estimate_model(create_model(BASE_MODEL, arch=arch).eval(), self.spec, self.calibration)
        except ConversionError as exc:
            record.update(macs=shape.macs, error=str(exc))
        else:
            record.update({k: v for k, v in estimate.to_dict().items() if k != "per_op"})
        self.state.priced[arch] = record
        return record


def meets(record: dict[str, Any], budgets: list[Budget]) -> bool:
    return "error" not in record and all(b.met_by(record) for b in budgets)


class Guide:
    """Exact counts scaled by ratios learnt from the architectures priced so far:
    cheap enough to try every reduction at every step of every descent."""

    # figure in a cost record -> the exact count it scales with, and the ratio before anything is priced
    BASES = {"latency_ms_48mhz": ("macs", 2.5 / 48e3), "flash_bytes": ("params", 1.0), "ram_bytes": ("peak", 1.0)}

    def __init__(self, spec, budgets: list[Budget], priced: dict[str, dict[str, Any]]) -> None:
        self.spec, self.budgets, self.priced = spec, budgets, priced
        self._ratios: dict[str, float] = {}
        self._ratios_from = -1  # len(priced) the ratios were learnt from; priced only grows

    def _counts(self, arch: str) -> dict[str, int]:
        shape = footprint(arch, self.spec.input.channels, self.spec.input.size[0])
        return {"macs": shape.macs, "params": shape.params, "peak": shape.peak_activation_bytes}

    def _ratio(self, figure: str) -> float:
        if self._ratios_from != len(self.priced):
            self._ratios = {}
            for arch, record in self.priced.items():
                counts = self._counts(arch)
                for fig, (basis, _) in self.BASES.items():
                    if fig in record and counts[basis]:
                        # The smallest ratio seen: never steer a descent past a model that would have fitted.
                        ratio = record[fig] / counts[basis]
                        self._ratios[fig] = min(self._ratios.get(fig, ratio), ratio)
            self._ratios_from = len(self.priced)
        return self._ratios.get(figure, self.BASES[figure][1])

    def figures(self, arch: str) -> dict[str, float]:
        counts = self._counts(arch)
        return {"macs": float(counts["macs"]),
                **{fig: counts[basis] * self._ratio(fig) for fig, (basis, _) in self.BASES.items()}}

    def excess(self, arch: str) -> float:
        figures = self.figures(arch)
        return max(b.excess(figures) for b in self.budgets)


def explore(config: SearchConfig, state: SearchState, pricer: Pricer, log: Log, progress) -> None:
    """Random descents until each one reaches an architecture that fits every budget."""
    guide = Guide(pricer.spec, config.budgets, state.priced)
    baseline = str(parse_arch(config.baseline))
    record = pricer.price(baseline)
    if "error" in record:
        raise InputError(f"search: the baseline {baseline!r} cannot run on the Apollo3: {record['error']}")
    state.save(config.out)
    task = progress.add_task("exploring reductions", total=config.descents) if progress else None
    if progress:
        progress.update(task, completed=len(state.descents))
    for index in range(len(state.descents), config.descents):
        rng = np.random.default_rng([config.seed, index])
        state.descents.append(_descend(baseline, config.budgets, guide, pricer, rng, config.steps_below))
        found = state.descents[-1]
        log(f"descent {index + 1}/{config.descents}: " + (
            f"{found['arch']} fits ({found['steps']} steps)" if found["arch"] else "found nothing that fits"))
        state.save(config.out)
        if progress:
            progress.advance(task)


def _descend(baseline: str, budgets: list[Budget], guide: Guide, pricer: Pricer, rng, steps_below: int
             ) -> dict[str, Any]:
    """Gentle random reductions until the cost model says an architecture fits
    (the descent's find), then `steps_below` more (smaller models that fit)."""
    arch, path = baseline, []
    priced_steps = 0
    while True:
        if guide.excess(arch) <= 1.0 or priced_steps:
            record = pricer.price(arch)
            if meets(record, budgets):
                break
            priced_steps += 1
            if priced_steps > EXTRA_PRICED_STEPS:
                return {"arch": None, "steps": len(path), "path": path, "below": []}
        step = _gentle_step(arch, guide, rng)
        if step is None:
            return {"arch": None, "steps": len(path), "path": path, "below": []}
        path.append(step.move)
        arch = step.arch
    found, below = arch, []
    for _ in range(steps_below):
        step = _gentle_step(arch, guide, rng)
        if step is None:
            break
        arch = step.arch
        if meets(pricer.price(arch), budgets):
            below.append(arch)
    return {"arch": found, "steps": len(path), "path": path, "below": below}


def _gentle_step(arch: str, guide: Guide, rng):
    """A random one of the gentler half of the reductions that cut the guide cost
    by MIN_STEP: descents differ, yet none throws capacity away in one jump."""
    current = guide.excess(arch)
    children = reductions(arch)
    excess = {r.arch: guide.excess(r.arch) for r in children}
    moves = [r for r in children if excess[r.arch] <= current * (1 - MIN_STEP)]
    if not moves:
        return None
    moves.sort(key=lambda r: (-excess[r.arch], r.arch))
    gentle = moves[:max(1, (len(moves) + 1) // 2)]
    return gentle[int(rng.integers(len(gentle)))]


def pick_candidates(state: SearchState, budgets: list[Budget], limit: int) -> list[str]:
    """What to train: the largest of the descents' finds (those nearest the budget,
    most capacity) for half the slots, then smaller fitting models spread evenly
    over latency, so the Pareto front spans more than the budget's edge."""
    def fits(arch: str) -> bool:
        return meets(state.priced[arch], budgets)

    by_size = lambda archs: sorted(set(archs), key=lambda a: (-state.priced[a]["macs"], a))  # noqa: E731
    finds = by_size(d["arch"] for d in state.descents if d["arch"] and fits(d["arch"]))
    chosen = finds[:(limit + 1) // 2]
    rest = sorted((a for a in by_size(finds + [b for d in state.descents for b in d.get("below", []) if fits(b)])
                   if a not in chosen), key=lambda a: (state.priced[a]["latency_ms_48mhz"], a))
    slots = limit - len(chosen)
    if slots >= len(rest):
        return chosen + rest[::-1]
    picks = np.linspace(0, len(rest) - 1, slots).round().astype(int) if slots else []
    return chosen + [rest[i] for i in sorted(set(picks), reverse=True)]


# ---------------------------------------------------------------------------- training and scoring


def train_and_score(config: SearchConfig, state: SearchState, data: SearchData, spec, arch: str, log: Log
                    ) -> dict[str, Any]:
    """Train `arch` on each fold's training part and score its best checkpoint
    on that fold's validation part; the selection score is the mean AUC."""
    folds = []
    for index, (train_idx, val_idx) in enumerate(data.folds):
        out = candidate_dir(config.out, arch) / (f"fold{index}" if len(data.folds) > 1 else "")
        folds.append(_train_fold(config, data, spec, arch, out, train_idx, val_idx))
    scores = [f["val_auc"] for f in folds]
    known = [v for v in scores if v is not None]
    result = {"val_auc": float(np.mean(known)) if len(known) == len(scores) else None,
              "epochs": folds[0]["epochs"], "train_seconds": round(sum(f["train_seconds"] for f in folds), 2),
              "weights": folds[0]["weights"]}
    if len(folds) > 1:
        result |= {"val_auc_folds": scores, "val_auc_std": float(np.std(known)) if known else None}
    else:
        result |= {k: folds[0][k] for k in ("val_average_precision", "final_train_loss")}
    return result


def _train_fold(config: SearchConfig, data: SearchData, spec, arch: str, out: Path, train_idx: np.ndarray,
                val_idx: np.ndarray) -> dict[str, Any]:
    from edge_affect.evaluate import compute_metrics
    from edge_affect.models import create_model
    from edge_affect.train import TrainConfig, predict_raw, select_device, train

    result = train(TrainConfig(model=BASE_MODEL, data=config.data, out=out, epochs=config.epochs,
                               batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                               model_kwargs={"arch": arch}, prepared=data.prepared, split=(train_idx, val_idx),
                               resume=True, threads=config.threads, progress=False),
                   log=lambda _line: None)
    weights = result.best or result.last
    history = result.history
    scored = {"epochs": len(history), "train_seconds": round(sum(h.get("seconds", 0.0) for h in history), 2),
              "final_train_loss": history[-1]["train_loss"] if history else None,
              "weights": str(weights.relative_to(config.out))}
    if not len(val_idx):
        return scored
    model = create_model(BASE_MODEL, pretrained=False, weights_path=weights, arch=arch)
    raw = predict_raw(model, data.prepared, val_idx, spec, select_device("cpu"))
    metrics = compute_metrics(spec.task, raw, np.asarray(data.prepared.targets)[val_idx], spec.output)
    return scored | {"val_auc": _finite(metrics.get("auc")),
                     "val_average_precision": _finite(metrics.get("average_precision"))}


def train_final(config: SearchConfig, data: SearchData, spec, arch: str) -> dict[str, Any]:
    """Cross-validation scores a recipe, not one set of weights: the chosen
    architecture is retrained on every non-test sample for the deployed model."""
    everything = np.sort(np.concatenate(data.folds[0]))
    return _train_fold(config, data, spec, arch, config.out / "final", everything, np.arange(0))


def chosen_weights(config: SearchConfig, state: SearchState) -> Path:
    return config.out / (state.final or state.trained[state.chosen])["weights"]


def choose(state: SearchState, budgets: list[Budget]) -> str | None:
    """Best selection AUC among trained candidates within every budget; ties go to the faster one."""
    eligible = [a for a in state.candidates
                if a in state.trained and meets(state.priced[a], budgets) and state.trained[a]["val_auc"] is not None]
    if not eligible:
        return None
    return max(eligible, key=lambda a: (state.trained[a]["val_auc"], -state.priced[a]["latency_ms_48mhz"], a))


def seed_bar(state: SearchState, baseline: str) -> float | None:
    """The seed's Algorithm 1 acceptance bar, from the baseline's selection AUC."""
    score = state.trained.get(baseline, {}).get("val_auc")
    return None if score is None else 0.5 + SEED_KEEP * (score - 0.5)


def test_once(config: SearchConfig, state: SearchState, data: SearchData, spec, log: Log) -> dict[str, Any]:
    from edge_affect.evaluate import compute_metrics, plot_pr, plot_roc
    from edge_affect.models import create_model
    from edge_affect.runtime.postprocess import postprocess
    from edge_affect.train import predict_raw, select_device

    arch = state.chosen
    model = create_model(BASE_MODEL, pretrained=False, weights_path=chosen_weights(config, state), arch=arch)
    raw = predict_raw(model, data.prepared, data.test, spec, select_device("cpu"))
    targets = np.asarray(data.prepared.targets)[data.test]
    metrics = compute_metrics(spec.task, raw, targets, spec.output)
    scores = postprocess(raw, spec.output)[:, 1]  # p(smiling)
    if len(np.unique(targets)) == 2:
        plot_roc(targets, scores, config.out / "test_roc.png", f"chosen {arch}: test ROC")
        plot_pr(targets, scores, config.out / "test_pr.png", f"chosen {arch}: test precision-recall")
    return {"arch": arch, "n": int(len(targets)), "auc": _finite(metrics.get("auc")), "metrics": metrics}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
