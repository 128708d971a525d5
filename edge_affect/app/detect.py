"""Offline face detection: face boxes (largest first) and, for the models that
need them, 68 landmarks.

The default detector is OpenCV's frontal-face Haar cascade, which ships in
the opencv-python wheel (nothing to download). It runs on a copy of the frame
downscaled to ``detect_width`` pixels: the cascade's cost grows with the
number of pixels and scales it scans, and at 640x480 it alone would take most
of a 30 FPS frame budget on one core. The price is a smallest detectable face
of 24 px (the cascade window) at the detection scale, i.e. 48 px at 640x480
with the default width 320. ``detect_width=None`` detects at full resolution.
``detect_near`` re-finds a known face in a small window around its last box,
at sizes close to its own: the cheap step of tracking between full-frame
detections (see ``edge_affect.app.pipeline``).

Landmarks come from dlib's 68-point shape predictor, an optional extra: dlib
is not installed by default and the usual predictor file (trained on iBUG
300-W) excludes commercial use. A model whose spec needs landmarks fails with
a message naming the extra when they are not available.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge_affect.errors import EdgeAffectError, InputError

Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"
DEFAULT_DETECT_WIDTH = 320
# detect_near(): the window is the box grown by this fraction of its side on every side,
# and the face may have grown or shrunk by up to this ratio.
NEAR_WINDOW_GROWTH = 0.3
NEAR_SIZE_RATIO = 1.25
LANDMARKS_EXTRA_HINT = ("68 landmarks need the optional dlib extra: pip install dlib-bin, plus a 68-point shape "
                        "predictor file (e.g. shape_predictor_68_face_landmarks.dat; its iBUG 300-W training "
                        "data excludes commercial use) passed with --landmarks PATH")


def default_cascade_path() -> Path:
    return Path(cv2.data.haarcascades) / DEFAULT_CASCADE


def largest_first(boxes) -> list[Box]:
    """Boxes as int tuples, by area descending (ties: top-left first, so the order is deterministic)."""
    boxes = [tuple(int(v) for v in b) for b in boxes]
    return sorted(boxes, key=lambda b: (-b[2] * b[3], b[1], b[0]))


class HaarFaceDetector:
    """Frontal faces with an OpenCV cascade (Haar or LBP XML)."""

    def __init__(self, cascade: str | Path | None = None, detect_width: int | None = DEFAULT_DETECT_WIDTH,
                 scale_factor: float = 1.1, min_neighbors: int = 5, min_face: int = 0):
        path = Path(cascade) if cascade is not None else default_cascade_path()
        if not path.is_file():
            raise InputError(f"{path}: face detector cascade not found")
        try:
            self.classifier = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # some malformed XML raises instead of loading empty
            self.classifier = None
        if self.classifier is None or self.classifier.empty():
            raise InputError(f"{path}: not an OpenCV cascade classifier XML")
        if detect_width is not None and detect_width < 32:
            raise InputError(f"detect_width: expected >= 32 pixels or None (full resolution), got {detect_width}")
        self.detect_width = detect_width
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face  # smallest face to report, in frame pixels (0: the cascade's limit)

    def scale_for(self, width: int) -> float:
        """Detection scale for a frame `width` pixels wide."""
        return self.detect_width / width if self.detect_width is not None and width > self.detect_width else 1.0

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Faces in a uint8 gray frame, largest first, in frame coordinates."""
        _check_gray(gray)
        scale = self.scale_for(gray.shape[1])
        min_size = max(1, round(self.min_face * scale))
        boxes = self._detect(gray, scale, (min_size, min_size), (0, 0))
        return largest_first(boxes)

    def detect_near(self, gray: np.ndarray, box: Box) -> Box | None:
        """The face that moved from `box`: detection in a window around it, at sizes
        near its own (so far cheaper than a frame); None if the face is not found."""
        _check_gray(gray)
        x, y, w, h = box
        pad = round(max(w, h) * NEAR_WINDOW_GROWTH)
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(gray.shape[1], x + w + pad), min(gray.shape[0], y + h + pad)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        scale = self.scale_for(gray.shape[1])
        side = max(w, h) * scale
        low, high = round(side / NEAR_SIZE_RATIO), round(side * NEAR_SIZE_RATIO) + 1
        found = self._detect(gray[y0:y1, x0:x1], scale, (low, low), (high, high))
        if not found:
            return None
        cx, cy = x + w / 2 - x0, y + h / 2 - y0
        bx, by, bw, bh = min(found, key=lambda b: (b[0] + b[2] / 2 - cx) ** 2 + (b[1] + b[3] / 2 - cy) ** 2)
        return bx + x0, by + y0, bw, bh

    def _detect(self, gray: np.ndarray, scale: float, min_size: tuple[int, int],
                max_size: tuple[int, int]) -> list[Box]:
        small = gray
        if scale != 1.0:
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        found = self.classifier.detectMultiScale(small, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=min_size,
                                                 maxSize=max_size)
        return [tuple(round(v / scale) for v in box) for box in np.asarray(found).reshape(-1, 4)]


def _check_gray(gray: np.ndarray) -> None:
    if not isinstance(gray, np.ndarray) or gray.dtype != np.uint8 or gray.ndim != 2:
        got = f"{gray.dtype} {gray.shape}" if isinstance(gray, np.ndarray) else type(gray).__name__
        raise InputError(f"detector: expected a uint8 gray frame (H, W), got {got}")


class DlibLandmarks:
    """68 landmarks per face box with dlib's shape predictor (optional extra)."""

    def __init__(self, predictor_path: str | Path):
        try:
            import dlib
        except ImportError:
            raise EdgeAffectError(f"dlib is not installed: {LANDMARKS_EXTRA_HINT}") from None
        path = Path(predictor_path)
        if not path.is_file():
            raise InputError(f"{path}: shape predictor file not found ({LANDMARKS_EXTRA_HINT})")
        try:
            self.predictor = dlib.shape_predictor(str(path))
        except RuntimeError as exc:
            raise InputError(f"{path}: not a dlib shape predictor ({exc})") from None
        self._rectangle = dlib.rectangle

    def __call__(self, gray: np.ndarray, box: Box) -> np.ndarray:
        x, y, w, h = box
        shape = self.predictor(gray, self._rectangle(int(x), int(y), int(x + w - 1), int(y + h - 1)))
        if shape.num_parts != 68:
            raise InputError(f"shape predictor returned {shape.num_parts} points, expected 68")
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def landmarks_provider(predictor_path: str | Path | None, source: str = "landmarks68") -> DlibLandmarks:
    """The landmark provider for a model whose spec.input.source (`source`) needs landmarks."""
    if predictor_path is None:
        raise EdgeAffectError(f"this model's input.source {source!r} needs 68 landmarks per face: "
                              f"{LANDMARKS_EXTRA_HINT}")
    return DlibLandmarks(predictor_path)
