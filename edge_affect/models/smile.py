"""Binary smile detectors (seed 4, A Battery-Powered Friend) for the microcontroller.

Both output 2 logits (not smiling, smiling) with softmax post-processing:
the Apollo3 int8 runtime has softmax but no sigmoid, and the smile score is
the softmax probability of "smiling".

``smile_baseline`` is the paper's simplified AlexNet (Table 1): conv 11x11/4
(96) -> max-pool 3/2 -> BN -> conv 5x5 (256) -> max-pool 3/2 -> BN ->
conv 3x3 (384, 384, 256) -> max-pool 3/2 -> FC 4096 -> FC 2. Table 1 lists
"softmax" as the activation of FC 4096, an evident slip; ReLU is used. On
the 64x64 gray input chosen here it costs ~62 M MACs (the paper reports
82.7 M FLOPs at its unstated resolution). ``width_mult`` scales the
filters and the FC width (the search's "fewer filters, smaller FC").

``smile_tiny`` is a microcontroller-sized member of the same family, well
inside the paper's 1.38 M-operation budget: three conv 3x3 layers
(8, 16, 32; the first strided) each followed by a 2x2 max-pool, BatchNorm
after the last two (the paper saw accuracy drop without BN), dropout,
FC 32, FC 2;
~0.68 M MACs and ~22 K parameters at 64x64 gray.
"""

from __future__ import annotations

import torch
from torch import nn

from edge_affect.models.ocular import scaled

SMILE_INPUT = (64, 64)


def _alexnet_side(size: int) -> int:
    """Spatial size after the baseline's conv/pool stack (conv1 pads 2)."""
    size = (size + 4 - 11) // 4 + 1
    for _ in range(3):
        size = (size - 3) // 2 + 1
    return size


class SmileAlexNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, input_size: int = SMILE_INPUT[0],
                 width_mult: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width_mult) for c in (96, 256, 384, 384, 256))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.BatchNorm2d(c1),
            nn.Conv2d(c1, c2, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.BatchNorm2d(c2),
            nn.Conv2d(c2, c3, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        side = _alexnet_side(input_size)
        if side < 1:
            raise ValueError(f"input {input_size} is too small for the AlexNet stack")
        hidden = scaled(4096, width_mult)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c5 * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class SmileTiny(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, input_size: int = SMILE_INPUT[0],
                 filters: tuple[int, int, int] = (8, 16, 32), hidden: int = 32, dropout: float = 0.5) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, f1, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(f1, f2, 3, 1, 1), nn.BatchNorm2d(f2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(f2, f3, 3, 1, 1), nn.BatchNorm2d(f3), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = input_size // 16
        if side < 1:
            raise ValueError(f"input {input_size} is too small: smile_tiny downsamples by 16")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(f3 * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.training:  # absent from exported (eval) graphs: device runtimes have no no-op dropout
            x = self.dropout(x)
        return self.classifier(x)


def smile_baseline(width_mult: float = 1.0) -> SmileAlexNet:
    """Seed 4's simplified AlexNet smile baseline (64x64 gray, 2-class softmax)."""
    return SmileAlexNet(width_mult=width_mult)


def smile_tiny() -> SmileTiny:
    """Microcontroller smile detector (64x64 gray, 3 conv layers, ~0.7 M MACs)."""
    return SmileTiny()


__all__ = ["SMILE_INPUT", "SmileAlexNet", "SmileTiny", "smile_baseline", "smile_tiny"]
