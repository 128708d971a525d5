"""The reductions the search applies to an architecture (seed 4's moves —
fewer filters, larger strides, smaller FC, fewer layers — plus smaller
kernels, depthwise-separable swaps and global pooling).

Every child is a valid architecture at the given input size with no more
MACs and no more parameters than its parent; a move that would shrink the
image to nothing, or grow the model, is left out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from edge_affect.models.smile_net import SmileArch, parse_arch

MIN_FILTERS = 2


@dataclass(frozen=True)
class Reduction:
    move: str  # what was reduced, e.g. "fewer filters in block 2"
    arch: str  # the child's canonical architecture string


def reductions(arch: str, in_channels: int = 1, input_size: int = 64) -> list[Reduction]:
    """Every one-step reduction of `arch`, deduplicated, in a fixed order."""
    parent = parse_arch(arch)
    children: list[tuple[str, SmileArch]] = []
    convs = parent.convs
    for i, block in enumerate(convs):
        n = i + 1
        if block.filters > MIN_FILTERS:
            children.append((f"fewer filters in block {n}",
                             parent.with_conv(i, replace(block, filters=max(MIN_FILTERS, block.filters // 2)))))
        if block.stride * 2 <= max(block.kernel, 2):
            children.append((f"larger stride in block {n}", parent.with_conv(i, replace(block, stride=block.stride * 2))))
        if block.kernel >= 5:
            children.append((f"smaller kernel in block {n}", parent.with_conv(i, replace(block, kernel=block.kernel - 2))))
        if i > 0 and block.kernel >= 3 and not block.separable:
            # With BatchNorm: it folds into the convs for int8 (free on the device), and
            # stacks of separable blocks without it often fail to train (seen: AUC ~0.5).
            children.append((f"depthwise-separable block {n}",
                             parent.with_conv(i, replace(block, separable=True, batch_norm=True))))
        if len(convs) > 1:
            children.append((f"drop block {n}", parent.with_conv(i, None)))
    if sum(b.filters > MIN_FILTERS for b in convs) > 1:
        halved = tuple(replace(b, filters=max(MIN_FILTERS, b.filters // 2)) for b in convs)
        children.append(("fewer filters in every block", replace(parent, convs=halved)))
    if parent.hidden:
        children.append(("smaller FC", replace(parent, hidden=parent.hidden // 2 if parent.hidden >= 8 else 0)))
        if parent.hidden >= 8:
            children.append(("no hidden FC", replace(parent, hidden=0)))
    if not parent.global_pool:
        children.append(("global average pool before the FC", replace(parent, global_pool=True)))

    seen: set[str] = {str(parent)}
    out: list[Reduction] = []
    before = footprint(str(parent), in_channels, input_size)
    for move, child in children:
        text = str(child)
        if text in seen or not _fits(child, in_channels, input_size):
            continue
        # A reduction never grows the model: dropping a downsampling block can
        # multiply the work of every later one.
        after = footprint(text, in_channels, input_size)
        if after.macs > before.macs or after.params > before.params:
            continue
        seen.add(text)
        out.append(Reduction(move, text))
    return out


def _fits(arch: SmileArch, in_channels: int, input_size: int) -> bool:
    try:
        parse_arch(str(arch))  # e.g. dropping block 1 can leave a separable block first
        arch.feature_shape(in_channels, input_size)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Footprint:
    """Exact counts from the architecture alone (no model built): the search's cheap guide."""

    macs: int
    params: int
    peak_activation_bytes: int  # the largest int8 input + output pair of one layer


@functools.lru_cache(maxsize=4096)
def footprint(arch: str, in_channels: int = 1, input_size: int = 64, num_classes: int = 2) -> Footprint:
    parsed = parse_arch(arch)
    macs = params = peak = 0
    channels, side = in_channels, input_size

    def layer(c_in: int, c_out: int, k: int, stride: int, side_in: int, groups: int = 1) -> int:
        nonlocal macs, params, peak
        side_out = (side_in + 2 * (k // 2) - k) // stride + 1
        macs += side_out * side_out * c_out * k * k * c_in // groups
        params += c_out * k * k * c_in // groups + c_out
        peak = max(peak, side_in * side_in * c_in + side_out * side_out * c_out)
        return side_out

    for block in parsed.convs:
        if block.separable:
            side = layer(channels, channels, block.kernel, block.stride, side, groups=channels)
            side = layer(channels, block.filters, 1, 1, side)
        else:
            side = layer(channels, block.filters, block.kernel, block.stride, side)
        channels = block.filters
        if block.pool > 1:
            side = (side - block.pool) // block.effective_pool_stride + 1
    features = channels if parsed.global_pool else channels * side * side
    for units in ([parsed.hidden] if parsed.hidden else []) + [num_classes]:
        macs += features * units
        params += features * units + units
        peak = max(peak, features + units)
        features = units
    return Footprint(macs, params, peak)
