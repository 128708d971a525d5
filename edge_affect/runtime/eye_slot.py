"""Seed 1's eye slot (Oculum afficit): the ocular region of a face, levelled.

The paper's procedure, step by step, with the choices its text leaves open
made explicit:

1. Points: both eyes (36-47), both brows (17-26) and the closest nose point,
   i.e. the nose landmark (27-35) nearest to any eye/brow point (the top of
   the bridge, 27, on every plausible face).
2. Face angle: θ = the angle of the line from the right-eye centre to the
   left-eye centre (means of 36-41 and 42-47), taken pointing image-right so
   a slot is never upside down.
3. Minimum-area box: the smallest rectangle with sides along and across the
   eye line that holds the points. (A free minimum-area rectangle could lie
   at any angle and flips by 90° under small landmark changes; tying it to
   θ keeps it on the face's axes, which is the rotation the paper undoes.)
4. Grow it 10% horizontally and 25% vertically about its centre and round
   the size to whole pixels: W = floor(1.1 w + 1/2), H = floor(1.25 h + 1/2).
5. Reject (``RejectedSample``) a slot with zero width or height, or taller
   than wide, as the paper drops them; also one lying wholly outside the
   image.
6. Rotate the image by θ about the box centre and cut the W x H box: done
   as one inverse mapping, output pixel (u, v) samples the source at
   centre + R(θ) (u - (W-1)/2, v - (H-1)/2), bilinear, black outside the
   image. Identical to rotating the frame and then cropping, with a single
   interpolation and no full-frame work.
7. Fit to the model input: keep the aspect ratio and pad (black, centred)
   top/bottom or left/right to the input's aspect (520x170 for M1/M2), then
   the spec's integer resize (``edge_affect.runtime.resize``).

Sampling (step 6) is integer arithmetic after quantising θ and the centre
once, so every platform gets the same bytes:
    c = floor(cos θ * 2^14 + 1/2), s = floor(sin θ * 2^14 + 1/2)   (Q14)
    cx, cy = floor(centre * 2^11 + 1/2)                              (Q11)
    du = 2u - (W - 1), dv = 2v - (H - 1)                             (half pixels)
    x = cx + ((c du - s dv + 8) >> 4),  y = cy + ((s du + c dv + 8) >> 4)   (Q11)
then the bilinear rule of ``resize``: x0 = x >> 11, fx = x & 2047, and
out = (wy0 (wx0 p00 + wx1 p01) + wy1 (wx0 p10 + wx1 p11) + 2^21) >> 22.
Coordinates follow OpenCV: (0, 0) is the centre of the top-left pixel.
numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge_affect.data import landmarks as lm
from edge_affect.errors import InputError
from edge_affect.runtime.preprocess import check_image, convert_color, extract, keep_aspect_box, normalize
from edge_affect.runtime.resize import FRAC_BITS as RESIZE_FRAC_BITS
from edge_affect.runtime.resize import ONE as RESIZE_ONE
from edge_affect.runtime.resize import bilinear_taps, resize
from edge_affect.spec import InputSpec

EYE_SLOT_INPUT_SIZE = (170, 520)  # (height, width) of seed 1's models
GROW_X, GROW_Y = 1.10, 1.25
COORD_BITS = 11
TRIG_BITS = 14
_ONE = 1 << COORD_BITS
# (c du) is in Q14 half-pixels; dividing by 2^(14 + 1 - 11) gives Q11 pixels.
_TO_COORD_SHIFT = TRIG_BITS + 1 - COORD_BITS

SLOT_POINTS = np.r_[lm.indices(lm.RIGHT_BROW), lm.indices(lm.LEFT_BROW),
                    lm.indices(lm.RIGHT_EYE), lm.indices(lm.LEFT_EYE)]
NOSE_POINTS = np.arange(lm.NOSE.start, lm.NOSE.stop)


class RejectedSample(InputError):
    """A face whose eye slot the paper's rules drop; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(f"eye slot rejected: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class EyeSlot:
    """Where the slot is: centre (x, y) in pixels, size (height, width) in
    whole pixels after growing, angle θ in radians (image axes, y down, so
    positive θ is clockwise on screen) and the nose landmark used."""

    center: tuple[float, float]
    size: tuple[int, int]
    angle: float
    nose_index: int


def eye_slot_geometry(landmarks: np.ndarray) -> EyeSlot:
    """Steps 1-5 (without the image): the grown, levelled slot of a face."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (lm.NUM_LANDMARKS, 2) or not np.all(np.isfinite(pts)):
        raise InputError(f"landmarks: expected 68 finite (x, y) points, got shape {pts.shape}")
    eye_line = pts[lm.LEFT_EYE].mean(axis=0) - pts[lm.RIGHT_EYE].mean(axis=0)
    if not np.any(eye_line):
        raise RejectedSample("the eye centres coincide, so the face angle is undefined")
    if eye_line[0] < 0 or (eye_line[0] == 0 and eye_line[1] < 0):
        eye_line = -eye_line  # point image-right: never turn the slot upside down
    angle = math.atan2(eye_line[1], eye_line[0])

    slot = pts[SLOT_POINTS]
    nose_distances = np.linalg.norm(pts[NOSE_POINTS][:, None, :] - slot[None, :, :], axis=2).min(axis=1)
    nose_index = int(NOSE_POINTS[np.argmin(nose_distances)])
    points = np.vstack([slot, pts[nose_index]])

    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-math.sin(angle), math.cos(angle)])
    origin = points.mean(axis=0)
    a, b = (points - origin) @ along, (points - origin) @ across
    center = origin + along * (a.max() + a.min()) / 2 + across * (b.max() + b.min()) / 2
    width = math.floor((a.max() - a.min()) * GROW_X + 0.5)
    height = math.floor((b.max() - b.min()) * GROW_Y + 0.5)
    if width < 1 or height < 1:
        raise RejectedSample(f"zero-size slot ({width}x{height} pixels, width x height)")
    if height > width:
        raise RejectedSample(f"slot taller than wide ({width}x{height} pixels, width x height)")
    return EyeSlot((float(center[0]), float(center[1])), (height, width), angle, nose_index)


def _fixed(value: float, bits: int) -> int:
    return math.floor(value * (1 << bits) + 0.5)


def sample_coordinates(slot: EyeSlot) -> tuple[np.ndarray, np.ndarray]:
    """Q11 source coordinates (x, y), each (H, W) int64, of every slot pixel."""
    h, w = slot.size
    c, s = _fixed(math.cos(slot.angle), TRIG_BITS), _fixed(math.sin(slot.angle), TRIG_BITS)
    cx, cy = _fixed(slot.center[0], COORD_BITS), _fixed(slot.center[1], COORD_BITS)
    du = (2 * np.arange(w, dtype=np.int64) - (w - 1))[None, :]
    dv = (2 * np.arange(h, dtype=np.int64) - (h - 1))[:, None]
    half = 1 << (_TO_COORD_SHIFT - 1)
    x = cx + ((c * du - s * dv + half) >> _TO_COORD_SHIFT)
    y = cy + ((s * du + c * dv + half) >> _TO_COORD_SHIFT)
    return x, y


def cut_eye_slot(image: np.ndarray, slot: EyeSlot, fill: int = 0) -> np.ndarray:
    """Step 6: the levelled slot, uint8 (H, W) or (H, W, 3) at its own size."""
    check_image(image)
    if not 0 <= fill <= 255:
        raise InputError(f"eye slot fill: expected a grey level in [0, 255], got {fill!r}")
    x, y = sample_coordinates(slot)
    x0, y0 = x >> COORD_BITS, y >> COORD_BITS
    rows, cols = image.shape[:2]
    if x0.max() < -1 or y0.max() < -1 or x0.min() >= cols or y0.min() >= rows:
        raise RejectedSample(f"slot centred at {slot.center} lies outside the {cols}x{rows} image")
    # A one-pixel ring of `fill` around the frame: clamping every tap into the
    # ring gives "fill outside the image" with one flat gather per tap.
    channels = image.shape[2] if image.ndim == 3 else 1
    framed = np.full((rows + 2, cols + 2, channels), fill, dtype=np.uint8)
    framed[1:-1, 1:-1] = image.reshape(rows, cols, channels)
    flat = framed.reshape(-1, channels)
    left, right = np.clip(x0, -1, cols) + 1, np.clip(x0 + 1, -1, cols) + 1
    upper, lower = (np.clip(y0, -1, rows) + 1) * (cols + 2), (np.clip(y0 + 1, -1, rows) + 1) * (cols + 2)

    def tap(row: np.ndarray, col: np.ndarray) -> np.ndarray:
        return np.take(flat, row + col, axis=0).astype(np.int32)

    # int32 suffices: the largest sum is 2048 * 2048 * 255 + 2^21 < 2^31.
    fx = (x & (_ONE - 1)).astype(np.int32)[..., None]
    fy = (y & (_ONE - 1)).astype(np.int32)[..., None]
    top = (_ONE - fx) * tap(upper, left) + fx * tap(upper, right)
    bottom = (_ONE - fx) * tap(lower, left) + fx * tap(lower, right)
    out = ((_ONE - fy) * top + fy * bottom + (1 << (2 * COORD_BITS - 1))) >> (2 * COORD_BITS)
    return out.astype(np.uint8).reshape(x.shape + image.shape[2:])


def fit_to_input(slot_image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Step 7: a slot image (augmented or not) -> uint8 at ``spec.size`` in
    ``spec.color``; keep-aspect padding with ``spec.pad_value`` when
    ``spec.pad`` is "keep_aspect", else stretched."""
    check_image(slot_image, "eye slot")
    image = convert_color(slot_image, spec.color)
    if spec.pad == "keep_aspect":
        region = keep_aspect_box((0, 0, image.shape[1], image.shape[0]), spec.size)
        image = extract(image, region, spec.pad_value)
    if spec.resize == "bilinear":
        return _resize_bilinear_separable(image, spec.size)
    return resize(image, spec.size, spec.resize)


def _resize_bilinear_separable(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``resize.resize_bilinear`` bit for bit, several times faster on slot fits.

    Same taps and the same integer formula, evaluated in a different order:
    the horizontal sums (unrounded, so nothing changes) are formed once per
    source row instead of twice per output row, in int32 rather than int64
    (the largest value, 2048 * 2048 * 255 + 2^21, is below 2^31), and
    gathered with ``np.take``, which copies whole rows where fancy indexing
    goes element by element. A slot is upscaled (about 30 source rows to 170
    output rows), and this fit was most of the per-record cost of dataset
    preparation."""
    y0, y1, fy = bilinear_taps(image.shape[0], size[0])
    x0, x1, fx = bilinear_taps(image.shape[1], size[1])
    src = image.astype(np.int32)
    trailing = (1,) * (src.ndim - 2)  # broadcast the weights over channels
    fx = fx.astype(np.int32).reshape((-1,) + trailing)
    rows = (RESIZE_ONE - fx) * np.take(src, x0, axis=1) + fx * np.take(src, x1, axis=1)
    wy = fy.astype(np.int32).reshape((-1, 1) + trailing)
    top, bottom = np.take(rows, y0, axis=0), np.take(rows, y1, axis=0)
    out = ((RESIZE_ONE - wy) * top + wy * bottom + (1 << (2 * RESIZE_FRAC_BITS - 1))) >> (2 * RESIZE_FRAC_BITS)
    return out.astype(np.uint8)


def crop_eye_slot(image: np.ndarray, landmarks: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Frame + 68 landmarks -> uint8 eye slot at the model's size (steps 1-7).
    ``spec.crop_margin`` does not apply: the slot's growth is the paper's."""
    if spec.source != "eye_slot":
        raise InputError(f"input.source: the eye-slot extractor needs 'eye_slot', got {spec.source!r}")
    return fit_to_input(cut_eye_slot(image, eye_slot_geometry(landmarks), spec.pad_value), spec)


def preprocess_eye_slot(image: np.ndarray, landmarks: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Frame + 68 landmarks -> float32 model input (1, C, H, W)."""
    return normalize(crop_eye_slot(image, landmarks, spec), spec)[None]


__all__ = [
    "EYE_SLOT_INPUT_SIZE", "EyeSlot", "RejectedSample", "crop_eye_slot", "cut_eye_slot",
    "eye_slot_geometry", "fit_to_input", "preprocess_eye_slot", "sample_coordinates",
]
