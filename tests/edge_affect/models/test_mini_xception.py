import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_affect.models.mini_xception import (
    KerasSameMaxPool2d,
    MiniXception,
    keras_same_padding,
    mini_xception,
)


def test_param_count_matches_keras_summary():
    model = mini_xception()
    trainable = sum(p.numel() for p in model.parameters())
    bn_stats = sum(b.numel() for name, b in model.named_buffers() if "running" in name)
    # Keras' model.summary() for fer's emotion_model.hdf5: 56,951 trainable
    # + 1,472 non-trainable (BN moving mean/variance) = 58,423.
    assert (trainable, bn_stats) == (56_951, 1_472)


def test_bn_uses_keras_epsilon():
    eps = {m.eps for m in mini_xception().modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert eps == {1e-3}


def test_feature_map_sizes_follow_keras_same():
    model = mini_xception().eval()
    sizes = []
    hooks = [b.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:]))) for b in model.blocks]
    with torch.no_grad():
        logits = model(torch.zeros(2, 1, 64, 64))
    for h in hooks:
        h.remove()
    # stem: 64 -> 62 -> 60 ('valid'), then each module halves with ceil.
    assert sizes == [(16, 30, 30), (32, 15, 15), (64, 8, 8), (128, 4, 4)]
    assert logits.shape == (2, 7)


def test_forward_returns_logits_not_probabilities():
    torch.manual_seed(0)
    model = mini_xception().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.normal_(0, 1.0)
        logits = model(torch.randn(4, 1, 64, 64))
    sums = logits.sum(dim=1)
    assert not torch.allclose(sums, torch.ones_like(sums))
    assert (logits < 0).any()


def test_configurable_for_other_tasks():
    model = MiniXception(in_channels=3, num_classes=2, stem_filters=(4,), module_filters=(8, 16)).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 48, 48)).shape == (1, 2)
    assert mini_xception(num_classes=2, in_channels=3)(torch.zeros(1, 3, 64, 64)).shape == (1, 2)


@pytest.mark.parametrize(
    ("size", "expected"),
    [(60, (0, 1)), (30, (0, 1)), (15, (1, 1)), (8, (0, 1)), (4, (0, 1)), (3, (1, 1))],
)
def test_keras_same_padding_at_the_model_sizes(size, expected):
    assert keras_same_padding(size, kernel=3, stride=2) == expected


def test_keras_same_padding_for_strided_1x1_is_zero():
    assert all(keras_same_padding(n, kernel=1, stride=2) == (0, 0) for n in range(1, 70))


def test_max_pool_pads_bottom_right_and_ignores_padding():
    # All values negative: a zero-padded pool would return 0 on the border.
    x = -torch.arange(1.0, 17.0).reshape(1, 1, 4, 4) - 100.0
    out = KerasSameMaxPool2d(3, 2)(x)
    # 4 -> 2 with pad (0, 1): windows rows/cols {0,1,2} and {2,3,(pad)}.
    expected = torch.tensor([[x[0, 0, :3, :3].max(), x[0, 0, :3, 2:].max()],
                             [x[0, 0, 2:, :3].max(), x[0, 0, 2:, 2:].max()]])  # fmt: skip
    assert torch.equal(out[0, 0], expected)
    assert (out < -100).all()


def test_max_pool_symmetric_case_ignores_padding():
    x = -torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # 3 -> 2, pad (1, 1)
    out = KerasSameMaxPool2d(3, 2)(x)[0, 0]
    assert torch.equal(out, torch.tensor([[x[0, 0, :2, :2].max(), x[0, 0, :2, 1:].max()],
                                          [x[0, 0, 1:, :2].max(), x[0, 0, 1:, 1:].max()]]))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_max_pool_equals_explicit_minus_inf_padding(h, w, seed):
    x = torch.randn(1, 2, h, w, generator=torch.Generator().manual_seed(seed))
    top, bottom = keras_same_padding(h, 3, 2)
    left, right = keras_same_padding(w, 3, 2)
    reference = F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), 3, 2)
    assert torch.equal(KerasSameMaxPool2d(3, 2)(x), reference)


@pytest.mark.slow
def test_exports_with_only_standard_ops():
    model = mini_xception().eval()
    program = torch.export.export(model, (torch.zeros(1, 1, 64, 64),))
    ops = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert ops <= {
        "aten.conv2d.default", "aten.batch_norm.default", "aten.relu.default",
        "aten.max_pool2d.default", "aten.add.Tensor", "aten.mean.dim", "aten.flatten.using_ints",
    }  # fmt: skip
