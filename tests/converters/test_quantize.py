import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.converters.quantize import capture, check_calibration, quantize_pt2e
from edge_affect.data.synthetic import generate_arrays
from edge_affect.errors import ConversionError

SIZE = (32, 32)
EXAMPLE = torch.zeros(1, 1, *SIZE)

pytestmark = pytest.mark.slow  # each quantization is a torch.export + calibration pass


class StandIn(nn.Module):
    """The mini-Xception op mix in miniature, written the way a model author might."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pointwise = nn.Conv2d(8, 16, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.shortcut = nn.Conv2d(8, 16, 1, stride=2, bias=False)
        self.head = nn.Linear(16, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.bn(self.pointwise(self.depthwise(x)))
        y = F.max_pool2d(F.pad(y, (0, 1, 0, 1), value=float("-inf")), 3, 2)
        y = y + self.shortcut(x)
        return self.head(y.mean(dim=(2, 3)))  # no keepdim: capture() must canonicalise it


class Tail(nn.Module):
    """conv -> global mean -> a final op the quantizer may leave in float."""

    def __init__(self, tail) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.tail = tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.conv(x).mean(dim=(2, 3), keepdim=True).flatten(1))


def _seeded(model: nn.Module, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.reset_parameters()
        if isinstance(module, nn.BatchNorm2d):
            # Non-trivial running statistics, so BatchNorm folding changes the weights.
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def _faces(n: int, seed: int) -> np.ndarray:
    pixels = generate_arrays(n, seed, size=SIZE, color="gray").images.astype(np.float32)
    return (pixels * (2.0 / 255.0) - 1.0)[:, None]


@pytest.fixture(scope="module")
def model():
    return _seeded(StandIn())


@pytest.fixture(scope="module")
def calibration():
    return _faces(48, seed=21)


@pytest.fixture(scope="module")
def quantized(model, calibration):
    return quantize_pt2e(model, EXAMPLE, calibration)


def test_capture_keeps_the_numbers_and_writes_global_mean_with_keepdim(model):
    graph = capture(model, EXAMPLE)
    means = [n for n in graph.graph.nodes if n.target is torch.ops.aten.mean.dim]
    assert len(means) == 1 and means[0].args[2] is True
    x = torch.from_numpy(_faces(5, seed=3))  # batch 5: the capture is batch-polymorphic
    with torch.no_grad():
        assert torch.equal(graph(x), model(x))


def test_params_are_json_and_name_input_output_and_every_layer(quantized, model):
    params = json.loads(json.dumps(quantized.params))
    assert params == quantized.params
    for side in ("input", "output"):
        assert params[side]["scale"] > 0 and -128 <= params[side]["zero_point"] <= 127
    assert params["output"]["float_ops_after"] == []
    assert params["output"]["quantum"] == params["output"]["scale"]
    assert params["calibration"]["samples"] == 48
    assert all(a["scale"] > 0 and -128 <= a["zero_point"] <= 127 for a in params["activations"])
    # one per-channel record per conv/linear, one scale per output channel
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert sorted(len(w["scales"]) for w in params["weights"]) == sorted(
        m.weight.shape[0] for m in layers)
    assert all(w["axis"] == 0 and min(w["scales"]) > 0 for w in params["weights"])


def test_outputs_lie_on_the_output_quantum_grid(quantized):
    out = quantized.runner()(_faces(16, seed=5))
    q = quantized.params["output"]
    levels = out / q["scale"] + q["zero_point"]
    assert np.max(np.abs(levels - np.round(levels))) < 1e-3
    assert levels.min() > -128.5 and levels.max() < 127.5


def test_input_params_match_the_calibration_range(quantized, calibration):
    q = quantized.params["input"]
    lowest = (-128 - q["zero_point"]) * q["scale"]
    highest = (127 - q["zero_point"]) * q["scale"]
    # Histogram observers may clip outliers (by up to a step), not the bulk of the faces.
    assert lowest <= np.percentile(calibration, 1) + q["scale"]
    assert highest >= np.percentile(calibration, 99) - q["scale"]


def test_quantization_is_deterministic_given_the_calibration_set(quantized, model, calibration):
    again = quantize_pt2e(model, EXAMPLE, calibration.copy())
    assert again.params == quantized.params
    faces = _faces(8, seed=6)
    np.testing.assert_array_equal(again.runner()(faces), quantized.runner()(faces))


@pytest.mark.parametrize("tail, ops, factor", [
    (torch.tanh, ["tanh"], 1.0),
    (torch.sigmoid, ["sigmoid"], 0.25),
])
def test_float_tail_after_the_last_quantized_tensor_scales_the_quantum(tail, ops, factor):
    quantized = quantize_pt2e(_seeded(Tail(tail)), torch.zeros(1, 1, 8, 8), _faces(8, seed=7)[:, :, :8, :8])
    out = quantized.params["output"]
    assert out["float_ops_after"] == ops
    assert out["quantum"] == pytest.approx(out["scale"] * factor)


def test_unbounded_float_tail_is_refused():
    with pytest.raises(ConversionError, match="'exp' in float"):
        quantize_pt2e(_seeded(Tail(torch.exp)), torch.zeros(1, 1, 8, 8), _faces(4, seed=8)[:, :, :8, :8])


@pytest.mark.parametrize("bad, got", [
    (np.zeros((0, 1, *SIZE), np.float32), r"float32 \(0, 1, 32, 32\)"),
    (np.zeros((4, 1, *SIZE), np.float64), r"float64 \(4, 1, 32, 32\)"),
    (np.zeros((4, 3, *SIZE), np.float32), r"float32 \(4, 3, 32, 32\)"),
    (np.zeros((1, *SIZE), np.float32), r"float32 \(1, 32, 32\)"),
    ([[0.0]], "list"),
])
def test_bad_calibration_set_names_expected_and_got(bad, got):
    with pytest.raises(ConversionError, match=r"calibration: expected a float32 array \(N, 1, 32, 32\) "
                                              r"with N >= 1, got " + got):
        check_calibration(bad, (1, 1, *SIZE))


def test_non_finite_calibration_is_refused_before_any_work(model):
    bad = _faces(4, seed=9)
    bad[2, 0, 5, 5] = np.nan
    with pytest.raises(ConversionError, match="1 NaN/inf"):
        quantize_pt2e(model, EXAMPLE, bad)
