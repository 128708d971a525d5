"""68-point landmarks for records whose annotation has none, with dlib.

dlib is an optional extra (``pip install 'edge-affect[landmarks]'``), not a
dependency: its 68-point shape predictor was trained on iBUG 300-W, whose
licence excludes commercial use, so a user has to opt in and supply the
model file (``shape_predictor_68_face_landmarks.dat``) themselves.

Without dlib, preparation still runs: a record that needs landmarks it does
not have is rejected with a reason naming the extra, and the ``landmarks``
task, which exists only to detect them, refuses to start.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np

from edge_affect.data.landmarks import NUM_LANDMARKS
from edge_affect.errors import EdgeAffectError, InputError

EXTRA = "landmarks"
INSTALL_HINT = (f"install the optional extra '{EXTRA}' (pip install 'edge-affect[{EXTRA}]': dlib-bin and "
                "face-recognition-models, whose 68-point model's licence excludes commercial use)")


class LandmarksUnavailable(EdgeAffectError):
    """dlib is not installed, or no usable shape-predictor model was given."""


class NoFaceFound(InputError):
    """dlib's detector found no face in the image."""


@functools.lru_cache(maxsize=1)
def dlib_available() -> bool:
    try:
        importlib.import_module("dlib")
    except ImportError:
        return False
    return True


def check_landmarker(model_path: str | None) -> None:
    """Raise LandmarksUnavailable (naming what is missing) unless landmarks can be detected."""
    if not dlib_available():
        raise LandmarksUnavailable(f"detecting landmarks needs dlib, which is not importable: {INSTALL_HINT}")
    if model_path is None:
        raise LandmarksUnavailable("detecting landmarks needs dlib's 68-point model: pass --landmark-model "
                                   "PATH (shape_predictor_68_face_landmarks.dat)")
    if not Path(model_path).is_file():
        raise LandmarksUnavailable(f"landmark model {model_path}: no such file")


class DlibLandmarker:
    """dlib's HOG face detector and 68-point shape predictor."""

    def __init__(self, model_path: str):
        check_landmarker(model_path)
        import dlib

        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        try:
            self._predictor = dlib.shape_predictor(str(model_path))
        except RuntimeError as exc:  # dlib's deserializer says only what it failed to read
            raise LandmarksUnavailable(f"{model_path}: not a dlib shape predictor ({exc})") from None

    def __call__(self, image: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """float32 (68, 2) x, y of the face in ``box`` (x, y, w, h), else of the
        largest face the detector finds (upsampling once, for small faces)."""
        image = np.ascontiguousarray(image)
        if box is not None:
            x, y, w, h = box
            rect = self._dlib.rectangle(int(x), int(y), int(x + w - 1), int(y + h - 1))
        else:
            faces = list(self._detector(image, 1))
            if not faces:
                raise NoFaceFound("dlib's face detector found no face")
            rect = max(faces, key=lambda r: r.width() * r.height())
        shape = self._predictor(image, rect)
        if shape.num_parts != NUM_LANDMARKS:
            raise InputError(f"landmark model: expected {NUM_LANDMARKS} points, got {shape.num_parts}")
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(NUM_LANDMARKS)], dtype=np.float32)


# One per process and model file: loading the predictor takes about a second.
_LANDMARKERS: dict[str, DlibLandmarker] = {}


def detect_landmarks(image: np.ndarray, box: tuple[int, int, int, int] | None, model_path: str | None) -> np.ndarray:
    """Landmarks of the face in ``image`` (see DlibLandmarker); raises
    LandmarksUnavailable without dlib or a model, NoFaceFound without a face."""
    check_landmarker(model_path)
    landmarker = _LANDMARKERS.get(model_path)
    if landmarker is None:
        landmarker = _LANDMARKERS[model_path] = DlibLandmarker(model_path)
    return landmarker(image, box)


__all__ = ["EXTRA", "DlibLandmarker", "LandmarksUnavailable", "NoFaceFound", "check_landmarker",
           "detect_landmarks", "dlib_available"]
