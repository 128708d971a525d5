"""Saliency maps: which pixels of the model input an output depends on.

Two methods, one from each seed that used them:

* ``gradient`` (seed 4, A Battery-Powered Friend; the cs231n recipe it
  cites): the gradient of the loss with respect to the input pixels,
  absolute value, maximum over the colour channels. Classifiers: the
  cross-entropy of the target class, -log p(target). Regressors: the raw
  output itself (there is no label to take a loss against). Units are per
  grey level of the uint8 crop: d/dpixel = d/dx * scale[c] for the spec's
  normalisation x = pixel * scale[c] + offset[c].
* ``occlusion`` (seed 5, Deep-Emotion): slide an N x N black patch with
  stride S over the input and record how much the score drops, score(input)
  - score(occluded); a pixel gets the mean over the windows that cover it.
  Classifiers: the target-class probability. Regressors: the raw output
  (before the spec's clamp, which would hide changes beyond its range),
  signed, so positive means "this region pushes the output up" and negative
  "pulls it down", the same reading as the classifiers' probability drop.

Classifiers get one map (the target class, default: the predicted one),
regressors one map per output (or only the target output).

Everything here takes a torch model, the model's ``PipelineSpec`` and a
float batch of model inputs (N, C, H, W), i.e. the output of the reference
preprocessing, and returns numpy arrays. ``render_png`` draws the maps over
the crop the model saw (``denormalize``).
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from edge_affect.errors import InputError
from edge_affect.runtime.postprocess import postprocess
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

METHODS = ("gradient", "occlusion")
DEFAULT_BATCH = 64


@dataclass(frozen=True)
class SaliencyMaps:
    method: str
    maps: np.ndarray  # (N, K, H, W) float32, one map per explained output
    outputs: np.ndarray  # (N, K) int64: the class / output index each map explains
    values: np.ndarray  # (N, K) float64: its probability (classifiers) or post-processed value (regressors)
    patch: int | None = None  # occlusion only
    stride: int | None = None


# ---------------------------------------------------------------------------- targets


def is_classifier(output: OutputSpec) -> bool:
    return output.kind != "regression"


def resolve_target(output: OutputSpec, target: str | int | None) -> int | None:
    """A label name or an output index -> the output index (None stays None)."""
    if target is None:
        return None
    labels = output.labels
    if isinstance(target, str) and target in labels:
        return labels.index(target)
    try:
        index = int(target)
    except (TypeError, ValueError):
        index = -1
    if 0 <= index < len(labels) and not isinstance(target, bool):
        return index
    raise InputError(f"target: {target!r} is not one of this model's outputs; expected a label in "
                     f"{list(labels)} or an index 0..{len(labels) - 1}")


def explained_outputs(spec: PipelineSpec, probabilities_or_values: np.ndarray, target: int | None) -> np.ndarray:
    """(N, K) output indices to explain. Classifiers: K = 1, the target class or
    each sample's top class. Regressors: every output, or only the target."""
    n, n_outputs = probabilities_or_values.shape
    if is_classifier(spec.output):
        chosen = np.argmax(probabilities_or_values, axis=1) if target is None else np.full(n, target)
        return chosen.astype(np.int64)[:, None]
    columns = np.arange(n_outputs) if target is None else np.array([target])
    return np.tile(columns.astype(np.int64), (n, 1))


def _scores(raw: torch.Tensor, output: OutputSpec) -> torch.Tensor:
    """What occlusion watches: class probabilities, or raw regression outputs."""
    if not is_classifier(output):
        return raw
    if output.post == "sigmoid":
        return torch.sigmoid(raw)
    if output.kind == "logits":
        return torch.softmax(raw, dim=-1)
    return raw  # kind "probs": the model outputs probabilities already


def _objectives(raw: torch.Tensor, output: OutputSpec) -> torch.Tensor:
    """What the gradient differentiates, per output column: the cross-entropy
    -log p(class) for classifiers, the raw output for regressors."""
    if not is_classifier(output):
        return raw
    if output.post == "sigmoid":
        return -torch.nn.functional.logsigmoid(raw)
    if output.kind == "logits":
        return -torch.log_softmax(raw, dim=-1)
    return -torch.log(raw.clamp_min(torch.finfo(raw.dtype).tiny))


def shown_values(spec: PipelineSpec, raw: np.ndarray) -> np.ndarray:
    """What the app shows for each output: probabilities, or post-processed values."""
    if is_classifier(spec.output):
        return _scores(torch.from_numpy(np.asarray(raw, dtype=np.float64)), spec.output).numpy()
    return postprocess(raw, spec.output)


# ---------------------------------------------------------------------------- plumbing


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (no dropout, running BatchNorm statistics, so each sample is
    independent of the rest of the batch), restoring the caller's mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _as_tensor(model: nn.Module, inputs: np.ndarray, spec: InputSpec) -> torch.Tensor:
    expected = spec.shape[1:]
    if not isinstance(inputs, np.ndarray) or inputs.ndim != 4 or inputs.shape[1:] != expected or len(inputs) == 0:
        got = inputs.shape if isinstance(inputs, np.ndarray) else type(inputs).__name__
        raise InputError(f"inputs: expected a float batch (N, {', '.join(map(str, expected))}) with N >= 1, "
                         f"got {got}")
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    return torch.as_tensor(np.ascontiguousarray(inputs), dtype=dtype, device=device)


def _check_outputs(outputs: np.ndarray, n: int, n_outputs: int) -> np.ndarray:
    outputs = np.asarray(outputs, dtype=np.int64)
    if outputs.ndim != 2 or outputs.shape[0] != n or outputs.min() < 0 or outputs.max() >= n_outputs:
        raise InputError(f"outputs: expected (N={n}, K) indices in 0..{n_outputs - 1}, got {outputs.tolist()}")
    return outputs


# ---------------------------------------------------------------------------- gradient


def gradient_maps(model: nn.Module, spec: PipelineSpec, inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """|d objective / d pixel|, max over channels: (N, K, H, W) float32 for the
    (N, K) output indices `outputs` (see ``explained_outputs``)."""
    with _evaluating(model):
        x = _as_tensor(model, inputs, spec.input).requires_grad_(True)
        objectives = _objectives(model(x), spec.output)
        outputs = _check_outputs(outputs, len(x), objectives.shape[1])
        index = torch.as_tensor(outputs, device=x.device)
        maps = []
        for k in range(outputs.shape[1]):
            # Samples are independent in eval mode, so the gradient of the sum is each one's own.
            chosen = objectives.gather(1, index[:, k:k + 1]).sum()
            (grad,) = torch.autograd.grad(chosen, x, retain_graph=k + 1 < outputs.shape[1])
            scale = torch.as_tensor(spec.input.scale, dtype=grad.dtype, device=grad.device).view(1, -1, 1, 1)
            maps.append((grad * scale).abs().amax(dim=1))
    return torch.stack(maps, dim=1).detach().cpu().numpy().astype(np.float32)


# ---------------------------------------------------------------------------- occlusion


def default_patch(size: tuple[int, int]) -> int:
    """An eighth of the shorter side: 8 px at 64x64, 6 at 48x48, 12 at 96x96."""
    return max(1, min(size) // 8)


def default_stride(patch: int) -> int:
    return max(1, patch // 2)


def check_window(size: tuple[int, int], patch: int, stride: int) -> None:
    if not isinstance(patch, int) or patch < 1:
        raise InputError(f"--patch: expected a whole number >= 1, got {patch!r}")
    if not isinstance(stride, int) or stride < 1:
        raise InputError(f"--stride: expected a whole number >= 1, got {stride!r}")
    if patch > min(size):
        raise InputError(f"--patch: a {patch}x{patch} patch is larger than the model input "
                         f"{size[0]}x{size[1]} (height x width)")


def window_starts(length: int, patch: int, stride: int) -> list[int]:
    """Offsets 0, S, 2S, ... that fit, plus one flush with the far edge when
    the stride does not land there, so every pixel is covered."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] + patch < length:
        starts.append(length - patch)
    return starts


def occlusion_maps(model: nn.Module, spec: PipelineSpec, inputs: np.ndarray, outputs: np.ndarray,
                   patch: int, stride: int, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """score(input) - score(input with an N x N black patch), averaged over the
    windows covering each pixel: (N, K, H, W) float32."""
    height, width = spec.input.size
    check_window((height, width), patch, stride)
    if batch_size < 1:
        raise InputError(f"batch_size: expected >= 1, got {batch_size}")
    windows = [(y, x) for y in window_starts(height, patch, stride) for x in window_starts(width, patch, stride)]
    # The patch is black in pixel space (0), then normalised like every input:
    # 0 * scale + offset = offset. A zero in the normalised space would be mid-grey
    # for the [-1, 1] models, i.e. not the seed's zeroed-out pixels, and only values
    # a real crop can take keep the occluded image within what the model can receive.
    black = torch.as_tensor(spec.input.offset).view(-1, 1, 1)
    coverage = np.zeros((height, width), dtype=np.float64)
    for y, x in windows:
        coverage[y:y + patch, x:x + patch] += 1
    with _evaluating(model), torch.inference_mode():
        # NHWC: on CPU, oneDNN runs these models' convolutions (depthwise ones above all)
        # 2-3x faster than in NCHW (measured on mini_xception_fer2013 and face_va_mobile).
        x_all = _as_tensor(model, inputs, spec.input).contiguous(memory_format=torch.channels_last)
        base = _scores(model(x_all), spec.output)
        outputs = _check_outputs(outputs, len(x_all), base.shape[1])
        black = black.to(x_all)
        maps = np.zeros((len(x_all), outputs.shape[1], height, width), dtype=np.float64)
        for n in range(len(x_all)):
            columns = torch.as_tensor(outputs[n], device=x_all.device)
            drops = []
            for first in range(0, len(windows), batch_size):
                chunk = windows[first:first + batch_size]
                occluded = x_all[n:n + 1].repeat(len(chunk), 1, 1, 1).contiguous(memory_format=torch.channels_last)
                for i, (y, x) in enumerate(chunk):
                    occluded[i, :, y:y + patch, x:x + patch] = black
                scores = _scores(model(occluded), spec.output)[:, columns]
                drops.append((base[n, columns] - scores).double().cpu().numpy())
            for (y, x), drop in zip(windows, np.concatenate(drops)):
                maps[n, :, y:y + patch, x:x + patch] += drop[:, None, None]
        maps /= coverage
    return maps.astype(np.float32)


# ---------------------------------------------------------------------------- both


def compute_saliency(model: nn.Module, spec: PipelineSpec, inputs: np.ndarray, method: str = "gradient",
                     target: str | int | None = None, patch: int | None = None, stride: int | None = None,
                     batch_size: int = DEFAULT_BATCH) -> SaliencyMaps:
    """Maps of `method` for a float input batch; `target` is a label or index
    (classifiers default to each sample's predicted class, regressors to every output)."""
    if method not in METHODS:
        raise InputError(f"method: expected one of {list(METHODS)}, got {method!r}")
    index = resolve_target(spec.output, target)
    with _evaluating(model), torch.inference_mode():
        raw = model(_as_tensor(model, inputs, spec.input)).double().cpu().numpy()
    values = shown_values(spec, raw)
    outputs = explained_outputs(spec, values, index)
    chosen = np.take_along_axis(values, outputs, axis=1)
    if method == "gradient":
        return SaliencyMaps(method, gradient_maps(model, spec, inputs, outputs), outputs, chosen)
    patch = default_patch(spec.input.size) if patch is None else patch
    stride = default_stride(patch) if stride is None else stride
    maps = occlusion_maps(model, spec, inputs, outputs, patch, stride, batch_size)
    return SaliencyMaps(method, maps, outputs, chosen, patch, stride)


# ---------------------------------------------------------------------------- the crop the model saw


def denormalize(inputs: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Model inputs (N, C, H, W) -> the uint8 crops they were normalised from,
    (N, H, W) gray or (N, H, W, 3) RGB (exact for reference-preprocessed inputs)."""
    scale = np.asarray(spec.scale, dtype=np.float64).reshape(1, -1, 1, 1)
    offset = np.asarray(spec.offset, dtype=np.float64).reshape(1, -1, 1, 1)
    pixels = np.clip(np.rint((np.asarray(inputs, dtype=np.float64) - offset) / scale), 0, 255).astype(np.uint8)
    return pixels[:, 0] if pixels.shape[1] == 1 else pixels.transpose(0, 2, 3, 1)


# ---------------------------------------------------------------------------- drawing

PANEL_INCHES = 3.2  # panel height: a 64-px crop is drawn 5x larger
COLORBAR_INCHES = 1.0
TITLE_INCHES = 0.9  # panel title and a two-line figure title
DPI = 100
OVERLAY_ALPHA = 0.5
WIDE_ASPECT = 1.5  # crops wider than this (eye slots) stack their panels in a column


def panel_grid(n_panels: int, crop_hw: tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) of the panels."""
    wide = crop_hw[1] > WIDE_ASPECT * crop_hw[0]
    return (n_panels, 1) if wide else (1, n_panels)


def figure_pixels(n_panels: int, crop_hw: tuple[int, int]) -> tuple[int, int]:
    """(height, width) in pixels of the PNG ``render_png`` writes."""
    inches_h, inches_w = _figure_inches(n_panels, crop_hw)
    return round(inches_h * DPI), round(inches_w * DPI)


def _figure_inches(n_panels: int, crop_hw: tuple[int, int]) -> tuple[float, float]:
    rows, cols = panel_grid(n_panels, crop_hw)
    panel_w = PANEL_INCHES * crop_hw[1] / crop_hw[0]
    return rows * (PANEL_INCHES + TITLE_INCHES), cols * (panel_w + COLORBAR_INCHES)


def panel_titles(spec: PipelineSpec, result: SaliencyMaps, sample: int = 0) -> list[str]:
    labels = spec.output.labels
    pairs = zip(result.outputs[sample], result.values[sample])
    if is_classifier(spec.output):
        return [f"{labels[i]} (p = {v:.3g})" for i, v in pairs]
    return [f"{labels[i]} = {v:+.3f}" for i, v in pairs]


def colorbar_label(spec: PipelineSpec, method: str) -> str:
    if method == "gradient":
        return "|d loss / d pixel|" if is_classifier(spec.output) else "|d output / d pixel|"
    return "drop of p(class)" if is_classifier(spec.output) else "drop of the output (signed)"


def render_png(crop: np.ndarray, maps: np.ndarray, titles: Sequence[str], method: str,
               colorbar: str = "", title: str = "") -> bytes:
    """PNG bytes: each map of `maps` (K, H, W) over the uint8 `crop` (H, W[, 3]),
    with its colorbar. Gradient maps (>= 0) use a sequential colormap from 0;
    occlusion maps a diverging one centred on 0, since a patch can also raise a score."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if maps.ndim != 3 or maps.shape[1:] != crop.shape[:2] or len(titles) != len(maps):
        raise InputError(f"render: expected maps (K, {crop.shape[0]}, {crop.shape[1]}) with K titles, "
                         f"got {maps.shape} and {len(titles)} titles")
    rows, cols = panel_grid(len(maps), crop.shape[:2])
    height, width = _figure_inches(len(maps), crop.shape[:2])
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without pyplot's global state or backend switching
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, saliency, panel_title in zip(axes, maps, titles):
        ax.imshow(crop, cmap="gray" if crop.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        if method == "gradient":
            norm = {"cmap": "inferno", "vmin": 0.0, "vmax": max(float(saliency.max()), 1e-12)}
        else:
            limit = max(float(np.abs(saliency).max()), 1e-12)
            norm = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
        image = ax.imshow(saliency, alpha=OVERLAY_ALPHA, interpolation="nearest", **norm)
        fig.colorbar(image, ax=ax, label=colorbar, shrink=0.9)
        ax.set_title(panel_title)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize="medium")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


__all__ = ["METHODS", "SaliencyMaps", "check_window", "colorbar_label", "compute_saliency", "default_patch",
           "default_stride", "denormalize", "explained_outputs", "figure_pixels", "gradient_maps",
           "is_classifier", "occlusion_maps", "panel_grid", "panel_titles", "render_png", "resolve_target",
           "shown_values", "window_starts"]
