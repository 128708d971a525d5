import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.converters.executorch import ExecuTorchConverter
from edge_affect.data.synthetic import generate_arrays
from edge_affect.errors import BundleError, ConversionError, InputError
from edge_affect.models import create_model, get_spec
from edge_affect.runtime.postprocess import softmax, top1
from edge_affect.runtime.preprocess import preprocess_crops

MODEL = "mini_xception_fer2013"
SPEC = get_spec(MODEL)

pytestmark = pytest.mark.slow  # each export lowers a whole graph to XNNPACK (seconds)


def _faces(n: int, seed: int, spec=SPEC) -> np.ndarray:
    crops = generate_arrays(n, seed, size=spec.input.size, color=spec.input.color).images
    return preprocess_crops(crops, spec.input)


@pytest.fixture(scope="module")
def model():
    return create_model(MODEL)


@pytest.fixture(scope="module")
def faces():
    return _faces(40, seed=31)


@pytest.fixture(scope="module")
def calibration():
    return _faces(64, seed=32)


@pytest.fixture(scope="module")
def converter():
    ok, reason = ExecuTorchConverter().can_execute()
    assert ok, reason  # executorch is a hard dependency: its runtime must be here
    return ExecuTorchConverter()


@pytest.fixture(scope="module")
def fp32(converter, model, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("et-fp32")
    return workdir, converter.export(model, SPEC, "fp32", None, workdir)


@pytest.fixture(scope="module")
def int8(converter, model, calibration, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("et-int8")
    return workdir, converter.export(model, SPEC, "int8", calibration, workdir)


def _run(converter, bundle, inputs):
    workdir, result = bundle
    return converter.load(workdir, {"artifact": result.artifact})(inputs)


def test_fp32_matches_eager_torch_on_faces(converter, model, fp32, faces):
    actual = _run(converter, fp32, faces)
    expected = converter.reference(model, SPEC, "fp32", None)(faces)
    raw = np.max(np.abs(actual - expected))
    probs = np.max(np.abs(softmax(actual) - softmax(expected)))
    print(f"executorch fp32 vs eager: max |d logits| {raw:.3g}, max |d probs| {probs:.3g}")
    assert probs <= 1e-5
    assert raw <= fp32[1].output_tolerance
    assert np.array_equal(top1(actual), top1(expected))


def test_fp32_artifact_is_fully_delegated_to_xnnpack(fp32):
    workdir, result = fp32
    assert result.artifact == "model.pte" and (workdir / "model.pte").stat().st_size > 0
    assert result.quantization is None and result.output_tolerance == 1e-4
    assert {"torch", "executorch"} <= set(result.tools)
    delegation = result.extra_manifest["executorch"]
    assert delegation["non_delegated_ops"] == {}
    assert delegation["delegated_subgraphs"] == 1
    assert delegation["delegated_by_op"]["convolution.default"] == 23  # every mini-Xception conv


def test_int8_matches_pt2e_within_three_output_quanta(converter, model, int8, faces, calibration):
    workdir, result = int8
    actual = _run(converter, int8, faces)
    expected = converter.reference(model, SPEC, "int8", calibration)(faces)
    fp32 = converter.reference(model, SPEC, "fp32", None)(faces)
    quantum = result.quantization["output"]["quantum"]
    steps = np.round(np.abs(actual - expected) / quantum).astype(int)
    agreement = np.mean(top1(actual) == top1(fp32))
    print(f"executorch int8 vs pt2e, outputs per |d| in quanta {np.bincount(steps.ravel()).tolist()}; "
          f"top-1 agreement with fp32 {agreement:.3f} on {len(faces)} synthetic faces")
    assert np.max(np.abs(actual - expected)) <= result.output_tolerance
    assert result.output_tolerance == pytest.approx(3 * quantum, rel=1e-3)
    # Single off-by-one requantization ties, not a systematic offset:
    assert np.mean(steps <= 1) >= 0.95 and abs(np.mean(actual - expected)) < 0.1 * quantum
    assert agreement >= 0.9  # the CI bar (98%) is measured by parity on the real golden set


def test_int8_artifact_records_its_quantization_and_is_fully_delegated(fp32, int8):
    workdir, result = int8
    q = result.quantization
    assert q["input"]["scale"] > 0 and -128 <= q["input"]["zero_point"] <= 127
    assert q["calibration"]["samples"] == 64 and "per output channel" in q["scheme"]["weights"]
    assert result.extra_manifest["executorch"]["non_delegated_ops"] == {}
    assert "torchao" in result.tools
    size_int8 = (workdir / "model.pte").stat().st_size
    size_fp32 = (fp32[0] / "model.pte").stat().st_size
    print(f"model.pte: fp32 {size_fp32} B, int8 {size_int8} B")
    assert size_int8 < size_fp32 / 2


def test_reference_after_export_reuses_the_calibration(converter, model, calibration, int8):
    first = converter._quantize(model, SPEC, calibration)
    assert converter._quantize(model, SPEC, calibration.copy()) is first
    assert first.params == int8[1].quantization


class PaddedPoolNet(nn.Module):
    """-inf F.pad before a max-pool and a global mean without keepdim, then Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))  # negative values: the padding must never win the max
        y = F.max_pool2d(F.pad(y, (0, 1, 0, 1), value=float("-inf")), 3, 2)
        return self.head(y.mean(dim=(2, 3)))


def test_minus_inf_padding_and_keepdim_free_mean_lower_fully(converter, tmp_path):
    torch.manual_seed(0)
    model = PaddedPoolNet().eval()
    model.bn.running_mean.uniform_(0.5, 1.0)  # shift most activations below zero
    spec = dataclasses.replace(SPEC, input=dataclasses.replace(SPEC.input, size=(32, 32)))
    faces = _faces(8, seed=33, spec=spec)
    result = converter.export(model, spec, "fp32", None, tmp_path)
    assert result.extra_manifest["executorch"]["non_delegated_ops"] == {}
    actual = converter.load(tmp_path, {"artifact": result.artifact})(faces)
    with torch.no_grad():
        expected = model(torch.from_numpy(faces)).numpy()
    assert np.max(np.abs(actual - expected)) <= 1e-5


@pytest.mark.parametrize("bad", [np.zeros((0, 1, 64, 64), np.float32), np.zeros((4, 1, 48, 48), np.float32),
                                 np.zeros((4, 1, 64, 64), np.float64), None])
def test_int8_with_a_bad_calibration_set_is_a_conversion_error(converter, model, bad, tmp_path):
    with pytest.raises(ConversionError, match=r"calibration: expected a float32 array \(N, 1, 64, 64\)"):
        converter.export(model, SPEC, "int8", bad, tmp_path)
    assert not any(tmp_path.iterdir())


def test_unknown_precision_is_a_conversion_error(converter, model, tmp_path):
    with pytest.raises(ConversionError, match=r"precision 'fp16' is not built; expected one of \['fp32', 'int8'\]"):
        converter.export(model, SPEC, "fp16", None, tmp_path)


def test_runner_refuses_wrong_inputs_and_missing_artifacts(converter, fp32, tmp_path):
    runner = converter.load(fp32[0], {"artifact": "model.pte"})
    with pytest.raises(InputError, match=r"expected float32 inputs \(N, 1, 64, 64\), got float64"):
        runner(np.zeros((2, 1, 64, 64)))
    with pytest.raises(InputError, match=r"got float32 \(2, 1, 48, 48\)"):
        runner(np.zeros((2, 1, 48, 48), np.float32))
    with pytest.raises(BundleError, match="model.pte: ExecuTorch program not found"):
        converter.load(tmp_path, {"artifact": "model.pte"})
