"""Eye-region valence/arousal models (seed 1, Oculum afficit) and the smart-glasses variant.

M1 and M2 are the paper's Table III exactly: six VGG blocks, each
2 x (conv 3x3 -> BatchNorm -> ReLU) then a 2x2 max-pool, three fully
connected layers, and a final 2-unit linear layer (valence, arousal). The
input is the eye slot padded to 520x170 RGB (the text's size; Table III's
"512x170" is a typo the text and Fig. 2 contradict), pixels in [0, 1].
The paper names no activation between the FC layers; ReLU is the VGG
convention it follows.

``width_mult`` scales every filter and FC count and ``depth`` keeps the
first ``depth`` blocks, so CI can build and train a reduced instance of the
same layout; the defaults are the paper's networks (M1 ~131 M parameters,
M2 ~115 M, almost all in the FC layers).

``ocular_va_mobile`` is the smart-glasses model: a 64x192 gray eye slot
(near-infrared eye cameras are monochrome, and the slot keeps the paper's
~3:1 aspect), a strided stem then depthwise-separable blocks
(MobileNet v1 style), global average pooling and a 2-unit linear
head; ~0.1 M parameters, only ops the Apollo3 int8 runtime runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

M1_FILTERS = (16, 32, 64, 128, 256, 512)
M1_FC = (6144, 6144, 6144)
M2_FILTERS = (64, 128, 256, 512, 512, 512)
M2_FC = (6144, 6144, 2000)
PAPER_INPUT = (170, 520)  # (height, width)
MOBILE_INPUT = (64, 192)


def scaled(count: int, mult: float) -> int:
    """A channel count times ``mult``, at least 1."""
    return max(1, int(round(count * mult)))


class VggBlock(nn.Sequential):
    """2 x (conv 3x3 -> BN -> ReLU), then a 2x2 max-pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )


class OcularVgg(nn.Module):
    """Seed 1's VGG-like regressor: blocks, flatten, FC layers, 2 linear outputs."""

    def __init__(self, filters: Sequence[int], fc: Sequence[int], in_channels: int = 3,
                 input_size: tuple[int, int] = PAPER_INPUT, num_outputs: int = 2) -> None:
        super().__init__()
        if not filters:
            raise ValueError("OcularVgg needs at least one block")
        h, w = input_size
        if h >> len(filters) < 1 or w >> len(filters) < 1:
            raise ValueError(f"input {input_size} is too small for {len(filters)} 2x2 max-pools")
        blocks, channels = [], in_channels
        for f in filters:
            blocks.append(VggBlock(channels, f))
            channels = f
        self.features = nn.Sequential(*blocks)
        layers: list[nn.Module] = [nn.Flatten()]
        width = channels * (h >> len(filters)) * (w >> len(filters))  # each pool floors
        for units in fc:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        layers.append(nn.Linear(width, num_outputs))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _ocular_vgg(filters: Sequence[int], fc: Sequence[int], width_mult: float, depth: int | None,
                in_channels: int, input_size: tuple[int, int]) -> OcularVgg:
    depth = len(filters) if depth is None else depth
    if not 1 <= depth <= len(filters):
        raise ValueError(f"depth: expected 1..{len(filters)} blocks, got {depth}")
    return OcularVgg([scaled(f, width_mult) for f in filters[:depth]], [scaled(u, width_mult) for u in fc],
                     in_channels=in_channels, input_size=tuple(input_size))


def ocular_va_m1(width_mult: float = 1.0, depth: int | None = None, in_channels: int = 3,
                 input_size: tuple[int, int] = PAPER_INPUT) -> OcularVgg:
    """Seed 1's M1: filters 16-32-64-128-256-512, FC 6144-6144-6144, 2 outputs."""
    return _ocular_vgg(M1_FILTERS, M1_FC, width_mult, depth, in_channels, input_size)


def ocular_va_m2(width_mult: float = 1.0, depth: int | None = None, in_channels: int = 3,
                 input_size: tuple[int, int] = PAPER_INPUT) -> OcularVgg:
    """Seed 1's M2: filters 64-128-256-512-512-512, FC 6144-6144-2000, 2 outputs."""
    return _ocular_vgg(M2_FILTERS, M2_FC, width_mult, depth, in_channels, input_size)


class ConvBnAct(nn.Sequential):
    """conv -> BN -> ReLU (groups=in_channels makes it depthwise). ReLU, not
    MobileNet's ReLU6: the int8 quantizer fuses conv-BN-ReLU into one op the
    Apollo3 runtime runs, and leaves a ReLU6 as a separate float op."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class DepthwiseSeparable(nn.Sequential):
    """MobileNet v1 block: depthwise 3x3 (carries the stride) then pointwise 1x1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(
            ConvBnAct(in_channels, in_channels, 3, stride, groups=in_channels),
            ConvBnAct(in_channels, out_channels, 1),
        )


# (output channels, stride) of each depthwise-separable block after the stem.
MOBILE_BLOCKS = ((32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


class MobileRegressor(nn.Module):
    """Strided stem conv, depthwise-separable blocks, global mean, dropout, linear head."""

    def __init__(self, in_channels: int = 1, num_outputs: int = 2, stem: int = 16,
                 blocks: Sequence[tuple[int, int]] = MOBILE_BLOCKS, width_mult: float = 1.0,
                 dropout: float = 0.2) -> None:
        super().__init__()
        channels = scaled(stem, width_mult)
        layers: list[nn.Module] = [ConvBnAct(in_channels, channels, 3, stride=2)]
        for out, stride in blocks:
            layers.append(DepthwiseSeparable(channels, scaled(out, width_mult), stride))
            channels = scaled(out, width_mult)
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # keepdim + flatten: the form XNNPACK and the Apollo3 runtime lower to global average pooling.
        x = self.features(x).mean(dim=(2, 3), keepdim=True).flatten(1)
        if self.training:  # absent from exported (eval) graphs: device runtimes have no no-op dropout
            x = self.dropout(x)
        return self.head(x)


def ocular_va_mobile(width_mult: float = 1.0, in_channels: int = 1) -> MobileRegressor:
    """The smart-glasses eye-slot regressor (64x192 gray, depthwise separable)."""
    return MobileRegressor(in_channels=in_channels, num_outputs=2, width_mult=width_mult)


__all__ = ["M1_FC", "M1_FILTERS", "M2_FC", "M2_FILTERS", "MOBILE_INPUT", "PAPER_INPUT", "ConvBnAct",
           "DepthwiseSeparable", "MobileRegressor", "OcularVgg", "VggBlock", "ocular_va_m1", "ocular_va_m2",
           "ocular_va_mobile", "scaled"]
