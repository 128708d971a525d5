"""The seeds' training-time augmentations, deterministic under a numpy Generator.

Three named policies reproduce what the papers report; where a paper names
an augmentation without its settings, the library it used supplies the
defaults (said next to each op):

``ocular_policy`` (seed 1, Oculum afficit, Table II; Keras-style, every
  perturbation on every sample): brightness x[0.5, 1.5] on HLS lightness,
  rotation up to 5 degrees, width and height shift up to 10%, shear up to
  0.01 rad, horizontal flip with p = 0.5. Table II gives magnitudes; each
  is drawn uniformly from [-max, max] (direction either way, as Keras'
  ImageDataGenerator draws rotation_range=5 from [-5, 5]).
``acting_mirror_policy`` (seed 3, Acting Mirror): the paper trained on the
  original images plus five copies, each through one imgaug op (gaussian
  noise sigma 0.07*255, multiply [0.25, 1.5], salt-and-pepper 3%, gaussian
  blur sigma 0.5, clouds). Per sample this is one of the six (identity
  included) chosen uniformly, the same mixture in expectation.
``smile_policy`` (seed 4, A Battery-Powered Friend; albumentations): each
  with p = 0.2 occlusion, small affine (rotation, flip), gaussian blur,
  noise, emboss; then weak motion blur (kernel up to 5) with p = 0.85 and
  strong (up to 40) with p = 0.10.

Images are uint8 (H, W) gray or (H, W, 3) RGB; the output has the input's
shape and dtype. Geometric ops move ``landmarks`` ((N, 2) x, y pixels,
OpenCV convention: (0, 0) is the centre of the top-left pixel) with the same
matrix as the pixels; a horizontal flip also swaps left and right points of
a 68-point dlib layout so index 36 stays the subject's right eye corner.
Same generator state in, same bytes out. cv2 is used freely: this is
training-time code, not part of the reference runtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from edge_affect.errors import InputError

# dlib 68-point index of each point's mirror image (left <-> right).
MIRROR_68 = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 16, -1))  # brows 17-21 <-> 26-22
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # lower nose
    + [45, 44, 43, 42, 47, 46]  # right eye 36-41 <-> left eye
    + [39, 38, 37, 36, 41, 40]  # left eye 42-47 <-> right eye
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lip
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lip
)


class Op(Protocol):
    name: str

    def __call__(self, image: np.ndarray, landmarks: np.ndarray | None,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]: ...


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _per_pixel(values: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Broadcast an (H, W) field over the channels of ``image``."""
    return values[..., None] if image.ndim == 3 else values


# --------------------------------------------------------------------------
# Photometric ops: landmarks pass through unchanged.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    name: str = "identity"

    def __call__(self, image, landmarks, rng):
        return image, landmarks


@dataclass(frozen=True)
class HlsBrightness:
    """Multiply HLS lightness by a factor drawn from [low, high] (seed 1).
    For a gray image lightness is the pixel value itself."""

    low: float = 0.5
    high: float = 1.5
    name: str = "brightness"

    def __call__(self, image, landmarks, rng):
        factor = rng.uniform(self.low, self.high)
        if image.ndim == 2:
            return _to_uint8(image * factor), landmarks
        hls = cv2.cvtColor(image, cv2.COLOR_RGB2HLS)
        hls[..., 1] = _to_uint8(hls[..., 1] * factor)
        return cv2.cvtColor(hls, cv2.COLOR_HLS2RGB), landmarks


@dataclass(frozen=True)
class Multiply:
    """Every pixel times one factor from [low, high] (imgaug Multiply)."""

    low: float = 0.25
    high: float = 1.5
    name: str = "multiply"

    def __call__(self, image, landmarks, rng):
        return _to_uint8(image * rng.uniform(self.low, self.high)), landmarks


@dataclass(frozen=True)
class GaussianNoise:
    """Additive gaussian noise, sigma (grey levels) drawn from [low, high];
    one draw per pixel shared by its channels unless ``per_channel``."""

    sigma_low: float
    sigma_high: float
    per_channel: bool = False
    name: str = "noise"

    def __call__(self, image, landmarks, rng):
        sigma = rng.uniform(self.sigma_low, self.sigma_high)
        shape = image.shape if self.per_channel else image.shape[:2]
        noise = rng.normal(0.0, sigma, size=shape)
        if not self.per_channel:
            noise = _per_pixel(noise, image)
        return _to_uint8(image + noise), landmarks


@dataclass(frozen=True)
class SaltAndPepper:
    """Replace a ``fraction`` of the pixels by white or black, half each
    (imgaug SaltAndPepper, whole pixels)."""

    fraction: float = 0.03
    name: str = "salt_and_pepper"

    def __call__(self, image, landmarks, rng):
        hit = rng.random(image.shape[:2]) < self.fraction
        salt = rng.random(image.shape[:2]) < 0.5
        out = image.copy()
        out[hit & salt] = 255
        out[hit & ~salt] = 0
        return out, landmarks


@dataclass(frozen=True)
class GaussianBlur:
    """Gaussian blur with sigma from [low, high]; OpenCV sizes the kernel."""

    sigma_low: float
    sigma_high: float
    name: str = "blur"

    def __call__(self, image, landmarks, rng):
        sigma = rng.uniform(self.sigma_low, self.sigma_high)
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma), landmarks


@dataclass(frozen=True)
class Clouds:
    """A cloud-like mask over the image, in the spirit of imgaug's Clouds:
    multi-octave value noise (random grids of 3, 5, 9 and 17 points,
    upsampled bicubically, weights 1, 1/2, 1/4, 1/8), thresholded softly
    into an alpha mask of up to ``max_alpha`` and blended with a light
    grey in [190, 255]. Not imgaug's exact algorithm."""

    octaves: int = 4
    max_alpha: float = 0.8
    name: str = "clouds"

    def __call__(self, image, landmarks, rng):
        h, w = image.shape[:2]
        noise = np.zeros((h, w), dtype=np.float64)
        for octave in range(self.octaves):
            n = (1 << (octave + 1)) + 1
            grid = rng.random((n, n))
            noise += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) * 0.5 ** octave
        noise = (noise - noise.min()) / max(noise.max() - noise.min(), 1e-9)
        threshold = rng.uniform(0.3, 0.6)
        alpha = np.clip((noise - threshold) / (1.0 - threshold) * 2.0, 0.0, 1.0) * rng.uniform(0.4, self.max_alpha)
        cloud = rng.uniform(190.0, 255.0)
        alpha = _per_pixel(alpha, image)
        return _to_uint8(image * (1.0 - alpha) + cloud * alpha), landmarks


@dataclass(frozen=True)
class Emboss:
    """albumentations Emboss: blend the image with its embossed version,
    alpha in [0.2, 0.5], strength in [0.2, 0.7]."""

    alpha: tuple[float, float] = (0.2, 0.5)
    strength: tuple[float, float] = (0.2, 0.7)
    name: str = "emboss"

    def __call__(self, image, landmarks, rng):
        alpha, s = rng.uniform(*self.alpha), rng.uniform(*self.strength)
        identity = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
        emboss = np.array([[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]], dtype=np.float32)
        kernel = (1 - alpha) * identity + alpha * emboss
        return cv2.filter2D(image, -1, kernel), landmarks


@dataclass(frozen=True)
class MotionBlur:
    """A straight-line blur: odd kernel size from 3 to ``limit`` (rounded
    down to odd, as albumentations' MotionBlur(blur_limit)), a line through
    the kernel centre at a random angle."""

    limit: int
    name: str = "motion_blur"

    def __post_init__(self) -> None:
        if self.limit < 3:
            raise InputError(f"MotionBlur.limit: expected >= 3, got {self.limit}")

    def __call__(self, image, landmarks, rng):
        size = int(rng.choice(np.arange(3, self.limit + 1, 2)))
        angle = rng.uniform(0.0, math.pi)
        half = (size - 1) / 2
        dx, dy = half * math.cos(angle), half * math.sin(angle)
        kernel = np.zeros((size, size), dtype=np.uint8)
        cv2.line(kernel, (round(half - dx), round(half - dy)), (round(half + dx), round(half + dy)), 1, 1)
        kernel = kernel.astype(np.float32) / kernel.sum()
        return cv2.filter2D(image, -1, kernel), landmarks


@dataclass(frozen=True)
class Occlusion:
    """Black rectangles (albumentations CoarseDropout: up to 8 holes of up
    to 8x8 px), here sized relative to the image, each side up to
    ``max_fraction`` of the image's, so the effect does not depend on the
    input resolution."""

    max_holes: int = 8
    max_fraction: float = 0.125
    fill: int = 0
    name: str = "occlusion"

    def __call__(self, image, landmarks, rng):
        h, w = image.shape[:2]
        out = image.copy()
        for _ in range(int(rng.integers(1, self.max_holes + 1))):
            hh = int(rng.integers(1, max(1, round(h * self.max_fraction)) + 1))
            ww = int(rng.integers(1, max(1, round(w * self.max_fraction)) + 1))
            y, x = int(rng.integers(0, h - hh + 1)), int(rng.integers(0, w - ww + 1))
            out[y:y + hh, x:x + ww] = self.fill
        return out, landmarks


# --------------------------------------------------------------------------
# Geometric ops: one 2x3 matrix moves pixels and landmarks alike.
# --------------------------------------------------------------------------


def _about_center(linear: np.ndarray, shape: tuple[int, ...], shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix applying ``linear`` about the image centre, then ``shift``."""
    cx, cy = (shape[1] - 1) / 2, (shape[0] - 1) / 2
    offset = np.array([cx + shift[0], cy + shift[1]]) - linear @ np.array([cx, cy])
    return np.hstack([linear, offset[:, None]])


def _hflip_matrix(shape: tuple[int, ...]) -> np.ndarray:
    return np.array([[-1.0, 0.0, shape[1] - 1.0], [0.0, 1.0, 0.0]])


def _then(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of ``first`` followed by ``second``."""
    return second[:, :2] @ first + np.hstack([np.zeros((2, 2)), second[:, 2:]])


def warp(image: np.ndarray, landmarks: np.ndarray | None, matrix: np.ndarray, flipped: bool,
         border: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply a 2x3 matrix (source -> destination) to the pixels (bilinear)
    and the landmarks; ``flipped`` re-indexes a 68-point layout."""
    out = cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=border, borderValue=0)
    if landmarks is None:
        return out, None
    pts = np.asarray(landmarks, dtype=np.float64)
    moved = pts @ matrix[:, :2].T + matrix[:, 2]
    if flipped and len(moved) == len(MIRROR_68):
        moved = moved[MIRROR_68]
    return out, moved.astype(np.float32)


@dataclass(frozen=True)
class KerasAffine:
    """Seed 1's geometry in one warp: rotation in [-rotation, rotation]
    degrees, shear in [-shear, shear] rad (Keras' shear matrix), shifts up to
    ``shift`` of the width/height, about the image centre; then a horizontal
    flip with probability ``flip_p``. Edges repeat the border pixels (Keras'
    fill_mode='nearest')."""

    rotation: float = 5.0
    shift: float = 0.10
    shear: float = 0.01
    flip_p: float = 0.5
    name: str = "affine"

    def __call__(self, image, landmarks, rng):
        theta = math.radians(rng.uniform(-self.rotation, self.rotation))
        shear = rng.uniform(-self.shear, self.shear)
        tx = rng.uniform(-self.shift, self.shift) * image.shape[1]
        ty = rng.uniform(-self.shift, self.shift) * image.shape[0]
        flip = rng.random() < self.flip_p
        rotate = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        shear_m = np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]])
        matrix = _about_center(rotate @ shear_m, image.shape, (tx, ty))
        if flip:
            matrix = _then(_hflip_matrix(image.shape), matrix)
        return warp(image, landmarks, matrix, flip, cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class SmallAffine:
    """Seed 4's "small random affine (rotation, flipping)": rotation in
    [-max_degrees, max_degrees] about the centre, then a horizontal flip
    with probability ``flip_p``; black outside the image."""

    max_degrees: float = 10.0
    flip_p: float = 0.5
    name: str = "affine"

    def __call__(self, image, landmarks, rng):
        theta = math.radians(rng.uniform(-self.max_degrees, self.max_degrees))
        flip = rng.random() < self.flip_p
        rotate = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        matrix = _about_center(rotate, image.shape)
        if flip:
            matrix = _then(_hflip_matrix(image.shape), matrix)
        return warp(image, landmarks, matrix, flip, cv2.BORDER_CONSTANT)


# --------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """Apply ``op`` with probability ``p``."""

    op: Op
    p: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise InputError(f"augmentation step {self.op.name}: p must be in [0, 1], got {self.p}")


@dataclass(frozen=True)
class OneOf:
    """Apply exactly one of ``ops``, chosen uniformly."""

    ops: tuple[Op, ...]


@dataclass(frozen=True)
class Augmented:
    image: np.ndarray
    landmarks: np.ndarray | None
    applied: tuple[str, ...]  # names of the ops that ran, in order


@dataclass(frozen=True)
class Policy:
    """A named sequence of steps; calling it draws everything from ``rng``."""

    name: str
    steps: tuple[Step | OneOf, ...] = field(default_factory=tuple)

    def __call__(self, image: np.ndarray, rng: np.random.Generator,
                 landmarks: np.ndarray | None = None) -> Augmented:
        _check_input(image, landmarks)
        applied = []
        for step in self.steps:
            if isinstance(step, OneOf):
                op = step.ops[int(rng.integers(len(step.ops)))]
            elif rng.random() < step.p:
                op = step.op
            else:
                continue
            image, landmarks = op(image, landmarks, rng)
            applied.append(op.name)
        return Augmented(image, landmarks, tuple(applied))


def _check_input(image: np.ndarray, landmarks: np.ndarray | None) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or not (
            image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"augment image: expected uint8 (H, W) or (H, W, 3), got {got}")
    if landmarks is not None:
        shape = np.shape(landmarks)
        if len(shape) != 2 or shape[1] != 2:
            raise InputError(f"augment landmarks: expected shape (N, 2), got {shape}")


ACTING_MIRROR_NOISE_SIGMA = 0.07 * 255

ocular_policy = Policy("ocular", (
    Step(HlsBrightness(0.5, 1.5)),
    Step(KerasAffine(rotation=5.0, shift=0.10, shear=0.01, flip_p=0.5)),
))

acting_mirror_policy = Policy("acting_mirror", (
    OneOf((
        Identity(),
        GaussianNoise(ACTING_MIRROR_NOISE_SIGMA, ACTING_MIRROR_NOISE_SIGMA),
        Multiply(0.25, 1.5),
        SaltAndPepper(0.03),
        GaussianBlur(0.5, 0.5),
        Clouds(),
    )),
))

smile_policy = Policy("smile", (
    Step(Occlusion(), 0.2),
    Step(SmallAffine(max_degrees=10.0, flip_p=0.5), 0.2),
    # albumentations GaussianBlur's default kernel 3..7, i.e. sigma 0.8..1.4 by OpenCV's rule
    Step(GaussianBlur(0.8, 1.4), 0.2),
    # albumentations GaussNoise's default variance 10..50 grey levels^2, per channel
    Step(GaussianNoise(math.sqrt(10.0), math.sqrt(50.0), per_channel=True), 0.2),
    Step(Emboss(), 0.2),
    Step(MotionBlur(5, name="weak_motion_blur"), 0.85),
    Step(MotionBlur(40, name="strong_motion_blur"), 0.10),
))

POLICIES: dict[str, Policy] = {p.name: p for p in (ocular_policy, acting_mirror_policy, smile_policy)}


def augment(image: np.ndarray, policy: Policy | str, seed: int | np.random.Generator,
            landmarks: np.ndarray | None = None) -> Augmented:
    """One augmented sample; ``seed`` is an int or a Generator to draw from."""
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise InputError(f"augmentation policy: expected one of {sorted(POLICIES)}, got {policy!r}")
        policy = POLICIES[policy]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return policy(image, rng, landmarks)


__all__ = [
    "Augmented", "Clouds", "Emboss", "GaussianBlur", "GaussianNoise", "HlsBrightness", "Identity",
    "KerasAffine", "MIRROR_68", "MotionBlur", "Multiply", "Occlusion", "OneOf", "POLICIES", "Policy",
    "SaltAndPepper", "SmallAffine", "Step", "acting_mirror_policy", "augment", "ocular_policy",
    "smile_policy", "warp",
]
