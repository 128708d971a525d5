"""Every edge-sized model converts and passes parity on each target whose runtime runs its ops.

What converts where (ops each runtime runs):
  smile_tiny        onnx fp32, executorch fp32, apollo3 int8 (tested here)
  smile_baseline    onnx fp32, executorch fp32 (apollo3: ~4.7 M int8 weights, far beyond its flash)
  deep_emotion      onnx fp32 (GridSample, opset 16+), executorch fp32 (grid_sample runs as a portable
                    kernel, outside XNNPACK); apollo3: no grid_sample in the int8 runtime
  ocular_va_mobile  onnx fp32, executorch fp32; apollo3 int8 converts and is bit-exact too, but its
                    QEMU run takes over a minute, so it is not repeated in CI
  face_va_mobile    onnx fp32, executorch fp32; apollo3 likewise (about three minutes)
The full-size ocular_va_m1/m2 and face_va_resnet are training-side reproductions, not device models.
"""

import pytest

from edge_affect.converters import get_converter
from edge_affect.converters.build import build_bundle
from edge_affect.parity import check_bundle

EDGE_MODELS = ("smile_tiny", "smile_baseline", "deep_emotion", "ocular_va_mobile", "face_va_mobile")
BUILDS = [(m, t, "fp32") for m in EDGE_MODELS for t in ("onnx", "executorch")] + [("smile_tiny", "apollo3", "int8")]


@pytest.mark.slow
@pytest.mark.parametrize("model, target, precision", BUILDS, ids=[f"{m}-{t}-{p}" for m, t, p in BUILDS])
def test_edge_model_converts_and_matches_torch(model, target, precision, tmp_path):
    runnable, reason = get_converter(target).can_execute()
    if not runnable:
        pytest.skip(f"{target} runtime cannot run here: {reason}")
    bundle = build_bundle(model, target, precision, tmp_path / f"{model}-{target}-{precision}")
    report = check_bundle(bundle)
    assert report.passed, report.failures
    assert report.numeric == "ran" and report.n_inputs > 0
    if precision == "fp32":
        # Raw outputs, before the spec's clamp/softmax, so saturation cannot hide a difference.
        assert report.max_abs_diff_raw <= 1e-4
    else:
        assert report.bit_exact
