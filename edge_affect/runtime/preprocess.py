"""Reference preprocessing: camera frame + face box (or 68 landmarks) -> model input.

This is the single implementation that training, the parity harness and the
predict path call; ``embedded/`` implements the same integer steps in C and is
tested bit-exact against it. numpy only.

Steps, in order (all integer until the last):
1. colour: RGB -> gray with BT.601 weights in Q14, (4899 R + 9617 G + 1868 B
   + 2^13) >> 14 (OpenCV's fixed-point rule); gray -> RGB replicates.
2. crop: the face box grown by ``crop_margin`` (in per-mille of the box size,
   rounded half up) on every side; pixels outside the frame take ``pad_value``.
3. pad: with ``keep_aspect``, grow the crop to the model's aspect ratio with
   ``pad_value`` (extra pixel bottom/right) so the face is not stretched.
4. resize: the spec's integer algorithm (``edge_affect.runtime.resize``).
5. normalise: float32 ``pixel * scale[c] + offset[c]``, layout NCHW.
"""

from __future__ import annotations

import numpy as np

from edge_affect.errors import InputError
from edge_affect.runtime.resize import resize
from edge_affect.spec import InputSpec

Box = tuple[int, int, int, int]  # x, y, width, height in pixels

GRAY_WEIGHTS_Q14 = (4899, 9617, 1868)

# The C runtime's limits (embedded/include/ea_preprocess.h: EA_PP_MAX_FRAME_DIM,
# EA_PP_MAX_REGION_DIM), so that both refuse the same boxes, and a box
# from a bad detector or a fuzzed file cannot make extract() allocate terabytes.
MAX_BOX_DIM = 16384
MAX_REGION_DIM = 65535


def check_image(image: np.ndarray, name: str = "image") -> None:
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"{name}: expected dtype uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise InputError(f"{name}: expected shape (H, W) or (H, W, 3), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError(f"{name}: empty image of shape {image.shape}")


def convert_color(image: np.ndarray, color: str) -> np.ndarray:
    if color == "gray" and image.ndim == 3:
        r, g, b = (image[..., i].astype(np.int32) for i in range(3))
        wr, wg, wb = GRAY_WEIGHTS_Q14
        return ((wr * r + wg * g + wb * b + (1 << 13)) >> 14).astype(np.uint8)
    if color == "rgb" and image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return image


def margin_permille(spec: InputSpec) -> int:
    """The crop margin as the integer the C runtime uses."""
    return int(np.floor(spec.crop_margin * 1000 + 0.5))


def grow_box(box: Box, spec: InputSpec) -> Box:
    x, y, w, h = box
    m = margin_permille(spec)
    dx, dy = (w * m + 500) // 1000, (h * m + 500) // 1000
    return x - dx, y - dy, w + 2 * dx, h + 2 * dy


def keep_aspect_box(box: Box, size: tuple[int, int]) -> Box:
    """Grow `box` along one axis to the aspect ratio of `size` = (H, W)."""
    x, y, w, h = box
    out_h, out_w = size
    if w * out_h > h * out_w:  # too wide: pad top/bottom
        new_h = -(-w * out_h // out_w)
        extra = new_h - h
        return x, y - extra // 2, w, new_h
    new_w = -(-h * out_w // out_h)
    extra = new_w - w
    return x - extra // 2, y, new_w, h


def extract(image: np.ndarray, box: Box, pad_value: int) -> np.ndarray:
    """The pixels of `box`, with `pad_value` where the box leaves the image."""
    x, y, w, h = box
    out = np.full((h, w) + image.shape[2:], pad_value, dtype=np.uint8)
    sx0, sy0 = max(x, 0), max(y, 0)
    sx1, sy1 = min(x + w, image.shape[1]), min(y + h, image.shape[0])
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y:sy1 - y, sx0 - x:sx1 - x] = image[sy0:sy1, sx0:sx1]
    return out


def box_from_landmarks(landmarks: np.ndarray) -> Box:
    """Seed 2's face box: the extreme landmarks (left, top, right, bottom)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape != (68, 2) or not np.all(np.isfinite(pts)) or np.abs(pts).max() >= 2**31:
        raise InputError(f"landmarks: expected 68 finite (x, y) points within +-2^31, got shape {pts.shape}")
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    return int(x0), int(y0), int(max(x1 - x0, 1)), int(max(y1 - y0, 1))


def check_box(box, image_shape: tuple[int, ...]) -> Box:
    try:
        x, y, w, h = (int(v) for v in box)
    except (TypeError, ValueError):
        raise InputError(f"box: expected (x, y, width, height), got {box!r}") from None
    if w < 1 or h < 1:
        raise InputError(f"box: width and height must be >= 1, got {(x, y, w, h)}")
    if w > MAX_BOX_DIM or h > MAX_BOX_DIM:
        raise InputError(f"box: width and height must be <= {MAX_BOX_DIM}, got {(x, y, w, h)}")
    if x >= image_shape[1] or y >= image_shape[0] or x + w <= 0 or y + h <= 0:
        raise InputError(f"box: {(x, y, w, h)} lies outside the image of shape {image_shape[:2]}")
    return x, y, w, h


def crop_face(image: np.ndarray, spec: InputSpec, box: Box | None = None,
              landmarks: np.ndarray | None = None) -> np.ndarray:
    """Steps 1-4: uint8 crop of the model's size ((H, W) gray or (H, W, 3) rgb)."""
    check_image(image)
    if spec.source == "eye_slot":
        raise InputError("input.source 'eye_slot' needs the eye-slot extractor, not a face box")
    image = convert_color(image, spec.color)
    if landmarks is not None:
        box = box_from_landmarks(landmarks)
    elif box is None or spec.source == "full_frame":
        box = (0, 0, image.shape[1], image.shape[0])
    region = grow_box(check_box(box, image.shape), spec)
    if spec.pad == "keep_aspect":
        region = keep_aspect_box(region, spec.size)
    if region[2] > MAX_REGION_DIM or region[3] > MAX_REGION_DIM:
        raise InputError(f"box: {box} grows to a {region[2]} x {region[3]} crop (margin, keep-aspect padding); "
                         f"the limit is {MAX_REGION_DIM} per side")
    return resize(extract(image, region, spec.pad_value), spec.size, spec.resize)


def normalize(crop: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Step 5: uint8 crop at the model size -> float32 (C, H, W)."""
    expected = spec.size + ((3,) if spec.color == "rgb" else ())
    if crop.dtype != np.uint8 or crop.shape != expected:
        raise InputError(f"crop: expected uint8 of shape {expected}, got {crop.dtype} {crop.shape}")
    chw = crop[None] if crop.ndim == 2 else crop.transpose(2, 0, 1)
    scale = np.asarray(spec.scale, dtype=np.float32).reshape(-1, 1, 1)
    offset = np.asarray(spec.offset, dtype=np.float32).reshape(-1, 1, 1)
    return chw.astype(np.float32) * scale + offset


def preprocess(image: np.ndarray, spec: InputSpec, box: Box | None = None,
               landmarks: np.ndarray | None = None) -> np.ndarray:
    """Frame + face -> float32 model input (1, C, H, W)."""
    return normalize(crop_face(image, spec, box, landmarks), spec)[None]


def preprocess_crops(crops: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A stack of uint8 images already cropped to the face, (N, H, W) or
    (N, H, W, 3) -> float32 (N, C, H, W). Each whole image is the face box
    (for an eye-slot spec: the eye slot, fitted to the input size)."""
    if not isinstance(crops, np.ndarray) or crops.dtype != np.uint8:
        got = crops.dtype if isinstance(crops, np.ndarray) else type(crops).__name__
        raise InputError(f"face crops: expected a uint8 array, got {got}")
    if crops.ndim not in (3, 4) or (crops.ndim == 4 and crops.shape[3] not in (1, 3)) or crops.shape[0] == 0:
        raise InputError(f"face crops: expected shape (N, H, W) or (N, H, W, 3) with N >= 1, got {crops.shape}")
    if crops.ndim == 4 and crops.shape[3] == 1:
        crops = crops[..., 0]
    if spec.source == "eye_slot":  # each image is an eye slot already cut out (eye_slot.crop_eye_slot)
        from edge_affect.runtime.eye_slot import fit_to_input

        return np.stack([normalize(fit_to_input(c, spec), spec) for c in crops])
    return np.stack([preprocess(c, spec)[0] for c in crops])
