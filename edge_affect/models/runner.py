"""Run a torch model on numpy inputs: the desktop reference every target is compared with."""

from __future__ import annotations

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
