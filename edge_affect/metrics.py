"""Evaluation metrics of the seed systems, numpy only.

Classification (seed 3, seed 5): accuracy, confusion matrix, per-class
precision / recall / F1.
Regression (seeds 1 and 2, valence/arousal): RMSE, Pearson's correlation
(PCC), Lin's concordance correlation (CCC), ICC(3,1) and SAGR.
Binary detection (seed 4, smile): ROC curve and rank-based AUC, the
precision-recall curve, average precision, and threshold selection by
Youden's J or by maximum F1.

Conventions: a statistic that is 0/0 (e.g. PCC of a constant vector,
precision of a class never predicted) is NaN for the correlations, where a
value would be a lie, and 0 for precision/recall/F1, as is customary in
per-class reports; the docstrings say which. Scores above or equal to a
threshold count as positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_affect.errors import InputError

ArrayLike = Sequence[float] | np.ndarray


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{name}: expected a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name}: expected finite values, got {int(np.sum(~np.isfinite(array)))} non-finite")
    return array


def _pair(y_true: ArrayLike, y_pred: ArrayLike, pred_name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    t, p = _vector(y_true, "y_true"), _vector(y_pred, pred_name)
    if t.shape != p.shape:
        raise InputError(f"{pred_name}: expected {t.shape[0]} values like y_true, got {p.shape[0]}")
    return t, p


def _classes(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    t, p = _pair(y_true, y_pred)
    if not (np.all(t == np.round(t)) and np.all(p == np.round(p)) and t.min() >= 0 and p.min() >= 0):
        raise InputError("class labels: expected non-negative integers")
    t, p = t.astype(np.int64), p.astype(np.int64)
    k = int(max(t.max(), p.max())) + 1 if num_classes is None else num_classes
    if max(t.max(), p.max()) >= k:
        raise InputError(f"class labels: expected values < num_classes={k}, got {max(t.max(), p.max())}")
    return t, p, k


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of predictions equal to the truth."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """int64 (K, K): row = true class, column = predicted class."""
    t, p, k = _classes(y_true, y_pred, num_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


@dataclass(frozen=True)
class ClassReport:
    """Per-class arrays (index = class) and their unweighted (macro) means."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # number of true samples per class

    @property
    def macro_f1(self) -> float:
        return float(self.f1.mean())


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (customary for per-class reports)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_class_report(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> ClassReport:
    """Precision, recall and F1 per class; 0 where a ratio is 0/0."""
    cm = confusion_matrix(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(cm)
    precision = _safe_ratio(tp, cm.sum(axis=0))
    recall = _safe_ratio(tp, cm.sum(axis=1))
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    return ClassReport(precision, recall, f1, cm.sum(axis=1).astype(np.int64))


# --------------------------------------------------------------------------
# Regression (valence / arousal)
# --------------------------------------------------------------------------


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def pcc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Pearson's correlation; NaN when either vector is constant."""
    t, p = _pair(y_true, y_pred)
    dt, dp = t - t.mean(), p - p.mean()
    den = np.sqrt(np.sum(dt * dt) * np.sum(dp * dp))
    return float(np.sum(dt * dp) / den) if den > 0 else float("nan")


def ccc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Lin's concordance correlation 2 s_tp / (s_t^2 + s_p^2 + (m_t - m_p)^2),
    population (1/n) moments; NaN only when both vectors are the same
    constant (0/0)."""
    t, p = _pair(y_true, y_pred)
    cov = np.mean((t - t.mean()) * (p - p.mean()))
    den = t.var() + p.var() + (t.mean() - p.mean()) ** 2
    return float(2 * cov / den) if den > 0 else float("nan")


def icc_3_1(ratings: np.ndarray) -> float:
    """ICC(3,1) of Shrout & Fleiss (1979): two-way mixed model, consistency,
    single rater: (BMS - EMS) / (BMS + (k - 1) EMS), for an (n targets,
    k raters) matrix. NaN when the denominator is 0."""
    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2 or not np.all(np.isfinite(x)):
        raise InputError(f"icc ratings: expected a finite (targets >= 2, raters >= 2) matrix, got shape {x.shape}")
    n, k = x.shape
    grand = x.mean()
    ss_targets = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_raters = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_error = np.sum((x - grand) ** 2) - ss_targets - ss_raters
    bms = ss_targets / (n - 1)
    ems = ss_error / ((n - 1) * (k - 1))
    den = bms + (k - 1) * ems
    return float((bms - ems) / den) if den > 0 else float("nan")


def icc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """ICC(3,1) treating the annotation and the model as two raters."""
    t, p = _pair(y_true, y_pred)
    return icc_3_1(np.stack([t, p], axis=1))


def sagr(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Sign agreement: fraction of samples whose prediction has the sign of
    the truth (numpy's sign, so 0 agrees only with 0)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.sign(t) == np.sign(p)))


def regression_report(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """Every regression metric of one dimension (e.g. valence)."""
    return {"rmse": rmse(y_true, y_pred), "pcc": pcc(y_true, y_pred), "ccc": ccc(y_true, y_pred),
            "icc": icc(y_true, y_pred), "sagr": sagr(y_true, y_pred)}


# --------------------------------------------------------------------------
# Binary detection (scores, thresholds)
# --------------------------------------------------------------------------


def _binary(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, s = _pair(y_true, scores, "scores")
    if not np.all((t == 0) | (t == 1)):
        raise InputError("y_true: expected binary labels 0/1")
    if t.min() == t.max():
        raise InputError(f"y_true: ROC/PR need both classes, got only {int(t[0])}s")
    return t.astype(bool), s


def _midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + 1 + end) / 2
    return ranks


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic: the chance a
    random positive scores above a random negative, ties counting 1/2."""
    t, s = _binary(y_true, scores)
    ranks = _midranks(s)
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _counts_by_threshold(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores in decreasing order and the true/false positives when
    each is the threshold."""
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tps = np.cumsum(t_sorted)[last_of_tie]
    fps = np.cumsum(~t_sorted)[last_of_tie]
    return s_sorted[last_of_tie], tps.astype(np.float64), fps.astype(np.float64)


def roc_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), starting at (0, 0) with threshold +inf and
    one point per distinct score, decreasing thresholds."""
    t, s = _binary(y_true, scores)
    thresholds, tps, fps = _counts_by_threshold(t, s)
    return (np.r_[0.0, fps / (~t).sum()], np.r_[0.0, tps / t.sum()], np.r_[np.inf, thresholds])


def precision_recall_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds), one point per distinct score,
    decreasing thresholds (so recall rises)."""
    t, s = _binary(y_true, scores)
    thresholds, tps, fps = _counts_by_threshold(t, s)
    return tps / (tps + fps), tps / t.sum(), thresholds


def average_precision(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Sum over thresholds of (recall step) x precision: the area under the
    step-wise precision-recall curve, without interpolation."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float  # score >= threshold means positive
    objective: float  # the maximised value (Youden's J or F1)


def youden_threshold(y_true: ArrayLike, scores: ArrayLike) -> ThresholdChoice:
    """The score threshold maximising Youden's J = TPR - FPR (ties: the
    highest threshold)."""
    fpr, tpr, thresholds = roc_curve(y_true, scores)
    j = (tpr - fpr)[1:]  # the +inf point predicts nothing positive
    best = int(np.argmax(j))
    return ThresholdChoice(float(thresholds[1:][best]), float(j[best]))


def max_f1_threshold(y_true: ArrayLike, scores: ArrayLike) -> ThresholdChoice:
    """The score threshold maximising F1 (ties: the highest threshold)."""
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    best = int(np.argmax(f1))
    return ThresholdChoice(float(thresholds[best]), float(f1[best]))


def binary_report(y_true: ArrayLike, scores: ArrayLike, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of ``scores >= threshold`` (seed 4's
    report, with AUC alongside); 0 where a ratio is 0/0."""
    t, s = _binary(y_true, scores)
    predicted = s >= threshold
    tp, fp, fn = float(np.sum(predicted & t)), float(np.sum(predicted & ~t)), float(np.sum(~predicted & t))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(predicted == t)), "precision": precision, "recall": recall, "f1": f1,
            "auc": roc_auc(t, s), "threshold": float(threshold)}


__all__ = [
    "ClassReport", "ThresholdChoice", "accuracy", "average_precision", "binary_report", "ccc",
    "confusion_matrix", "icc", "icc_3_1", "max_f1_threshold", "pcc", "per_class_report",
    "precision_recall_curve", "regression_report", "rmse", "roc_auc", "roc_curve", "sagr",
    "youden_threshold",
]
