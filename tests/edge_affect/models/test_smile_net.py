import pytest
import torch

from edge_affect.models import count_macs, count_params, create_model
from edge_affect.models.smile_net import SEED_BASELINE_ARCH, parse_arch


@pytest.mark.parametrize("text", [SEED_BASELINE_ARCH, "c8s2p2-c16bp2-c32bp2-f32", "c8k5s2bp3/2-c16dbp2-g-f16",
                                  "c4", "c4-g"])
def test_arch_strings_round_trip_and_build(text):
    arch = parse_arch(text)
    assert str(arch) == text
    model = create_model("smile_net", arch=text)
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 2)


def test_defaults_are_left_out_of_the_canonical_string():
    assert str(parse_arch("c8k3s1p2/2-f32")) == "c8p2-f32"


def test_smile_tiny_layout_has_smile_tiny_cost():
    tiny = create_model("smile_tiny")
    same = create_model("smile_net", arch="c8s2p2-c16bp2-c32bp2-f32")
    assert count_macs(same, (1, 1, 64, 64)) == count_macs(tiny, (1, 1, 64, 64)) == 680_000
    # smile_tiny keeps conv biases before its BatchNorms (48 more parameters)
    assert count_params(tiny) - count_params(same) == 16 + 32


def test_seed_baseline_is_the_alexnet_scale():
    model = create_model("smile_net")
    assert count_macs(model, (1, 1, 64, 64)) == 62_005_248


def test_separable_block_is_depthwise_then_pointwise():
    model = create_model("smile_net", arch="c8-c16d")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.groups, c.kernel_size) for c in convs] == [
        (1, 8, 1, (3, 3)), (8, 8, 8, (3, 3)), (8, 16, 1, (1, 1))]


def test_dropout_only_in_training():
    model = create_model("smile_net", arch="c8s2p2-f16").train()
    x = torch.rand(4, 1, 64, 64)
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.equal(a, model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("text, fragment", [
    ("", "non-empty"), ("x8", "block 1 'x8'"), ("c8-f16-c8", "must be last"), ("c8d", "first convolution"),
    ("c0", "filters 0"), ("c8k99", "kernel 99"), ("g-f8", "at least one convolution"), ("c8-f8-f8", "must be last"), ("c8-g-c8", "before 'g' and 'f'"),
    ("f8", "at least one convolution"), ("c8-g-g", "'g' must come once"),
])
def test_bad_arch_strings_name_the_block(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_arch(text)


def test_an_arch_that_collapses_the_image_is_refused():
    with pytest.raises(ValueError, match="shrinks the image to nothing"):
        create_model("smile_net", arch="c8s8p8-c8p2")
