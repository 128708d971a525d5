"""Run a torch model on numpy inputs: the desktop reference every target is compared with."""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn


def eager_runner(model: nn.Module, batch: int = 64) -> Callable[[np.ndarray], np.ndarray]:
    model = model.eval()

    def run(inputs: np.ndarray) -> np.ndarray:
        outs = []
        with torch.no_grad():
            for start in range(0, len(inputs), batch):
                x = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32))
                outs.append(model(x).numpy())
        return np.concatenate(outs).astype(np.float32)

    return run


def float64_outputs(model: nn.Module, inputs: np.ndarray, batch: int = 16) -> np.ndarray:
    """The model's outputs computed in float64 (a copy of it; `model` is untouched):
    the yardstick for how far float32 arithmetic itself strays."""
    double = copy.deepcopy(model).double().eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            outs.append(double(torch.from_numpy(np.asarray(inputs[start:start + batch], dtype=np.float64))).numpy())
    return np.concatenate(outs)
