"""Core ML converter: export, structural checks on Linux (they must pass on good packages
and fail on tampered ones), and numeric parity against Core ML itself on macOS."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.converters.base import ExportResult
from edge_affect.converters.coreml import (
    ARTIFACT_NAME,
    FP16_RELATIVE_TOLERANCE,
    FP32_RELATIVE_TOLERANCE,
    CoreMLConverter,
    evaluate_mil_program,
    ios16_op_types,
    probe_inputs,
    read_package,
)
from edge_affect.errors import ConversionError, EdgeAffectError
from edge_affect.models.mini_xception import mini_xception
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SPEC = PipelineSpec(
    task="expression",
    input=InputSpec(source="face_box", color="gray", size=(64, 64), resize="bilinear",
                    scale=(2.0 / 255.0,), offset=(-1.0,)),
    output=OutputSpec(kind="logits", post="softmax", labels=LABELS),
)
MODEL_FILE = ("Data", "com.apple.CoreML", "model.mlmodel")
WEIGHT_FILE = ("Data", "com.apple.CoreML", "weights", "weight.bin")
CHECK_NAMES = ["coreml.format", "coreml.interface", "coreml.metadata", "coreml.weights",
               "coreml.opset", "coreml.program_numerics"]


class StandIn(nn.Module):
    """mini-Xception's op mix in miniature, including the explicit -inf pad + max-pool
    (asymmetric 'same' pooling) that the real model only uses for non-square maps."""

    def __init__(self, num_classes: int = 7) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, bias=False)
        self.stem_bn = nn.BatchNorm2d(8, eps=1e-3)
        self.shortcut = nn.Conv2d(8, 16, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(16, eps=1e-3)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pointwise = nn.Conv2d(8, 16, 1, bias=False)
        self.bn = nn.BatchNorm2d(16, eps=1e-3)
        self.classifier = nn.Conv2d(16, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))  # 62x62
        shortcut = self.shortcut_bn(self.shortcut(x))  # 31x31
        y = self.bn(self.pointwise(self.depthwise(x)))
        y = F.max_pool2d(F.pad(y, (0, 1, 0, 1), value=float("-inf")), 3, 2)  # 31x31
        return self.classifier(F.relu(y + shortcut)).mean(dim=(2, 3))


def _randomise_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial running statistics, so BatchNorm folding actually changes the weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.3)
    return model.eval()


def _build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return _randomise_batchnorm(StandIn() if name == "stand_in" else mini_xception(), seed=1)


class Exported:
    def __init__(self, model: nn.Module, precision: str, bundle: Path, result: ExportResult) -> None:
        self.model, self.precision, self.bundle, self.result = model, precision, bundle, result
        self.manifest = {"spec": json.loads(SPEC.to_json()), "output_tolerance": result.output_tolerance}

    def copy(self, tmp_path: Path) -> Path:
        """A private copy of the bundle to tamper with."""
        shutil.copytree(self.bundle / ARTIFACT_NAME, tmp_path / ARTIFACT_NAME)
        return tmp_path


CASES = [("stand_in", "fp16"), ("stand_in", "fp32"), ("mini_xception", "fp16")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{m}-{p}" for m, p in CASES])
def exported(request, tmp_path_factory) -> Exported:
    name, precision = request.param
    model = _build(name)
    bundle = tmp_path_factory.mktemp(f"coreml-{name}-{precision}")
    calibration = probe_inputs(SPEC, count=4)
    result = CoreMLConverter().export(model, SPEC, precision, calibration, bundle)
    return Exported(model, precision, bundle, result)


@pytest.fixture(scope="module")
def stand_in_fp16(tmp_path_factory) -> Exported:
    model = _build("stand_in")
    bundle = tmp_path_factory.mktemp("coreml-tamper")
    result = CoreMLConverter().export(model, SPEC, "fp16", probe_inputs(SPEC, count=2), bundle)
    return Exported(model, "fp16", bundle, result)


def _checks(bundle: Path, exp: Exported) -> dict[str, object]:
    return {c.name: c for c in CoreMLConverter().structural_checks(bundle, exp.manifest, exp.model)}


def _edit_model_proto(bundle: Path, edit) -> None:
    from coremltools.proto import Model_pb2

    path = bundle.joinpath(ARTIFACT_NAME, *MODEL_FILE)
    proto = Model_pb2.Model()
    proto.ParseFromString(path.read_bytes())
    edit(proto)
    path.write_bytes(proto.SerializeToString())


# --- export ------------------------------------------------------------------------------


@pytest.mark.slow
def test_export_writes_an_mlpackage_with_versions_and_a_scaled_tolerance(exported):
    result = exported.result
    assert result.artifact == ARTIFACT_NAME
    assert (exported.bundle / ARTIFACT_NAME / "Manifest.json").is_file()
    assert set(result.tools) == {"coremltools", "torch"}
    assert result.extra_manifest["coreml"]["minimum_deployment_target"] == "iOS16"
    x = np.concatenate([probe_inputs(SPEC, count=4), probe_inputs(SPEC)])
    with torch.no_grad():
        scale = max(1.0, float(np.abs(exported.model(torch.from_numpy(x)).numpy()).max()))
    relative = FP16_RELATIVE_TOLERANCE if exported.precision == "fp16" else FP32_RELATIVE_TOLERANCE
    assert result.output_tolerance == pytest.approx(relative * scale)


@pytest.mark.slow
def test_all_structural_checks_pass(exported):
    checks = CoreMLConverter().structural_checks(exported.bundle, exported.manifest, exported.model)
    assert [c.name for c in checks] == CHECK_NAMES
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
    assert not failed, failed


@pytest.mark.slow
def test_weights_are_stored_in_the_requested_precision(exported):
    consts = read_package(exported.bundle / ARTIFACT_NAME).tensor_consts()
    want = np.float16 if exported.precision == "fp16" else np.float32
    assert consts and {v.dtype for v in consts.values()} == {np.dtype(want)}


def test_metadata_carries_labels_spec_and_kind(stand_in_fp16):
    meta = read_package(stand_in_fp16.bundle / ARTIFACT_NAME).proto.description.metadata
    assert meta.author == "edge-affect"
    assert json.loads(meta.userDefined["edge_affect.labels"]) == list(LABELS)
    assert PipelineSpec.from_json(meta.userDefined["edge_affect.spec"]) == SPEC
    assert meta.userDefined["edge_affect.output_kind"] == "logits"
    assert meta.userDefined["edge_affect.precision"] == "fp16"


def test_reference_is_eager_torch(stand_in_fp16):
    x = probe_inputs(SPEC, count=3)
    run = CoreMLConverter().reference(stand_in_fp16.model, SPEC, "fp16", x)
    with torch.no_grad():
        np.testing.assert_array_equal(run(x), stand_in_fp16.model(torch.from_numpy(x)).numpy())


def test_export_refuses_a_model_in_training_mode(tmp_path):
    with pytest.raises(ConversionError, match="training mode"):
        CoreMLConverter().export(StandIn().train(), SPEC, "fp16", probe_inputs(SPEC, 1), tmp_path)


def test_export_refuses_an_unknown_precision(tmp_path):
    with pytest.raises(ConversionError, match="'int8'"):
        CoreMLConverter().export(StandIn().eval(), SPEC, "int8", probe_inputs(SPEC, 1), tmp_path)


# --- tampering must be caught -----------------------------------------------------------------


def test_changed_labels_fail_the_metadata_check(stand_in_fp16, tmp_path):
    bundle = stand_in_fp16.copy(tmp_path)

    def swap_two_labels(proto):
        labels = list(LABELS)
        labels[0], labels[3] = labels[3], labels[0]
        proto.description.metadata.userDefined["edge_affect.labels"] = json.dumps(labels)

    _edit_model_proto(bundle, swap_two_labels)
    checks = _checks(bundle, stand_in_fp16)
    assert not checks["coreml.metadata"].passed
    assert "edge_affect.labels" in checks["coreml.metadata"].detail
    assert checks["coreml.weights"].passed


def test_a_different_manifest_spec_fails_the_metadata_check(stand_in_fp16):
    manifest = json.loads(json.dumps(stand_in_fp16.manifest))
    manifest["spec"]["output"]["smooth_alpha"] = 0.5
    checks = {c.name: c for c in CoreMLConverter().structural_checks(stand_in_fp16.bundle, manifest,
                                                                    stand_in_fp16.model)}
    assert not checks["coreml.metadata"].passed
    assert "differs from manifest['spec']" in checks["coreml.metadata"].detail


def test_one_perturbed_weight_fails_the_weights_check(stand_in_fp16, tmp_path):
    bundle = stand_in_fp16.copy(tmp_path)
    consts = read_package(bundle / ARTIFACT_NAME).tensor_consts()
    name, value = max(consts.items(), key=lambda kv: kv[1].size)
    blob = bundle.joinpath(ARTIFACT_NAME, *WEIGHT_FILE)
    data = bytearray(blob.read_bytes())
    at = bytes(data).find(value.tobytes())
    assert at >= 0, f"{name} not found in weight.bin"
    data[at:at + 2] = np.float16(float(value.flat[0]) + 0.25).tobytes()
    blob.write_bytes(bytes(data))

    checks = _checks(bundle, stand_in_fp16)
    assert not checks["coreml.weights"].passed
    assert "no matching constant" in checks["coreml.weights"].detail
    assert checks["coreml.metadata"].passed


def test_wrong_input_shape_fails_the_interface_check(stand_in_fp16, tmp_path):
    bundle = stand_in_fp16.copy(tmp_path)

    def transpose_input(proto):
        shape = proto.description.input[0].type.multiArrayType.shape
        shape[2], shape[3] = 32, 128

    _edit_model_proto(bundle, transpose_input)
    check = _checks(bundle, stand_in_fp16)["coreml.interface"]
    assert not check.passed and "[1, 1, 32, 128]" in check.detail


def test_shifted_convolution_padding_fails_the_program_numerics_check(stand_in_fp16, tmp_path):
    """Same shapes, same weights, padding moved from left/top to right/bottom: only evaluating
    the program can see it."""
    bundle = stand_in_fp16.copy(tmp_path)
    edited = []

    def shift_padding(proto):
        block = proto.mlProgram.functions["main"].block_specializations["CoreML6"]
        for op in block.operations:
            if op.type != "const" or not op.outputs[0].name.endswith("_pad_0"):
                continue
            values = op.attributes["val"].immediateValue.tensor.ints.values
            if list(values) == [1, 1, 1, 1]:
                values[:] = [0, 2, 0, 2]
                edited.append(op.outputs[0].name)

    _edit_model_proto(bundle, shift_padding)
    assert edited, "no symmetric 3x3 conv padding found to tamper with"
    checks = _checks(bundle, stand_in_fp16)
    assert checks["coreml.weights"].passed and checks["coreml.interface"].passed
    assert not checks["coreml.program_numerics"].passed


def test_an_unreadable_package_is_one_failed_check(stand_in_fp16, tmp_path):
    bundle = stand_in_fp16.copy(tmp_path)
    bundle.joinpath(ARTIFACT_NAME, *MODEL_FILE).write_bytes(b"not a protobuf")
    checks = CoreMLConverter().structural_checks(bundle, stand_in_fp16.manifest, stand_in_fp16.model)
    assert [(c.name, c.passed) for c in checks] == [("coreml.package", False)]
    assert ARTIFACT_NAME in checks[0].detail


# --- pieces ----------------------------------------------------------------------------------


def test_ios16_opset_has_conv_but_not_later_ops():
    ops = ios16_op_types()
    assert {"conv", "max_pool", "reduce_mean", "pad", "linear"} <= ops
    # Introduced with iOS 17/18: a package using them would not load on iOS 16.
    assert "scaled_dot_product_attention" not in ops and "slice_update" not in ops


def test_an_op_without_evaluator_fails_program_numerics_by_name(stand_in_fp16, tmp_path):
    bundle = stand_in_fp16.copy(tmp_path)

    def relu_to_gelu(proto):
        block = proto.mlProgram.functions["main"].block_specializations["CoreML6"]
        next(op for op in block.operations if op.type == "relu").type = "gelu"

    _edit_model_proto(bundle, relu_to_gelu)
    with pytest.raises(ConversionError, match="'gelu'"):
        evaluate_mil_program(read_package(bundle / ARTIFACT_NAME).program, probe_inputs(SPEC, 1))
    check = _checks(bundle, stand_in_fp16)["coreml.program_numerics"]
    assert not check.passed and "cannot evaluate" in check.detail


def test_probe_inputs_are_normalised_pixels():
    x = probe_inputs(SPEC, count=4)
    assert x.shape == (4, 1, 64, 64) and x.dtype == np.float32
    pixels = (x + 1.0) * 255.0 / 2.0
    assert np.allclose(pixels, np.round(pixels), atol=1e-3)
    assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3
    assert np.array_equal(x, probe_inputs(SPEC, count=4))


# --- execution ---------------------------------------------------------------------------------


def test_can_execute_only_on_macos():
    ok, reason = CoreMLConverter().can_execute()
    assert ok == (sys.platform == "darwin")
    assert reason == ("" if ok else "Core ML prediction needs macOS")


@pytest.mark.skipif(sys.platform == "darwin", reason="load() works on macOS")
def test_load_raises_a_clear_error_off_macos(stand_in_fp16):
    with pytest.raises(EdgeAffectError, match="needs macOS"):
        CoreMLConverter().load(stand_in_fp16.bundle, stand_in_fp16.manifest)


@pytest.mark.slow
def test_core_ml_prediction_matches_torch(exported):
    converter = CoreMLConverter()
    ok, reason = converter.can_execute()
    if not ok:
        pytest.skip(reason)
    x = probe_inputs(SPEC, count=8)
    got = converter.load(exported.bundle, exported.manifest)(x)
    with torch.no_grad():
        want = exported.model(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    assert float(np.abs(got - want).max()) <= exported.result.output_tolerance
