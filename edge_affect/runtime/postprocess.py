"""Post-processing from the spec's output section, and temporal smoothing. numpy only."""

from __future__ import annotations

import numpy as np

from edge_affect.spec import OutputSpec


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def postprocess(raw: np.ndarray, spec: OutputSpec) -> np.ndarray:
    """Raw model outputs (N, K) -> what the app shows (probabilities or values)."""
    raw = np.asarray(raw, dtype=np.float64)
    if spec.post == "softmax":
        return softmax(raw)
    if spec.post == "sigmoid":
        return 1.0 / (1.0 + np.exp(-raw))
    if spec.post == "clamp":
        return np.clip(raw, *spec.clamp_range)
    return raw


def top1(values: np.ndarray) -> np.ndarray:
    return np.argmax(values, axis=-1)


class EmaSmoother:
    """s_t = a * y_t + (1 - a) * s_{t-1}, per tracked face; a = spec.smooth_alpha."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.state: np.ndarray | None = None

    def update(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        self.state = value if self.state is None else self.alpha * value + (1 - self.alpha) * self.state
        return self.state

    def reset(self) -> None:
        self.state = None
