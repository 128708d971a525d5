import sys

import numpy as np
import pytest

from edge_affect.parity import FP32_PROB_TOLERANCE, check_bundle, check_bundles


def test_every_phone_bundle_meets_its_bar(bundles_dir):
    reports = {(r.target, r.precision): r for r in check_bundles(bundles_dir)}
    assert set(reports) >= {("executorch", "fp32"), ("executorch", "int8"), ("onnx", "fp32"), ("coreml", "fp16")}
    for key, r in reports.items():
        assert r.passed, (key, r.failures)
        if r.numeric == "ran":
            assert r.n_inputs >= 116 and r.top1_agreement_decisive >= 0.98
            assert r.n_decisive >= r.n_inputs // 2
            print(f"{key}: top-1 vs fp32 {r.top1_agreement:.3f} on all {r.n_inputs}, "
                  f"{r.top1_agreement_decisive:.3f} on {r.n_decisive} with a resolvable margin")
    for key in [("executorch", "fp32"), ("onnx", "fp32")]:
        assert reports[key].max_abs_diff <= FP32_PROB_TOLERANCE
        assert reports[key].top1_agreement == 1.0 and reports[key].n_decisive == reports[key].n_inputs
    int8 = reports[("executorch", "int8")]
    assert int8.max_abs_diff_raw <= int8.tolerance_raw


def test_core_ml_is_never_a_silent_pass(bundles_dir):
    for r in check_bundles(bundles_dir):
        if r.target != "coreml":
            continue
        assert r.structural and all(c["passed"] for c in r.structural)
        if sys.platform != "darwin":
            assert r.numeric == "skipped: Core ML prediction needs macOS"


def test_user_supplied_real_face_crops(bundles_dir):
    from skimage.data import astronaut, lfw_subset

    faces = (lfw_subset()[:20] * 255).round().astype(np.uint8)
    faces = np.stack([np.kron(f, np.ones((4, 4), np.uint8)) for f in faces])  # 100x100 crops
    gray = astronaut()[40:170, 170:270].mean(axis=2).round().astype(np.uint8)
    assert gray.shape == (130, 100)
    for bundle in ["onnx-fp32", "executorch-int8"]:
        report = check_bundle(bundles_dir / bundle, faces)
        assert report.passed, report.failures
        assert report.n_inputs == 20


def test_wrong_user_inputs_are_rejected(bundles_dir):
    from edge_affect.errors import InputError

    with pytest.raises(InputError, match="uint8"):
        check_bundle(bundles_dir / "onnx-fp32", np.zeros((2, 64, 64), np.float32))


def test_the_fp32_bar_scales_with_the_measured_fp32_drift_of_deep_networks():
    from edge_affect.parity import FP32_PROB_TOLERANCE, fp32_bar

    assert fp32_bar({"tolerance": {"raw_max_abs": 1e-5}}) == FP32_PROB_TOLERANCE  # bundles from before
    assert fp32_bar({"tolerance": {"raw_max_abs": 1e-5,
                                   "fp32_rounding": {"raw_max_abs": 1e-7, "post_max_abs": 1e-7}}}) == 1e-5
    assert fp32_bar({"tolerance": {"raw_max_abs": 1e-5, "fp32_rounding": {"raw_max_abs": 2e-3,
                                                                          "post_max_abs": 1.5e-4}}}) == pytest.approx(6e-4)
