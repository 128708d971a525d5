import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from edge_affect.errors import WeightsError
from edge_affect.models import count_params, create_model, get_spec
from edge_affect.models.face_va import (Bottleneck, ResNet, face_va_mobile, face_va_resnet, load_backbone_state_dict,
                                        transfer_from_mini_xception)
from edge_affect.runtime.preprocess import GRAY_WEIGHTS_Q14


# torchvision's published parameter counts with the 1000-way fc replaced by a 2-way one.
@pytest.mark.parametrize("layout, torchvision_params", [("resnet18", 11_689_512), ("resnet50", 25_557_032),
                                                         ("resnet152", 60_192_808)])
def test_layouts_match_torchvision_parameter_counts(layout, torchvision_params):
    with torch.device("meta"):
        model = face_va_resnet(layout)
    fc_in = model.fc.in_features
    assert count_params(model) == torchvision_params - (fc_in * 1000 + 1000) + (fc_in * 2 + 2)


def test_resnet152_has_50_bottlenecks_and_torchvision_names():
    with torch.device("meta"):
        model = face_va_resnet("resnet152")
    assert sum(isinstance(m, Bottleneck) for m in model.modules()) == 3 + 8 + 36 + 3
    keys = set(model.state_dict())
    assert {"conv1.weight", "bn1.running_var", "layer1.0.downsample.0.weight", "layer4.2.conv3.weight",
            "layer3.35.bn3.bias", "fc.weight", "fc.bias"} <= keys


def test_spec_is_seed_2s_face_crop():
    spec = get_spec("face_va_resnet")
    assert spec.input.source == "landmarks68" and spec.input.size == (224, 224) and spec.input.color == "rgb"
    # mean 0.5 std 0.5 on [0, 1] pixels: x = p * 2/255 - 1
    assert spec.input.scale == (2 / 255,) * 3 and spec.input.offset == (-1.0,) * 3


@pytest.mark.slow
def test_full_size_resnet152_forward_and_backward_on_one_input():
    torch.manual_seed(0)
    model = create_model("face_va_resnet", pretrained=False)  # eval-mode BatchNorm: one input is a batch
    y = model(torch.rand(1, 3, 224, 224) * 2 - 1)
    assert y.shape == (1, 2)
    y.square().mean().backward()
    assert torch.isfinite(model.conv1.weight.grad).all() and model.conv1.weight.grad.abs().sum() > 0


def test_imagenet_style_state_dict_loads_by_name_except_the_head(tmp_path):
    torch.manual_seed(1)
    imagenet = ResNet("resnet18", num_outputs=1000)  # stands in for torchvision's resnet18 state_dict
    path = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in imagenet.state_dict().items()}, str(path))
    model = face_va_resnet("resnet18")
    report = load_backbone_state_dict(model, path, strict_backbone=True)
    assert sorted(m.split(":")[0] for m in report.mismatched) == ["fc.bias", "fc.weight"]
    assert not report.missing and not report.unused
    assert len(report.loaded) == len(imagenet.state_dict()) - 2
    assert torch.equal(model.layer4[1].conv2.weight, imagenet.layer4[1].conv2.weight)
    assert torch.equal(model.bn1.running_mean, imagenet.bn1.running_mean)
    assert model.fc.weight.shape == (2, 512)


def test_a_state_dict_of_another_layout_is_reported_or_refused(tmp_path):
    path = tmp_path / "r34.safetensors"
    save_file({k: v.contiguous() for k, v in ResNet("resnet34", num_outputs=1000).state_dict().items()}, str(path))
    report = load_backbone_state_dict(face_va_resnet("resnet18"), path)  # same names for the first blocks
    assert report.loaded and report.unused  # resnet34's extra blocks have no place in resnet18
    with pytest.raises(WeightsError, match="backbone tensors missing or of another shape"):
        load_backbone_state_dict(face_va_resnet("resnet50"), path, strict_backbone=True)
    junk = tmp_path / "junk.safetensors"
    save_file({"nothing.here": torch.zeros(3)}, str(junk))
    with pytest.raises(WeightsError, match="no tensor matches"):
        load_backbone_state_dict(face_va_resnet("resnet18"), junk)


def test_mini_xception_transfers_the_whole_trunk_of_face_va_mobile():
    source = create_model("mini_xception_fer2013", pretrained=True)
    model = face_va_mobile()
    report = transfer_from_mini_xception(model, source.state_dict())
    trunk = [k for k in source.state_dict() if not k.startswith("classifier.")]
    assert sorted(report.loaded) == sorted(trunk)
    assert report.unused == ["classifier.weight", "classifier.bias"] and not report.mismatched
    assert all(k.startswith(("blocks.4.", "head_", "fc.")) for k in report.missing)
    assert torch.equal(model.blocks[3].sep2.pointwise.weight, source.blocks[3].sep2.pointwise.weight)

    # The RGB stem on a colour image computes what the gray stem computes on its BT.601 conversion,
    # and both models map pixels to [-1, 1], so the offsets agree too (the weights sum to 1).
    rgb = torch.rand(1, 3, 20, 20) * 2 - 1
    weights = torch.tensor(GRAY_WEIGHTS_Q14, dtype=torch.float32) / (1 << 14)
    gray = (rgb * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    torch.testing.assert_close(model.stem[0](rgb), source.stem[0](gray), rtol=1e-5, atol=1e-6)


def test_nothing_of_mini_xception_fits_a_resnet():
    report = transfer_from_mini_xception(face_va_resnet("resnet18", width_mult=0.25))
    assert report.loaded == [] and report.unused


def test_mobile_is_phone_sized():
    spec = get_spec("face_va_mobile")
    model = create_model("face_va_mobile", pretrained=False)
    assert spec.input.size == (96, 96) and spec.input.color == "rgb"
    assert count_params(model) <= 1_500_000
    assert any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())  # depthwise separable
    assert model(torch.zeros(spec.input.shape)).shape == (1, 2)


@pytest.mark.parametrize("layout", ["resnet18", "resnet50"])
def test_residual_branches_start_at_zero_so_random_init_outputs_stay_bounded(layout):
    torch.manual_seed(0)
    model = face_va_resnet(layout=layout, width_mult=0.25).eval()
    last_bns = [m.bn3 if isinstance(m, Bottleneck) else m.bn2 for m in model.modules()
                if isinstance(m, Bottleneck) or type(m).__name__ == "BasicBlock"]
    assert last_bns and all(torch.count_nonzero(bn.weight) == 0 for bn in last_bns)
    with torch.no_grad():
        y = model(torch.randn(4, 3, 64, 64))
    assert torch.isfinite(y).all() and y.abs().max() < 10
