import dataclasses
import shutil

import numpy as np
import pytest

from edge_affect.app.backends import BACKENDS, bundle_dir, cache_root, ensure_bundle, load_backend
from edge_affect.bundle_cache import stale_reason
from edge_affect.bundle import load_bundle
from edge_affect.errors import InputError, ModelNotFoundError
from edge_affect.goldens import golden_crops, model_inputs
from edge_affect.models import create_model, get_spec
from edge_affect.models.runner import eager_runner
from edge_affect.runtime.postprocess import postprocess, top1

MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="module")
def inputs():
    spec = get_spec(MODEL).input
    crops, _ = golden_crops(spec)
    return model_inputs(crops[:8], spec)


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGE_AFFECT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "edge-affect"
    monkeypatch.setenv("EDGE_AFFECT_CACHE", str(tmp_path / "mine"))
    assert bundle_dir(MODEL, "executorch", "int8") == tmp_path / "mine" / "bundles" / MODEL / "executorch-int8"


def test_torch_backend_is_the_eager_model_post_processed(torch_backend, inputs):
    expected = postprocess(eager_runner(create_model(MODEL))(inputs), get_spec(MODEL).output)
    np.testing.assert_allclose(torch_backend.infer(inputs), expected, atol=1e-7)
    assert torch_backend.infer(inputs[:0]).shape == (0, 7)


@pytest.mark.parametrize("name, precision", [("executorch", "int8"), ("executorch", "fp32"), ("onnx", "fp32")])
def test_bundle_backends_run_the_cached_artifact(bundle_cache, torch_backend, inputs, name, precision):
    backend = load_backend(name, MODEL, precision if name == "executorch" else None, cache=bundle_cache)
    assert backend.precision == precision and backend.bundle == bundle_dir(MODEL, name, precision, bundle_cache)
    probs = backend.infer(inputs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    reference = torch_backend.infer(inputs)
    if precision == "fp32":
        np.testing.assert_allclose(probs, reference, atol=1e-5)
    else:
        assert backend.spec.input.quant is not None  # the int8 bundle's spec carries the input quantization
        assert np.mean(top1(probs) == top1(reference)) >= 0.75 and np.abs(probs - reference).max() < 0.2


@pytest.mark.slow  # builds the Apollo3 bundle and its host library once per session
def test_c_backend_outputs_probabilities_close_to_torch(c_backend, torch_backend, inputs):
    assert c_backend.outputs_post_processed and c_backend.precision == "int8"
    probs = c_backend.infer(inputs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=7 / 256)  # 7 int8 probabilities in steps of 1/256
    assert np.mean(top1(probs) == top1(torch_backend.infer(inputs))) >= 0.75


@pytest.mark.slow
def test_a_tampered_cached_bundle_is_rebuilt_not_run(bundles_dir, tmp_path):
    path = bundle_dir(MODEL, "onnx", "fp32", tmp_path)
    shutil.copytree(bundles_dir / "onnx-fp32", path)
    artifact = path / "model.onnx"
    data = bytearray(artifact.read_bytes())
    data[-10] ^= 0xFF
    artifact.write_bytes(bytes(data))
    messages = []
    bundle = ensure_bundle(MODEL, "onnx", "fp32", tmp_path, progress=messages.append)
    assert "sha256" in messages[0] and "building the onnx fp32 bundle" in messages[0]
    assert load_bundle(bundle.root).manifest["files"]["model.onnx"] != "tampered"  # verifies again
    messages.clear()
    ensure_bundle(MODEL, "onnx", "fp32", tmp_path, progress=messages.append)
    assert messages == []  # now a cache hit


def test_stale_bundles_are_detected(bundles_dir):
    bundle = load_bundle(bundles_dir / "onnx-fp32")
    assert stale_reason(bundle, MODEL) is None
    other_weights = dict(bundle.manifest, weights={**bundle.manifest["weights"], "sha256": "0" * 64})
    assert "weights changed" in stale_reason(dataclasses.replace(bundle, manifest=other_weights), MODEL)
    other_spec = dataclasses.replace(bundle.spec, output=dataclasses.replace(bundle.spec.output, smooth_alpha=0.9))
    assert "spec changed" in stale_reason(dataclasses.replace(bundle, spec=other_spec), MODEL)


def test_bad_requests_are_clear_errors(bundle_cache):
    assert BACKENDS == ("torch", "executorch", "onnx", "c")
    with pytest.raises(InputError, match="backend 'tflite' is unknown"):
        load_backend("tflite", MODEL)
    with pytest.raises(InputError, match="builds precisions"):
        load_backend("onnx", MODEL, "int8", cache=bundle_cache)
    with pytest.raises(InputError, match="eager fp32"):
        load_backend("torch", MODEL, "int8")
    with pytest.raises(ModelNotFoundError):
        load_backend("torch", "no_such_model")
