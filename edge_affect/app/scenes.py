"""Test scenes: frames with known faces, for the pipeline benchmark, tests and README samples.

Faces are real photographs where possible (``edge_affect.data.samples``: the
astronaut portrait and LFW crops upscaled, as a webcam would frame a face at
arm's length) or synthetic faces, pasted onto a smooth background that holds
no face-like texture. Each face drifts slowly on a small circle, so tracking
and smoothing see motion. Everything is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from edge_affect.app.detect import Box
from edge_affect.errors import InputError

FRAME_SIZE = (640, 480)  # width, height
# Photo kept around a face box: enough forehead, chin and cheeks that a
# cascade sees a whole head, as in a webcam frame.
FACE_CONTEXT = 0.45


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # (H, W, 3) uint8 BGR
    face: Box  # the face inside the image


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def _scaled(sprite: Sprite, face_width: int) -> Sprite:
    scale = face_width / sprite.face[2]
    h, w = sprite.image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.resize(sprite.image, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    return Sprite(image, tuple(int(round(v * scale)) for v in sprite.face))


def make_sprite(image: np.ndarray, box: Box, face_width: int, context: float = FACE_CONTEXT) -> Sprite:
    """A sprite from a gray or RGB image and its face box: the face grown by `context`
    (within the image) on every side, scaled so the face is `face_width` px wide."""
    return _scaled(_with_context(image, box, context), face_width)


def real_face_sprites(face_width: int = 110, count: int = 6) -> list[Sprite]:
    """The astronaut first, then LFW faces upscaled, each with a face `face_width` px wide."""
    from edge_affect.data.samples import real_face_images

    faces = real_face_images("rgb")
    sprites = [make_sprite(*faces[-2], face_width)]  # the astronaut
    # LFW crops are the face alone; evenly spaced picks give a mix of people.
    for image, box in faces[:-2][:: max(1, 100 // max(1, count - 1))][: count - 1]:
        sprites.append(make_sprite(image, box, face_width))
    return sprites[:count]


def synthetic_face_sprites(count: int, seed: int = 0, face_width: int = 110) -> list[Sprite]:
    from edge_affect.data.synthetic import generate

    return [make_sprite(face.image, tuple(int(v) for v in face.box), face_width)
            for face in generate(count, seed, size=(160, 160), color="rgb")]


def _with_context(image: np.ndarray, box: Box, context: float = FACE_CONTEXT) -> Sprite:
    """The face box of `image` grown by `context` of its size on every side (within the image)."""
    x, y, w, h = box
    mx, my = round(w * context), round(h * context)
    x0, y0 = max(0, x - mx), max(0, y - my)
    region = image[y0:y + h + my, x0:x + w + mx]
    return Sprite(_bgr(region), (x - x0, y - y0, w, h))


def background(size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A smooth two-tone gradient: nothing a face detector could fire on."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 90 + 60 * (ys / height) + 25 * np.sin(xs / width * math.pi)
    frame = np.stack([base + 20, base, base - 15], axis=-1)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _paste(frame: np.ndarray, sprite: Sprite, x: int, y: int) -> Box:
    """Paste with clipping at the frame edges; returns the face box in frame coordinates."""
    h, w = sprite.image.shape[:2]
    fx0, fy0 = max(x, 0), max(y, 0)
    fx1, fy1 = min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = sprite.image[fy0 - y:fy1 - y, fx0 - x:fx1 - x]
    bx, by, bw, bh = sprite.face
    return x + bx, y + by, bw, bh


def render_scene(sprites: list[Sprite], frames: int, size: tuple[int, int] = FRAME_SIZE, drift: float = 10.0,
                 period: int = 90) -> Iterator[tuple[np.ndarray, list[Box]]]:
    """`frames` BGR frames with the sprites on a grid, each drifting on a circle of radius
    `drift` px (`period` frames a turn); yields (frame, face boxes in sprite order)."""
    width, height = size
    cols = max(1, math.ceil(math.sqrt(len(sprites) * width / height)))
    rows = max(1, math.ceil(len(sprites) / cols))
    cell_w, cell_h = width / cols, height / rows
    for sprite in sprites:
        h, w = sprite.image.shape[:2]
        if w + 2 * drift > cell_w or h + 2 * drift > cell_h:
            raise InputError(f"scene: {len(sprites)} faces of {w}x{h} px do not fit a {width}x{height} frame")
    back = background(size)
    for t in range(frames):
        frame = back.copy()
        boxes = []
        for i, sprite in enumerate(sprites):
            h, w = sprite.image.shape[:2]
            angle = 2 * math.pi * (t / period + i / max(1, len(sprites)))
            cx = (i % cols + 0.5) * cell_w + drift * math.cos(angle)
            cy = (i // cols + 0.5) * cell_h + drift * math.sin(angle)
            boxes.append(_paste(frame, sprite, round(cx - w / 2), round(cy - h / 2)))
        yield frame, boxes


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """Frames -> a video file (MJPG in .avi: the codec every OpenCV build can write and read)."""
    path = Path(path)
    codec = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
    if codec is None:
        raise InputError(f"{path}: write .avi (MJPG) or .mp4 (mp4v)")
    writer = None
    try:
        for frame in frames:
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps,
                                         (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise InputError(f"{path}: OpenCV cannot write {codec} video here")
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise InputError(f"{path}: no frames to write")
    return path
