"""The pipeline spec: the on-device contract every model travels with.

One frozen dataclass describes exactly how a camera frame becomes the model's
input tensor and how the model's output becomes what an app shows. It is
serialised into every bundle's ``manifest.json`` and read back (validated) by
the reference runtime, the converters, the generated C code and the apps.

Normalisation is ``x = pixel * scale[c] + offset[c]`` on uint8 pixels, so an
app never has to guess whether "mean/std" applies to [0, 1] or [0, 255].
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from edge_affect.errors import SpecError

SPEC_VERSION = 1

INPUT_SOURCES = ("face_box", "landmarks68", "eye_slot", "full_frame")
COLORS = ("gray", "rgb")
# Exact, integer-only algorithms implemented once in numpy (edge_affect.runtime.resize)
# and once in C (embedded/): see those modules for the fixed-point rules.
RESIZE_ALGORITHMS = ("bilinear", "nearest")
PAD_MODES = ("none", "keep_aspect")
LAYOUTS = ("NCHW",)
OUTPUT_KINDS = ("logits", "probs", "regression")
POST_OPS = ("softmax", "sigmoid", "clamp", "none")
TASKS = ("expression", "valence_arousal", "ocular_va", "smile")


@dataclass(frozen=True)
class QuantParams:
    """Affine int8 quantization of a tensor: real = (q - zero_point) * scale."""

    scale: float
    zero_point: int

    def validate(self, where: str) -> None:
        _check(_finite(self.scale) and self.scale > 0,
               f"{where}.scale: expected a finite float > 0, got {self.scale!r}")
        _check(isinstance(self.zero_point, int) and not isinstance(self.zero_point, bool)
               and -128 <= self.zero_point <= 127,
               f"{where}.zero_point: expected an int in [-128, 127], got {self.zero_point!r}")


@dataclass(frozen=True)
class InputSpec:
    source: str
    color: str
    size: tuple[int, int]  # (height, width) of the model input
    resize: str
    # Grow the face box by this fraction of its width/height on every side
    # before cropping; pixels outside the frame take `pad_value`.
    crop_margin: float = 0.0
    pad: str = "none"
    pad_value: int = 0
    scale: tuple[float, ...] = (1.0 / 255.0,)
    offset: tuple[float, ...] = (0.0,)
    layout: str = "NCHW"
    quant: QuantParams | None = None

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The model input shape, batch of one."""
        return (1, self.channels, self.size[0], self.size[1])

    def validate(self) -> None:
        _one_of("input.source", self.source, INPUT_SOURCES)
        _one_of("input.color", self.color, COLORS)
        _check(isinstance(self.size, tuple) and len(self.size) == 2
               and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in self.size),
               f"input.size: expected [height, width], ints in [1, 4096], got {self.size!r}")
        _one_of("input.resize", self.resize, RESIZE_ALGORITHMS)
        _check(isinstance(self.crop_margin, (int, float)) and 0.0 <= self.crop_margin <= 1.0,
               f"input.crop_margin: expected a float in [0, 1], got {self.crop_margin!r}")
        _one_of("input.pad", self.pad, PAD_MODES)
        _check(isinstance(self.pad_value, int) and 0 <= self.pad_value <= 255,
               f"input.pad_value: expected an int in [0, 255], got {self.pad_value!r}")
        for name in ("scale", "offset"):
            values = getattr(self, name)
            _check(isinstance(values, tuple) and len(values) == self.channels
                   and all(_finite(v) for v in values),
                   f"input.{name}: expected {self.channels} finite float(s) for color "
                   f"{self.color!r}, got {values!r}")
        _check(all(v != 0 for v in self.scale), f"input.scale: must be non-zero, got {self.scale!r}")
        _one_of("input.layout", self.layout, LAYOUTS)
        if self.quant is not None:
            self.quant.validate("input.quant")


@dataclass(frozen=True)
class OutputSpec:
    kind: str
    post: str
    labels: tuple[str, ...]
    clamp_range: tuple[float, float] | None = None
    # Exponential moving average over video frames: s_t = a*y_t + (1-a)*s_{t-1}; 1.0 = off.
    smooth_alpha: float = 1.0

    def validate(self) -> None:
        _one_of("output.kind", self.kind, OUTPUT_KINDS)
        _one_of("output.post", self.post, POST_OPS)
        _check(isinstance(self.labels, tuple) and len(self.labels) >= 1
               and all(isinstance(v, str) and v for v in self.labels),
               f"output.labels: expected a non-empty list of names, got {self.labels!r}")
        _check(len(set(self.labels)) == len(self.labels), f"output.labels: duplicate names in {self.labels!r}")
        if self.post == "clamp":
            _check(isinstance(self.clamp_range, tuple) and len(self.clamp_range) == 2
                   and all(_finite(v) for v in self.clamp_range) and self.clamp_range[0] < self.clamp_range[1],
                   f"output.clamp_range: expected [low, high] with low < high for post 'clamp', "
                   f"got {self.clamp_range!r}")
        if self.post == "softmax":
            _check(self.kind == "logits", f"output.post: 'softmax' needs kind 'logits', got {self.kind!r}")
        _check(isinstance(self.smooth_alpha, (int, float)) and 0.0 < self.smooth_alpha <= 1.0,
               f"output.smooth_alpha: expected a float in (0, 1], got {self.smooth_alpha!r}")


@dataclass(frozen=True)
class PipelineSpec:
    task: str
    input: InputSpec
    output: OutputSpec
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        _check(self.version == SPEC_VERSION, f"version: expected {SPEC_VERSION}, got {self.version!r}")
        _one_of("task", self.task, TASKS)
        self.input.validate()
        self.output.validate()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PipelineSpec":
        if not isinstance(data, Mapping):
            raise SpecError(f"spec: expected a JSON object, got {type(data).__name__}")
        _known_keys("spec", data, cls)
        _required("spec", data, ("task", "input", "output"))
        raw_in, raw_out = data["input"], data["output"]
        for name, raw, kls in (("input", raw_in, InputSpec), ("output", raw_out, OutputSpec)):
            if not isinstance(raw, Mapping):
                raise SpecError(f"{name}: expected a JSON object, got {type(raw).__name__}")
            _known_keys(name, raw, kls)
        _required("input", raw_in, ("source", "color", "size", "resize"))
        _required("output", raw_out, ("kind", "post", "labels"))
        quant = raw_in.get("quant")
        if quant is not None:
            if not isinstance(quant, Mapping) or set(quant) != {"scale", "zero_point"}:
                raise SpecError(f"input.quant: expected {{scale, zero_point}} or null, got {quant!r}")
            quant = QuantParams(**quant)
        inp = InputSpec(**{**raw_in, "quant": quant, **_tuples(raw_in, ("size", "scale", "offset"))})
        out = OutputSpec(**{**raw_out, **_tuples(raw_out, ("labels", "clamp_range"))})
        try:
            return cls(task=data["task"], input=inp, output=out, version=data.get("version", SPEC_VERSION))
        except TypeError as exc:  # pragma: no cover - guarded by _known_keys
            raise SpecError(f"spec: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> "PipelineSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"spec: not valid JSON ({exc})") from None
        return cls.from_dict(data)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise SpecError(message)


def _finite(value: Any) -> bool:
    """A JSON number (not a bool) that is finite as a float: an integer too
    large for a float (JSON allows 400 digits) is not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _one_of(where: str, value: Any, allowed: tuple[str, ...]) -> None:
    _check(value in allowed, f"{where}: expected one of {list(allowed)}, got {value!r}")


def _known_keys(where: str, data: Mapping[str, Any], kls: type) -> None:
    unknown = sorted(set(data) - {f.name for f in fields(kls)})
    _check(not unknown, f"{where}: unknown field(s) {unknown}")


def _required(where: str, data: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in data]
    _check(not missing, f"{where}: missing field(s) {missing}")


def _tuples(data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """JSON has lists where the dataclass keeps tuples (hashable, frozen)."""
    return {k: tuple(data[k]) if isinstance(data.get(k), list) else data[k] for k in keys if k in data}


__all__ = ["PipelineSpec", "InputSpec", "OutputSpec", "QuantParams", "SPEC_VERSION"]
