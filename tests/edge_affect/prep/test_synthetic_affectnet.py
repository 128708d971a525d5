import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.synthetic import generate
from edge_affect.errors import InputError
from edge_affect.prep.synthetic_affectnet import write_synthetic_affectnet


def test_loads_as_affectnet_with_the_generator_labels(tmp_path):
    write_synthetic_affectnet(tmp_path, 9, seed=4, size=(96, 96))
    data = load_dataset(f"affectnet[training]:{tmp_path}")
    faces = generate(9, 4, size=(96, 96), color="rgb")
    assert len(data) == 9 and not data.dropped
    for i, (record, face) in enumerate(zip(data, faces)):
        assert record.labels.expression == face.labels["expression"]
        assert record.labels.valence == pytest.approx(face.labels["valence"], abs=1e-6)
        assert record.box == face.box
        np.testing.assert_allclose(record.landmarks, face.landmarks, atol=1e-3)
        image = record.image()
        assert image.shape == (96, 96, 3)
        own = np.abs(image.astype(int) - face.image).mean()
        other = np.abs(image.astype(int) - faces[(i + 1) % 9].image).mean()
        assert own < other / 3  # the same face, through JPEG (noise and sharp edges cost a few levels)


def test_needs_at_least_one_face(tmp_path):
    with pytest.raises(InputError, match="n must be >= 1"):
        write_synthetic_affectnet(tmp_path, 0)
