"""SmileNet: a smile CNN described by a short architecture string — the
space the budget-driven search (edge_affect.search) explores.

Grammar (blocks joined by "-", convolutions first, at most one FC block):

    c<F>[k<K>][s<S>][d][b][p<P>[/<Q>]]   conv: F filters, KxK kernel (3), stride S (1),
                                         d = depthwise-separable (KxK depthwise + 1x1 pointwise),
                                         b = BatchNorm, then ReLU, then max-pool PxP stride Q (P)
    g                                    global average pool instead of flattening
    f<H>                                 hidden fully connected layer of H units + ReLU

and always a final FC to 2 logits. Convolutions pad K//2. BatchNorm sits
between the conv and its ReLU so it folds into the conv for int8 targets.

    "c8s2p2-c16bp2-c32bp2-f32"   is smile_tiny's layout
    SEED_BASELINE_ARCH           is the seed's simplified AlexNet in this grammar
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import torch
from torch import nn

# Seed 4's simplified AlexNet (Table 1) in the grammar: conv 11/4 (96), conv 5 (256),
# conv 3 (384, 384, 256), overlapping 3/2 max-pools, FC 4096. BatchNorm moved before
# the ReLU (and the pool) so every block lowers to the int8 runtime.
SEED_BASELINE_ARCH = "c96k11s4bp3/2-c256k5bp3/2-c384-c384-c256p3/2-f4096"

_CONV = re.compile(r"c(\d+)(?:k(\d+))?(?:s(\d+))?(d)?(b)?(?:p(\d+)(?:/(\d+))?)?")
_FC = re.compile(r"f(\d+)")


@dataclass(frozen=True)
class ConvBlock:
    filters: int
    kernel: int = 3
    stride: int = 1
    separable: bool = False
    batch_norm: bool = False
    pool: int = 1
    pool_stride: int = 0  # 0: the pool size

    def token(self) -> str:
        text = f"c{self.filters}"
        text += f"k{self.kernel}" if self.kernel != 3 else ""
        text += f"s{self.stride}" if self.stride != 1 else ""
        text += ("d" if self.separable else "") + ("b" if self.batch_norm else "")
        if self.pool > 1:
            text += f"p{self.pool}"
            text += f"/{self.pool_stride}" if self.pool_stride not in (0, self.pool) else ""
        return text

    @property
    def effective_pool_stride(self) -> int:
        return self.pool_stride or self.pool


@dataclass(frozen=True)
class SmileArch:
    convs: tuple[ConvBlock, ...]
    global_pool: bool = False
    hidden: int = 0  # 0: no hidden FC layer

    def __str__(self) -> str:
        tokens = [c.token() for c in self.convs] + (["g"] if self.global_pool else [])
        return "-".join(tokens + ([f"f{self.hidden}"] if self.hidden else []))

    def with_conv(self, index: int, block: ConvBlock | None) -> "SmileArch":
        convs = list(self.convs)
        if block is None:
            del convs[index]
        else:
            convs[index] = block
        return replace(self, convs=tuple(convs))

    def feature_shape(self, in_channels: int, size: int) -> tuple[int, int]:
        """(channels, side) after the conv stack; ValueError when a layer collapses the image."""
        channels = in_channels
        for i, block in enumerate(self.convs):
            size = (size + 2 * (block.kernel // 2) - block.kernel) // block.stride + 1
            if size >= 1 and block.pool > 1:
                size = (size - block.pool) // block.effective_pool_stride + 1
            if size < 1:
                raise ValueError(f"smile arch {self}: block {i + 1} ({block.token()}) shrinks the image to nothing")
            channels = block.filters
        return channels, size


def parse_arch(text: str) -> SmileArch:
    """Parse an architecture string; ValueError naming the offending block."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("smile arch: expected a non-empty string such as 'c8s2p2-c16bp2-f32'")
    convs: list[ConvBlock] = []
    global_pool, hidden = False, 0
    blocks = text.strip().split("-")
    for position, token in enumerate(blocks, 1):
        where = f"smile arch {text!r}: block {position} {token!r}"
        conv, fc = _CONV.fullmatch(token), _FC.fullmatch(token)
        if conv:
            if global_pool or hidden:
                raise ValueError(f"{where}: convolutions must come before 'g' and 'f'")
            f, k, s, d, b, p, q = conv.groups()
            block = ConvBlock(int(f), int(k or 3), int(s or 1), bool(d), bool(b), int(p or 1), int(q or 0))
            for name, value, low, high in (("filters", block.filters, 1, 4096), ("kernel", block.kernel, 1, 15),
                                           ("stride", block.stride, 1, 8), ("pool", block.pool, 1, 8),
                                           ("pool stride", block.pool_stride, 0, 8)):
                if not low <= value <= high:
                    raise ValueError(f"{where}: {name} {value} outside [{low}, {high}]")
            if block.separable and not convs:
                raise ValueError(f"{where}: the first convolution cannot be depthwise-separable (one input channel)")
            convs.append(block)
        elif token == "g":
            if global_pool or hidden:
                raise ValueError(f"{where}: 'g' must come once, before 'f'")
            global_pool = True
        elif fc:
            if hidden:
                raise ValueError(f"{where}: at most one hidden FC block")
            hidden = int(fc.group(1))
            if not 1 <= hidden <= 8192:
                raise ValueError(f"{where}: hidden units {hidden} outside [1, 8192]")
            if position != len(blocks):
                raise ValueError(f"{where}: the FC block must be last")
        else:
            raise ValueError(f"{where}: expected c<filters>[k<K>][s<S>][d][b][p<P>[/<Q>]], 'g' or f<units>")
    if not convs:
        raise ValueError(f"smile arch {text!r}: needs at least one convolution")
    return SmileArch(tuple(convs), global_pool, hidden)


class SmileNet(nn.Module):
    def __init__(self, arch: str = SEED_BASELINE_ARCH, in_channels: int = 1, num_classes: int = 2,
                 input_size: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.arch = parse_arch(arch)
        channels, side = self.arch.feature_shape(in_channels, input_size)
        layers: list[nn.Module] = []
        c_in = in_channels
        for block in self.arch.convs:
            layers += _conv_layers(c_in, block)
            c_in = block.filters
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        head: list[nn.Module] = [nn.AdaptiveAvgPool2d(1)] if self.arch.global_pool else []
        features = channels if self.arch.global_pool else channels * side * side
        head.append(nn.Flatten())
        if self.arch.hidden:
            head += [nn.Linear(features, self.arch.hidden), nn.ReLU()]
            features = self.arch.hidden
        head.append(nn.Linear(features, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.training:  # absent from exported (eval) graphs: device runtimes have no no-op dropout
            x = self.dropout(x)
        return self.classifier(x)


def _conv_layers(c_in: int, block: ConvBlock) -> list[nn.Module]:
    pad = block.kernel // 2
    bn = block.batch_norm
    if block.separable:
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_in, block.kernel, block.stride, pad, groups=c_in, bias=not bn)]
        layers += [nn.BatchNorm2d(c_in)] if bn else []
        layers += [nn.ReLU(), nn.Conv2d(c_in, block.filters, 1, bias=not bn)]
    else:
        layers = [nn.Conv2d(c_in, block.filters, block.kernel, block.stride, pad, bias=not bn)]
    layers += [nn.BatchNorm2d(block.filters)] if bn else []
    layers.append(nn.ReLU())
    if block.pool > 1:
        layers.append(nn.MaxPool2d(block.pool, block.effective_pool_stride))
    return layers


def smile_net(arch: str = SEED_BASELINE_ARCH, **kwargs) -> SmileNet:
    """Smile CNN built from an architecture string (the model search's space), 64x64 gray."""
    return SmileNet(arch, **kwargs)


__all__ = ["SEED_BASELINE_ARCH", "ConvBlock", "SmileArch", "SmileNet", "parse_arch", "smile_net"]
