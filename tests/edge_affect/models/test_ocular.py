import pytest
import torch
from torch import nn

from edge_affect.models import count_macs, count_params, create_model, get_spec
from edge_affect.models.ocular import (M1_FC, M1_FILTERS, M2_FC, M2_FILTERS, OcularVgg, ocular_va_m1, ocular_va_m2,
                                       ocular_va_mobile)


def _expected_params(filters, fc, in_channels=3, flat_hw=2 * 8):
    """Table III by hand: conv 3x3 without bias + BN (2 per channel), FC with bias, final FC 2."""
    total, c = 0, in_channels
    for f in filters:
        total += 9 * c * f + 2 * f + 9 * f * f + 2 * f
        c = f
    width = c * flat_hw
    for units in list(fc) + [2]:
        total += width * units + units
        width = units
    return total


@pytest.mark.parametrize("factory, filters, fc", [(ocular_va_m1, M1_FILTERS, M1_FC), (ocular_va_m2, M2_FILTERS, M2_FC)])
def test_full_size_layout_is_table_iii(factory, filters, fc):
    with torch.device("meta"):  # the layout without allocating ~0.5 GB
        model = factory()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [f for f in filters for _ in (0, 1)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert [m.out_features for m in linears] == list(fc) + [2]
    assert linears[0].in_features == filters[-1] * 2 * 8  # 170x520 after six 2x2 pools: 2x8
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 6
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 12
    assert count_params(model) == _expected_params(filters, fc)


def test_the_registered_spec_is_the_papers_eye_slot():
    spec = get_spec("ocular_va_m1")
    assert spec == get_spec("ocular_va_m2")
    assert spec.input.source == "eye_slot" and spec.input.size == (170, 520) and spec.input.color == "rgb"
    assert spec.input.pad == "keep_aspect" and spec.input.pad_value == 0
    assert spec.input.scale == (1 / 255,) * 3 and spec.input.offset == (0.0,) * 3
    assert spec.output.labels == ("valence", "arousal") and spec.output.kind == "regression"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ocular_va_m1", "ocular_va_m2"])
def test_full_size_forward_and_backward_on_one_input(name):
    torch.manual_seed(0)
    model = create_model(name, pretrained=False)  # eval-mode BatchNorm: one input is a batch
    y = model(torch.rand(1, 3, 170, 520))
    assert y.shape == (1, 2)
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_width_and_depth_build_reduced_instances_of_the_same_layout():
    small = ocular_va_m2(width_mult=0.125, depth=4)
    convs = [m.out_channels for m in small.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [8, 8, 16, 16, 32, 32, 64, 64]
    assert [m.out_features for m in small.modules() if isinstance(m, nn.Linear)] == [768, 768, 250, 2]
    assert small(torch.rand(2, 3, 170, 520)).shape == (2, 2)
    assert count_params(small) < 20_000_000  # vs ~105 M at full size


def test_bad_depth_or_input_are_refused():
    with pytest.raises(ValueError, match="depth"):
        ocular_va_m1(depth=7)
    with pytest.raises(ValueError, match="too small"):
        OcularVgg([4] * 6, [8], input_size=(32, 520))


def test_mobile_is_glasses_sized_and_uses_device_ops_only():
    spec = get_spec("ocular_va_mobile")
    model = create_model("ocular_va_mobile", pretrained=False)
    assert spec.input.size == (64, 192) and spec.input.source == "eye_slot"
    assert count_params(model) <= 1_000_000
    assert count_macs(model, spec.input.shape) < 30_000_000
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 7 and all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    allowed = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Linear, nn.Dropout, nn.Sequential)
    assert all(isinstance(m, allowed) for m in model.modules() if m is not model)
    assert model(torch.rand(3, *spec.input.shape[1:])).shape == (3, 2)


def test_mobile_width_mult():
    assert count_params(ocular_va_mobile(width_mult=0.5)) < count_params(ocular_va_mobile()) / 3
