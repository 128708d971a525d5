"""Face images available offline, as (image, face box) pairs.

Golden vectors and int8 calibration need real faces (random-input parity has
hidden device bugs before), and nothing may be downloaded, so this module
serves the real faces that scikit-image ships inside its wheel:

* ``skimage.data.lfw_subset()``: 100 face crops (25x25 gray) from Labeled
  Faces in the Wild (Huang et al., University of Massachusetts Amherst),
  a public research benchmark of news photographs; the subset's last 100
  images are non-faces and are not used here. The whole image is the box.
* ``skimage.data.astronaut()``: NASA portrait of Eileen Collins (512x512
  RGB), public domain. Face box ASTRONAUT_FACE_BOX.
* ``skimage.data.camera()``: the "cameraman" photo by Lav Varshney (512x512
  gray), CC0. A three-quarter profile; face box CAMERA_FACE_BOX.

The two hand-set boxes were drawn on the images, saved as PNG and checked
by eye: forehead to chin, cheek to cheek (astronaut) and ear to nose tip
(cameraman), the way a face detector frames a face.

scikit-image is a test/tooling dependency, imported only when called.
``synthetic_face_images`` returns synthetic faces in the same form, so a
calibration or golden set can mix both without special cases.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from edge_affect.data.synthetic import generate
from edge_affect.errors import EdgeAffectError, InputError

Color = Literal["gray", "rgb"]
Box = tuple[int, int, int, int]  # x, y, w, h in pixels
FaceImage = tuple[np.ndarray, Box]

LFW_FACE_COUNT = 100  # lfw_subset() holds 100 faces followed by 100 non-faces
ASTRONAUT_FACE_BOX: Box = (172, 60, 106, 118)
CAMERA_FACE_BOX: Box = (180, 105, 76, 92)


def _check_color(color: str) -> None:
    if color not in ("gray", "rgb"):
        raise InputError(f"color: expected 'gray' or 'rgb', got {color!r}")


def _to_color(image: np.ndarray, color: Color) -> np.ndarray:
    """uint8 gray (H, W) or RGB (H, W, 3) -> the requested colour.

    RGB to gray uses OpenCV's BT.601 weights; gray to RGB repeats the channel.
    """
    if color == "gray":
        return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def _skimage_data():
    try:
        from skimage import data
    except ImportError as exc:
        raise EdgeAffectError("real face samples need scikit-image: pip install scikit-image") from exc
    return data


def _lfw_faces() -> np.ndarray:
    faces = np.asarray(_skimage_data().lfw_subset()[:LFW_FACE_COUNT])
    if faces.dtype != np.uint8:  # shipped as float64 in [0, 1]
        faces = np.clip(np.rint(faces * 255.0), 0, 255).astype(np.uint8)
    return faces


def real_face_images(color: Color = "gray") -> list[FaceImage]:
    """Every real face available offline: 100 LFW crops, then the astronaut
    and the cameraman photos with their face boxes. Images are uint8, (H, W)
    for gray or (H, W, 3) RGB."""
    _check_color(color)
    data = _skimage_data()
    pairs: list[FaceImage] = [
        (_to_color(face, color), (0, 0, face.shape[1], face.shape[0])) for face in _lfw_faces()
    ]
    pairs.append((_to_color(np.asarray(data.astronaut(), dtype=np.uint8), color), ASTRONAUT_FACE_BOX))
    pairs.append((_to_color(np.asarray(data.camera(), dtype=np.uint8), color), CAMERA_FACE_BOX))
    return pairs


def real_face_crops(color: Color = "gray") -> list[np.ndarray]:
    """The face box of each ``real_face_images`` entry, cut out (sizes differ)."""
    return [image[y : y + h, x : x + w] for image, (x, y, w, h) in real_face_images(color)]


def synthetic_face_images(
    n: int, seed: int, color: Color = "gray", size: tuple[int, int] = (128, 128)
) -> list[FaceImage]:
    """``n`` expression-balanced synthetic faces as (image, box) pairs, like
    ``real_face_images``; deterministic in ``seed``."""
    _check_color(color)
    return [(face.image, face.box) for face in generate(n, seed, size=size, color=color)]
