"""Frame sources for the app: an image file, a video file or a camera.

Every source yields ``Frame``s (BGR uint8, as OpenCV decodes them) with a
frame index and a time in seconds: the file's timestamps for a video (index /
fps), wall-clock time since opening for a camera, 0 for an image. A source
that cannot be read fails when it is opened, with an ``InputError`` that
names the file or camera, never on the first frame of the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from edge_affect.data.records import DatasetError, decode_image
from edge_affect.errors import InputError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"})
# Used when a container does not state its frame rate (some webcams, some .avi writers).
FALLBACK_FPS = 30.0
CAMERA_SIZE = (640, 480)


@dataclass(frozen=True)
class Frame:
    index: int
    time: float  # seconds from the start of the source
    image: np.ndarray  # (H, W, 3) uint8, BGR


class FrameSource:
    """Iterate to get frames; use as a context manager (or call close())."""

    kind: str  # "image" | "video" | "camera"
    name: str
    fps: float

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ImageSource(FrameSource):
    kind = "image"
    fps = 0.0

    def __init__(self, path: Path):
        self.name = str(path)
        try:  # decode_image caps a PNG's declared size before OpenCV allocates it
            image = decode_image(Path(path))
        except DatasetError as exc:
            raise InputError(f"{path}: cannot decode the image (corrupt, too large, or a format OpenCV "
                             f"cannot read: {str(exc).removeprefix(f'{path}: ')})") from None
        self.image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(0, 0.0, self.image)


class CaptureSource(FrameSource):
    """A video file or a camera, through cv2.VideoCapture."""

    def __init__(self, capture: cv2.VideoCapture, kind: str, name: str):
        self.capture, self.kind, self.name = capture, kind, name
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else FALLBACK_FPS
        ok, first = capture.read()
        if not ok or first is None:
            capture.release()
            what = "no frame could be read (empty, corrupt, or a codec OpenCV lacks)" if kind == "video" \
                else "opened but delivered no frame"
            raise InputError(f"{name}: {what}")
        self._first: np.ndarray | None = first

    def __iter__(self) -> Iterator[Frame]:
        start = time.perf_counter()
        index = 0
        while True:
            if self._first is not None:
                image, self._first = self._first, None
            else:
                ok, image = self.capture.read()
                if not ok or image is None:
                    return
            t = index / self.fps if self.kind == "video" else time.perf_counter() - start
            yield Frame(index, t, image)
            index += 1

    def close(self) -> None:
        self.capture.release()


def open_source(path: str | Path | None = None, camera: int | None = None) -> FrameSource:
    """An image or video file (`path`), or camera number `camera` (exactly one of them)."""
    if (path is None) == (camera is None):
        raise InputError("give an input file or a camera index (--camera N), not both or neither")
    if camera is not None:
        return open_camera(camera)
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an image or video file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path}: cannot open as a video (unknown container or codec) or as an image "
                         f"(image suffixes: {', '.join(sorted(IMAGE_SUFFIXES))})")
    return CaptureSource(capture, "video", str(path))


def open_camera(index: int) -> FrameSource:
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputError(f"camera: expected an index >= 0, got {index!r}")
    # OpenCV logs a warning per backend it tries for a missing camera; the error below says it once.
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        capture = cv2.VideoCapture(index)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if not capture.isOpened():
        capture.release()
        raise InputError(f"camera {index}: cannot be opened (no camera at this index, it is in use, "
                         f"or no permission to use it)")
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, CAMERA_SIZE[0])
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, CAMERA_SIZE[1])
    return CaptureSource(capture, "camera", f"camera {index}")
