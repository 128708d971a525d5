"""Face valence/arousal regressors (seed 2, deep affective computing).

``face_va_resnet`` is seed 2's ResNet with the classifier replaced by a
2-unit linear output (valence, arousal): 224x224 RGB, pixels mapped to
[-1, 1] (per-channel mean 0.5, std 0.5). The backbone is written here
(torchvision has no CPU wheel in this environment) with torchvision's
parameter names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``downsample.0``, ``fc``), so an ImageNet state_dict that a user converted
to safetensors loads by name: :func:`load_backbone_state_dict`. Layouts
``resnet18/34/50/101/152`` (seed 2 used ResNet152, the default);
``width_mult`` scales every channel count for reduced CI instances.

``face_va_mobile`` is the phone-sized variant: the mini-Xception trunk of
the pretrained expression model (depthwise-separable residual modules,
8-8 stem, modules 16-32-64-128) plus one 256-filter module, on 96x96 RGB in
[-1, 1], with a 1x1 conv, global average pooling and a 2-unit linear head.
Because the trunk is the expression model's layout,
:func:`transfer_from_mini_xception` initialises every trunk tensor from
``mini_xception_fer2013``; the gray stem kernel is spread over R, G, B with
the BT.601 weights, so on an RGB face the first layer computes exactly what
it computed on that face's gray conversion (both models map pixels to
[-1, 1] and the weights sum to 1).

Nothing of mini-Xception fits a ResNet (7x7x64 dense stem, 3x3/1x1 dense
convs from 64 channels up versus 3x3 depthwise + 1x1 from 8): the transfer
report for ``face_va_resnet`` lists zero tensors, and ImageNet initialisation
goes through ``load_backbone_state_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from edge_affect.errors import WeightsError
from edge_affect.models.mini_xception import KERAS_BN_EPS, MiniXception
from edge_affect.models.ocular import scaled
from edge_affect.runtime.preprocess import GRAY_WEIGHTS_Q14

# layout -> (block type, blocks per stage)
RESNET_LAYOUTS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}
STAGE_WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = _shortcut(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride, as torchvision's v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = _shortcut(in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class ResNet(nn.Module):
    """ResNet (He et al. 2016) with a linear regression head; torchvision's names."""

    def __init__(self, layout: str = "resnet152", num_outputs: int = 2, in_channels: int = 3,
                 width_mult: float = 1.0) -> None:
        super().__init__()
        if layout not in RESNET_LAYOUTS:
            raise ValueError(f"layout: expected one of {sorted(RESNET_LAYOUTS)}, got {layout!r}")
        kind, counts = RESNET_LAYOUTS[layout]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.layout = layout
        stem = scaled(64, width_mult)
        self.conv1 = nn.Conv2d(in_channels, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = stem
        for index, (width, count) in enumerate(zip(STAGE_WIDTHS, counts), start=1):
            width = scaled(width, width_mult)
            blocks = []
            for i in range(count):
                blocks.append(block(channels, width, 2 if i == 0 and index > 1 else 1))
                channels = width * block.expansion
            setattr(self, f"layer{index}", nn.Sequential(*blocks))
        self.fc = nn.Linear(channels, num_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Each residual branch starts as zero (its last BN scale 0, Goyal et al. 2017):
        # a fresh ResNet152 is then well-conditioned instead of summing 50 unit-variance
        # branches into outputs of ~1e6 (seen at random init). ImageNet weights overwrite it.
        for m in self.modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                nn.init.zeros_(m.bn2.weight if isinstance(m, BasicBlock) else m.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3), keepdim=True).flatten(1))


def face_va_resnet(layout: str = "resnet152", width_mult: float = 1.0) -> ResNet:
    """Seed 2's face valence/arousal ResNet (224x224 RGB in [-1, 1], 2 linear outputs)."""
    return ResNet(layout, num_outputs=2, in_channels=3, width_mult=width_mult)


class MobileFaceRegressor(nn.Module):
    """mini-Xception trunk (same names as MiniXception) + extra modules + regression head."""

    def __init__(self, in_channels: int = 3, num_outputs: int = 2, stem_filters: Sequence[int] = (8, 8),
                 module_filters: Sequence[int] = (16, 32, 64, 128, 256), head_channels: int = 256,
                 dropout: float = 0.2) -> None:
        super().__init__()
        # Reuse MiniXception's trunk construction so the parameter names match it one-to-one.
        trunk = MiniXception(in_channels=in_channels, num_classes=1, stem_filters=stem_filters,
                             module_filters=module_filters)
        self.stem, self.blocks = trunk.stem, trunk.blocks
        channels = trunk.module_filters[-1]
        self.head_conv = nn.Conv2d(channels, head_channels, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(head_channels, eps=KERAS_BN_EPS)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(head_channels, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.head_bn(self.head_conv(self.blocks(self.stem(x)))))
        x = x.mean(dim=(2, 3), keepdim=True).flatten(1)
        if self.training:  # absent from exported (eval) graphs: device runtimes have no no-op dropout
            x = self.dropout(x)
        return self.fc(x)


def face_va_mobile(width_mult: float = 1.0) -> MobileFaceRegressor:
    """Phone-sized face valence/arousal regressor (96x96 RGB, mini-Xception trunk)."""
    modules = [scaled(f, width_mult) for f in (16, 32, 64, 128, 256)]
    return MobileFaceRegressor(stem_filters=[scaled(8, width_mult)] * 2, module_filters=modules,
                               head_channels=scaled(256, width_mult))


# ---------------------------------------------------------------------------- initialisation


@dataclass
class TransferReport:
    """What an initialisation copied into a model, and what it could not."""

    source: str
    loaded: list[str] = field(default_factory=list)  # model keys now holding source values
    missing: list[str] = field(default_factory=list)  # model keys the source has no tensor for
    mismatched: list[str] = field(default_factory=list)  # "key: source shape vs model shape"
    unused: list[str] = field(default_factory=list)  # source keys the model has no place for

    def summary(self) -> str:
        return (f"{self.source}: loaded {len(self.loaded)} tensors, {len(self.missing)} missing, "
                f"{len(self.mismatched)} shape mismatches, {len(self.unused)} unused")


def load_state_by_name(model: nn.Module, state: Mapping[str, torch.Tensor], source: str,
                       adapt: Mapping[str, torch.Tensor] | None = None) -> TransferReport:
    """Copy every source tensor whose name and shape match a model tensor.

    ``adapt`` supplies replacement source tensors for keys whose shapes need
    converting (e.g. a gray stem for an RGB model). Shape mismatches are
    reported, never forced; parameters and BatchNorm buffers alike."""
    target = model.state_dict()
    report = TransferReport(source)
    merged = {**state, **(adapt or {})}
    updates = {}
    for key, value in merged.items():
        if key not in target:
            report.unused.append(key)
        elif tuple(value.shape) != tuple(target[key].shape):
            report.mismatched.append(f"{key}: {tuple(value.shape)} vs {tuple(target[key].shape)}")
        else:
            updates[key] = value.to(target[key].dtype)
            report.loaded.append(key)
    report.missing = [k for k in target if k not in merged]
    model.load_state_dict({**target, **updates})
    return report


def load_backbone_state_dict(model: nn.Module, path: str | Path, strict_backbone: bool = False) -> TransferReport:
    """Initialise a model from a user-provided state_dict (.safetensors, e.g.
    torchvision's ImageNet ResNet152 saved with safetensors.torch.save_file).

    Tensors load by name where shapes agree; the 1000-class ``fc`` (shape
    mismatch) stays freshly initialised. With ``strict_backbone``, any
    missing or mismatched tensor outside ``fc`` is a WeightsError."""
    from edge_affect.models.checkpoint import load_checkpoint

    report = load_state_by_name(model, load_checkpoint(Path(path)), str(path))
    if not report.loaded:
        raise WeightsError(f"{path}: no tensor matches {type(model).__name__} by name and shape "
                           f"({len(report.unused)} unused, e.g. {report.unused[:3]})")
    if strict_backbone:
        gaps = [k for k in report.missing + report.mismatched if not k.startswith("fc.")]
        if gaps:
            raise WeightsError(f"{path}: backbone tensors missing or of another shape: {gaps[:5]}")
    return report


def transfer_from_mini_xception(model: nn.Module, state: Mapping[str, torch.Tensor] | None = None) -> TransferReport:
    """Initialise ``model`` from ``mini_xception_fer2013`` (its committed
    weights unless ``state`` is given) wherever names and shapes allow; a
    gray stem kernel is spread over an RGB stem with the BT.601 weights."""
    if state is None:
        from edge_affect.models import create_model

        state = create_model("mini_xception_fer2013", pretrained=True).state_dict()
    adapt = {}
    stem = state.get("stem.0.weight")
    target = model.state_dict().get("stem.0.weight")
    if stem is not None and target is not None and stem.shape[1] == 1 and target.shape[1] == 3 \
            and stem.shape[0] == target.shape[0]:
        weights = torch.tensor(GRAY_WEIGHTS_Q14, dtype=stem.dtype) / (1 << 14)
        adapt["stem.0.weight"] = stem * weights.view(1, 3, 1, 1)
    return load_state_by_name(model, state, "mini_xception_fer2013", adapt)


__all__ = ["RESNET_LAYOUTS", "BasicBlock", "Bottleneck", "MobileFaceRegressor", "ResNet", "TransferReport",
           "face_va_mobile", "face_va_resnet", "load_backbone_state_dict", "load_state_by_name",
           "transfer_from_mini_xception"]
