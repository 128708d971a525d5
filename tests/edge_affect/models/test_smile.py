import torch
from torch import nn

from edge_affect.models import count_macs, count_params, create_model, get_spec
from edge_affect.models.smile import SmileTiny, smile_baseline

SEED4_OPERATION_BUDGET = 1_380_000  # the paper's operations per inference on the Apollo3


def test_baseline_is_the_simplified_alexnet_of_table_1():
    model = smile_baseline()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (96, 11, 4), (256, 5, 1), (384, 3, 1), (384, 3, 1), (256, 3, 1)]
    assert [m.out_features for m in model.modules() if isinstance(m, nn.Linear)] == [4096, 2]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 3
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2
    macs = count_macs(model, get_spec("smile_baseline").input.shape)
    assert 40e6 < macs < 83e6  # the paper: 82.7 M FLOPs at its (unstated) resolution


def test_tiny_fits_the_microcontroller_budget():
    spec = get_spec("smile_tiny")
    model = create_model("smile_tiny", pretrained=False)
    assert isinstance(model, SmileTiny)
    assert count_macs(model, spec.input.shape) <= SEED4_OPERATION_BUDGET
    assert count_params(model) < 30_000  # int8 weights well inside the Apollo3's flash


def test_two_class_softmax_for_the_apollo3_runtime():
    for name in ("smile_baseline", "smile_tiny"):
        spec = get_spec(name)
        assert spec.output.post == "softmax" and spec.output.labels == ("not_smiling", "smiling")
        model = create_model(name, pretrained=False)
        assert model(torch.zeros(3, *spec.input.shape[1:])).shape == (3, 2)


def test_width_mult_shrinks_the_baseline():
    assert count_params(smile_baseline(width_mult=0.25)) < count_params(smile_baseline()) / 8
