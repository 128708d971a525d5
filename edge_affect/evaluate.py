"""Evaluate a model (a training checkpoint or the registry's weights) on any dataset.

The report directory gets:
  metrics.json          task metrics (see compute_metrics), the data summary, model and weights
  predictions.npz       raw outputs and targets, for further analysis
  confusion_matrix.png  classification tasks
  roc.png, pr.png       smile (binary): ROC and precision-recall curves with the chosen thresholds
  circumplex.png        valence/arousal: true and predicted points on the circumplex plane
  training_curves.png   when the checkpoint carries a training history

Cross-dataset evaluation is just another ``--data``: any loader kind works,
whatever the model was trained on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from edge_affect import metrics as M
from edge_affect.errors import InputError
from edge_affect.fileio import json_safe
from edge_affect.runtime.postprocess import postprocess
from edge_affect.spec import OutputSpec, PipelineSpec

METRICS_FILE = "metrics.json"


# ---------------------------------------------------------------------------- metrics


def compute_metrics(task: str, raw: np.ndarray, targets: np.ndarray, output: OutputSpec) -> dict[str, Any]:
    """Task metrics of raw model outputs (N, K) against targets, on the
    post-processed values an app would show (softmax / clamp from the spec)."""
    shown = postprocess(raw, output)
    n = int(len(targets))
    if task == "expression":
        return _classification(shown, targets, output.labels)
    if task == "smile":
        return {**_classification(shown, targets, output.labels), **_binary(shown[:, 1], targets)}
    if task in ("valence_arousal", "ocular_va"):
        return {"n": n, **{name: M.regression_report(targets[:, i], shown[:, i])
                           for i, name in enumerate(output.labels)}}
    raise InputError(f"task: expected expression, smile, valence_arousal or ocular_va, got {task!r}")


def _classification(probs: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    predicted = np.argmax(probs, axis=1)
    report = M.per_class_report(targets, predicted, len(labels))
    return {
        "n": int(len(targets)),
        "accuracy": M.accuracy(targets, predicted),
        "macro_f1": report.macro_f1,
        "per_class": {name: {"precision": float(report.precision[i]), "recall": float(report.recall[i]),
                             "f1": float(report.f1[i]), "support": int(report.support[i])}
                      for i, name in enumerate(labels)},
        "confusion_matrix": M.confusion_matrix(targets, predicted, len(labels)).tolist(),
    }


def _binary(scores: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Seed 4's report: AUC, and accuracy/precision/recall/F1 at 0.5 and at
    the thresholds chosen by Youden's J and by maximum F1."""
    if len(np.unique(targets)) < 2:
        return {"auc": math.nan, "note": "one class only: AUC and thresholds are undefined"}
    youden, best_f1 = M.youden_threshold(targets, scores), M.max_f1_threshold(targets, scores)
    return {
        "auc": M.roc_auc(targets, scores),
        "average_precision": M.average_precision(targets, scores),
        "at_0.5": M.binary_report(targets, scores, 0.5),
        "at_youden": M.binary_report(targets, scores, youden.threshold),
        "at_max_f1": M.binary_report(targets, scores, best_f1.threshold),
    }


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The few numbers worth a progress line: accuracy / AUC, or RMSE and CCC per dimension."""
    if "accuracy" in metrics:
        out = {"acc": metrics["accuracy"]}
        if "auc" in metrics:
            out["auc"] = metrics["auc"]
        return out
    return {f"{k}_{dim[0]}": metrics[dim][k] for dim in ("valence", "arousal") if dim in metrics
            for k in ("rmse", "ccc")}


# ---------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: np.ndarray, labels: tuple[str, ...], path: Path, title: str) -> Path:
    plt = _pyplot()
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(labels), 0.8 + 0.8 * len(labels)))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center",
                    color="white" if rows[i, j] > 0.5 else "black", fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def plot_roc(targets: np.ndarray, scores: np.ndarray, path: Path, title: str) -> Path:
    plt = _pyplot()
    fpr, tpr, _ = M.roc_curve(targets, scores)
    youden = M.youden_threshold(targets, scores)
    predicted = scores >= youden.threshold
    positives, negatives = max(int(np.sum(targets == 1)), 1), max(int(np.sum(targets == 0)), 1)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC {M.roc_auc(targets, scores):.3f}")
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=0.8)
    ax.plot(np.sum(predicted & (targets == 0)) / negatives, np.sum(predicted & (targets == 1)) / positives, "o",
            label=f"Youden threshold {youden.threshold:.3f}")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_pr(targets: np.ndarray, scores: np.ndarray, path: Path, title: str) -> Path:
    plt = _pyplot()
    precision, recall, _ = M.precision_recall_curve(targets, scores)
    best = M.max_f1_threshold(targets, scores)
    at = M.binary_report(targets, scores, best.threshold)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(recall, precision, label=f"AP {M.average_precision(targets, scores):.3f}")
    ax.axhline(float(np.mean(targets)), linestyle="--", color="grey", linewidth=0.8, label="chance")
    ax.plot(at["recall"], at["precision"], "o", label=f"max F1 {best.objective:.3f} at {best.threshold:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left")
    return _save(fig, path)


def plot_circumplex(targets: np.ndarray, predicted: np.ndarray, path: Path, title: str,
                    max_links: int = 300) -> Path:
    """True (grey) and predicted (colour) valence/arousal on the unit circumplex,
    with a line from each of the first ``max_links`` true points to its prediction."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(angle), np.sin(angle), color="lightgrey", linewidth=0.8)
    ax.axhline(0, color="lightgrey", linewidth=0.8)
    ax.axvline(0, color="lightgrey", linewidth=0.8)
    for (tv, ta), (pv, pa) in zip(targets[:max_links], predicted[:max_links]):
        ax.plot([tv, pv], [ta, pa], color="tab:blue", alpha=0.15, linewidth=0.6)
    ax.scatter(targets[:, 0], targets[:, 1], s=8, color="grey", label="true")
    ax.scatter(predicted[:, 0], predicted[:, 1], s=8, color="tab:orange", label="predicted")
    for text, (x, y) in {"excited": (0.7, 0.75), "calm": (0.7, -0.75), "tense": (-0.7, 0.75),
                         "sad": (-0.7, -0.75)}.items():
        ax.text(x, y, text, color="grey", ha="center", fontsize=8)
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def plot_training_curves(history: list[dict[str, Any]], path: Path, title: str) -> Path:
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    metric_names = sorted({k for row in history for k in row.get("val_metrics", {})})
    fig, axes = plt.subplots(1, 2 if metric_names else 1, figsize=(10 if metric_names else 5, 4), squeeze=False)
    ax = axes[0, 0]
    ax.plot(epochs, [row["train_loss"] for row in history], "o-", label="train loss")
    if any("val_loss" in row for row in history):
        ax.plot([r["epoch"] for r in history if "val_loss" in r], [r["val_loss"] for r in history if "val_loss" in r],
                "o-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    if metric_names:
        ax = axes[0, 1]
        for name in metric_names:
            rows = [r for r in history if name in r.get("val_metrics", {})]
            ax.plot([r["epoch"] for r in rows], [r["val_metrics"][name] for r in rows], "o-", label=name)
        ax.set_xlabel("epoch")
        ax.set_title("validation metrics")
        ax.legend()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


# ---------------------------------------------------------------------------- the command


def evaluate(model_name: str, data: str, report_dir: Path, weights: Path | None = None, seed: int = 1,
             batch_size: int = 64, device: str | None = None, log=print) -> dict[str, Any]:
    """Evaluate ``weights`` (a training checkpoint; None: the registry's
    pretrained weights) on ``data`` and write the report into ``report_dir``.

    ``seed`` only matters for ``synthetic:N`` data (training uses its own
    seed, default 0, so the default here draws different faces)."""
    from edge_affect.model_data import load_data, prepare
    from edge_affect.models import create_model, get_entry
    from edge_affect.models.checkpoint import checkpoint_metadata, trained_contract
    from edge_affect.train import predict_raw, select_device

    entry = get_entry(model_name)
    meta = checkpoint_metadata(weights)
    spec, kwargs = trained_contract(meta, weights, model_name, entry.spec, InputError)
    if weights is None and not entry.pretrained:
        raise InputError(f"{model_name} has no pretrained weights: pass --weights CHECKPOINT")
    torch_device = select_device(device)
    model = create_model(model_name, pretrained=weights is None, weights_path=weights, **kwargs).to(torch_device)

    prepared = prepare(load_data(data, spec.task, spec, seed), spec)
    log(f"data {data}: {prepared.summary()}")
    indices = np.arange(len(prepared))
    raw = predict_raw(model, prepared, indices, spec, torch_device, batch_size)
    targets = prepared.targets
    result = {"model": model_name, "model_kwargs": kwargs, "weights": str(weights) if weights else entry.weights,
              "data": data, "task": spec.task, "samples": len(prepared), "dropped": dict(prepared.dropped),
              "metrics": compute_metrics(spec.task, raw, targets, spec.output)}

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    np.savez(report_dir / "predictions.npz", raw=raw, targets=targets)
    plots = _plots(spec, raw, targets, result["metrics"], meta.get("history"), report_dir, f"{model_name} on {data}")
    result["plots"] = [p.name for p in plots]
    (report_dir / METRICS_FILE).write_text(json.dumps(json_safe(result), indent=2) + "\n")
    return result


def _plots(spec: PipelineSpec, raw: np.ndarray, targets: np.ndarray, metrics: dict[str, Any],
           history: list | None, out: Path, title: str) -> list[Path]:
    plots = []
    shown = postprocess(raw, spec.output)
    if "confusion_matrix" in metrics:
        plots.append(plot_confusion(np.array(metrics["confusion_matrix"]), spec.output.labels,
                                    out / "confusion_matrix.png", title))
    if spec.task == "smile" and len(np.unique(targets)) == 2:
        plots.append(plot_roc(targets, shown[:, 1], out / "roc.png", title))
        plots.append(plot_pr(targets, shown[:, 1], out / "pr.png", title))
    if spec.task in ("valence_arousal", "ocular_va"):
        plots.append(plot_circumplex(targets, shown, out / "circumplex.png", title))
    if history:
        plots.append(plot_training_curves(history, out / "training_curves.png", f"training: {title.split(' on ')[0]}"))
    return plots


__all__ = ["METRICS_FILE", "compute_metrics", "evaluate", "headline", "plot_circumplex", "plot_confusion",
           "plot_pr", "plot_roc", "plot_training_curves"]
