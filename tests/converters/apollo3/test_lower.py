"""Lowering pt2e int8 graphs to the runtime's integer program: op mapping,
layouts, padding, folded activations, and convert-time rejection of what the
runtime cannot run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.converters.apollo3.lower import Conv, FullyConnected, Pool, _pool_pads, lower
from edge_affect.converters.apollo3.reference import reference_runner
from edge_affect.converters.quantize import quantize_pt2e
from edge_affect.errors import ConversionError
from edge_affect.models.mini_xception import keras_same_padding
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

SIZE = 12


def spec(post: str = "softmax", classes: int = 4) -> PipelineSpec:
    return PipelineSpec(task="expression",
                        input=InputSpec(source="face_box", color="gray", size=(SIZE, SIZE), resize="bilinear",
                                        scale=(2 / 255,), offset=(-1.0,)),
                        output=OutputSpec(kind="logits", post=post, labels=tuple(f"c{i}" for i in range(classes))))


class Tiny(nn.Module):
    """Every op family the runtime has: conv+relu, depthwise, pointwise, ceil-mode max pool,
    residual add + relu, padded max pool, NCHW flatten into linear, global mean."""

    def __init__(self, head: str = "linear") -> None:
        super().__init__()
        self.head = head
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 8, 1)
        self.shortcut = nn.Conv2d(8, 8, 1, stride=2)
        self.fc = nn.Linear(8 * 3 * 3, 4)
        self.cls = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = F.max_pool2d(self.pw(self.dw(x)), 3, 2, padding=0, ceil_mode=True)  # 12 -> 6 (keras 'same')
        x = F.relu(y + self.shortcut(x))
        x = F.max_pool2d(x, 3, 2, padding=1)  # 6 -> 3
        if self.head == "linear":
            return self.fc(x.flatten(1))
        return self.cls(x).mean(dim=(2, 3))


def calibration(n: int = 24) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(n, 1, SIZE, SIZE)).astype(np.float32)


def quantized(model: nn.Module):
    torch.manual_seed(0)
    return quantize_pt2e(model.eval(), torch.zeros(1, 1, SIZE, SIZE), calibration())


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = Tiny().eval()
    q = quantized(model)
    return model, q, lower(q.module, spec())


def test_ops_layouts_and_padding(tiny):
    _, _, program = tiny
    kinds = [op.kind for op in program.ops]
    assert kinds == ["conv2d", "depthwise_conv2d", "pointwise_conv2d", "max_pool2d", "pointwise_conv2d", "add",
                     "max_pool2d", "fully_connected", "softmax"]
    stem, dw = program.ops[0], program.ops[1]
    assert isinstance(stem, Conv) and stem.weights.shape == (8, 3, 3, 1) and stem.padding == (1, 1, 1, 1)
    assert dw.weights.shape == (1, 3, 3, 8)  # 1HWC
    ceil_pool, padded_pool = program.ops[3], program.ops[6]
    assert isinstance(ceil_pool, Pool) and ceil_pool.padding == (0, 1, 0, 1)  # ceil_mode = extra bottom/right
    assert padded_pool.padding == (1, 0, 1, 0)  # torch floor mode: the last row of padding is never read
    assert program.ops[4].stride == (2, 2)
    assert program.tensors[program.output].shape == (1, 1, 1, 4) and program.output_post == "softmax"


def test_weights_bias_and_requantization_follow_tflite(tiny):
    model, q, program = tiny
    stem = program.ops[0]
    torch_w = model.stem.weight.detach().numpy()
    (w_scales,) = [w["scales"] for w in q.params["weights"] if w["consumer"] == "conv2d"]
    w_scales = np.asarray(w_scales)
    assert np.all(np.abs(stem.weights.transpose(0, 3, 1, 2) * w_scales[:, None, None, None] - torch_w)
                  <= w_scales[:, None, None, None] / 2 + 1e-7)
    s_in = program.input_tensor.scale
    expected_bias = np.trunc(model.stem.bias.detach().numpy().astype(np.float64) / (s_in * w_scales)
                             + np.sign(model.stem.bias.detach().numpy()) * 0.5)
    np.testing.assert_array_equal(stem.bias, expected_bias.astype(np.int32))
    assert stem.bias.dtype == np.int32 and stem.multiplier.dtype == np.int32
    assert np.all((stem.multiplier >= 1 << 30) & (stem.multiplier < 1 << 31))
    out = program.tensors[stem.output]
    assert stem.act_min == max(-128, out.zero_point) and stem.act_max == 127  # ReLU folded


def test_relu_after_add_is_folded(tiny):
    _, _, program = tiny
    add = program.ops[5]
    out = program.tensors[add.output]
    assert add.params.act_min == max(-128, out.zero_point) and add.params.act_max == 127


@pytest.mark.parametrize("head", ["linear", "mean"])
def test_integer_program_tracks_the_pt2e_graph(head):
    torch.manual_seed(1)
    model = Tiny(head).eval()
    q = quantized(model)
    program = lower(q.module, spec(post="none"))
    x = calibration(16)
    ours = reference_runner(program)(x)
    theirs = q.runner()(x)
    quantum = program.output_tensor.scale
    # Integer rounding differs from pt2e's float ops by at most a few output steps on a 6-op chain.
    assert np.max(np.abs(ours - theirs)) <= 3 * quantum + 1e-6
    assert np.mean(ours.argmax(1) == theirs.argmax(1)) >= 0.9


def test_linear_after_nchw_flatten_reorders_its_columns(tiny):
    model, _, program = tiny
    fc = program.ops[7]
    assert isinstance(fc, FullyConnected) and fc.weights.shape == (4, 72)
    torch_w = model.fc.weight.detach().numpy()  # columns c*9 + h*3 + w
    # Column (h*3 + w)*8 + c of the lowered weights is torch column c*9 + h*3 + w.
    scale = np.abs(torch_w).max(axis=1, keepdims=True) / 127
    assert np.allclose(fc.weights[:, (1 * 3 + 2) * 8 + 5] * scale[:, 0], torch_w[:, 5 * 9 + 1 * 3 + 2],
                       atol=scale.max())


class Gated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.gate = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return (self.conv(x) * self.gate(x)).mean(dim=(2, 3))


class Dilated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, dilation=2)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@pytest.mark.parametrize("model, op, layer", [
    (Gated(), "aten.mul.Tensor", "graph node mul"),
    (Dilated(), "aten.conv2d", "layer 'conv'"),
])
def test_unsupported_ops_fail_at_convert_time_naming_op_and_layer(model, op, layer):
    q = quantized(model)
    with pytest.raises(ConversionError) as err:
        lower(q.module, spec())
    assert op in str(err.value) and layer in str(err.value)


@pytest.mark.parametrize("size", [5, 6, 15, 30, 60, 64])
def test_ceil_mode_pool_padding_is_keras_same(size):
    before, after = keras_same_padding(size, 3, 2)
    ceil = after > before
    top, bottom = _pool_pads(size, 3, 2, before, ceil)
    assert (top, bottom) == (before, after)
