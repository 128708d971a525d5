"""A small AffectNet-format dataset: synthetic faces, plus one row whose
image is missing and one whose landmarks give a slot taller than wide, so
every run has rejects to account for."""

import numpy as np
import pytest

from edge_affect.data import landmarks as lm
from edge_affect.data.synthetic import iter_faces
from edge_affect.prep.synthetic_affectnet import affectnet_row, write_affectnet_csv, write_synthetic_affectnet

N_FACES = 22
MISSING_IMAGE_ROW = 5  # 0-based record index of the row whose image does not exist
NARROW_ROW = 13  # ... of the row whose eye slot is taller than wide


def narrowed(landmarks: np.ndarray) -> np.ndarray:
    """Squeeze the points towards the nose horizontally: the slot turns taller than wide."""
    out = landmarks.copy()
    centre = landmarks[lm.NOSE_TIP, 0]
    out[:, 0] = centre + (landmarks[:, 0] - centre) * 0.1
    return out


@pytest.fixture(scope="session")
def affectnet_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("affectnet")
    csv = write_synthetic_affectnet(root, N_FACES, seed=3, size=(128, 128))
    rows = [line.split(",") for line in csv.read_text().splitlines()[1:]]
    face = next(iter_faces(1, seed=3, size=(128, 128), color="rgb"))
    rows.insert(MISSING_IMAGE_ROW, affectnet_row("000/missing.jpg", face.box, face.landmarks, 1, 0.5, 0.1))
    rows.insert(NARROW_ROW, affectnet_row(rows[0][0], face.box, narrowed(face.landmarks), 2, -0.5, 0.2))
    write_affectnet_csv(root, rows)
    return root


@pytest.fixture(scope="session")
def affectnet_data(affectnet_dir) -> str:
    return f"affectnet:{affectnet_dir}"


@pytest.fixture(scope="session")
def rejected_rows() -> dict[str, int]:
    """Stage -> index of the record the fixture dataset plants to be rejected there."""
    return {"decode": MISSING_IMAGE_ROW, "crop": NARROW_ROW}
