"""A synthetic dataset in AffectNet's published layout, for the prep tests
and benchmark: the generator's faces as JPEG files under
``Manually_Annotated_Images/`` and ``Manually_Annotated_file_lists/
training.csv`` with their boxes, 68 landmarks and labels, so that
``load_dataset("affectnet:ROOT")`` reads it like the real thing.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from edge_affect.data.loaders.affectnet import AFFECTNET_COLUMNS, AFFECTNET_TO_FER2013, IMAGES_DIR
from edge_affect.data.synthetic import iter_faces
from edge_affect.errors import InputError

FER2013_TO_AFFECTNET = {fer: code for code, fer in AFFECTNET_TO_FER2013.items() if fer is not None}
FILES_PER_FOLDER = 500  # AffectNet spreads its images over numbered folders too


def affectnet_row(image: str, box: tuple[int, int, int, int], landmarks, expression_code: int,
                  valence: float, arousal: float) -> list[str]:
    """One CSV row in AffectNet's column order."""
    points = ";".join(f"{v:.3f}" for v in landmarks.ravel())
    return [image, *(str(int(v)) for v in box), points, str(expression_code), f"{valence:.6f}", f"{arousal:.6f}"]


def write_affectnet_csv(root: Path, rows: list[list[str]], split: str = "training") -> Path:
    lists = Path(root) / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    path = lists / f"{split}.csv"
    path.write_text("\n".join([",".join(AFFECTNET_COLUMNS)] + [",".join(r) for r in rows]) + "\n")
    return path


def write_synthetic_affectnet(root: str | Path, n: int, seed: int = 0, size: tuple[int, int] = (256, 256),
                              jpeg_quality: int = 95) -> Path:
    """Render ``n`` RGB faces into an AffectNet-layout tree at ``root``; returns the CSV path."""
    if n < 1:
        raise InputError(f"synthetic AffectNet: n must be >= 1, got {n}")
    root = Path(root)
    rows = []
    for i, face in enumerate(iter_faces(n, seed, size=size, color="rgb")):
        relative = f"{i // FILES_PER_FOLDER:03d}/face_{i:07d}.jpg"
        path = root / IMAGES_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:  # pragma: no cover - OpenCV encodes every uint8 BGR image
            raise RuntimeError(f"cv2.imencode failed for face {i}")
        path.write_bytes(data.tobytes())
        labels = face.labels
        rows.append(affectnet_row(relative, face.box, face.landmarks, FER2013_TO_AFFECTNET[labels["expression"]],
                                  labels["valence"], labels["arousal"]))
    return write_affectnet_csv(root, rows)


__all__ = ["affectnet_row", "write_affectnet_csv", "write_synthetic_affectnet"]
