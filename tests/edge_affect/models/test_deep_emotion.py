import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.models import create_model, get_spec
from edge_affect.models.deep_emotion import INIT_STD, DeepEmotion, deep_emotion, l2_penalty


def test_structure_follows_the_paper():
    model = deep_emotion()
    assert sum(isinstance(m, nn.Conv2d) for m in model.features) == 4
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 2
    assert sum(isinstance(m, nn.Conv2d) for m in model.localization) == 2
    assert [m.out_features for m in model.theta if isinstance(m, nn.Linear)] == [32, 6]
    assert (model.fc1.in_features, model.fc1.out_features, model.fc2.out_features) == (810, 50, 7)
    spec = get_spec("deep_emotion")
    assert spec.input.size == (48, 48) and spec.input.color == "gray" and len(spec.output.labels) == 7


def test_weights_start_from_n0_005_and_the_transformer_from_identity():
    torch.manual_seed(0)
    model = deep_emotion()
    weights = model.fc1.weight.detach()
    assert abs(float(weights.std()) - INIT_STD) < 0.003 and abs(float(weights.mean())) < 0.003
    assert torch.count_nonzero(model.theta[-1].weight) == 0
    x = torch.rand(2, 1, 48, 48)
    torch.testing.assert_close(model.warp(x), x, rtol=0, atol=1e-5)  # identity warp samples pixel centres


def test_the_matmul_grid_is_affine_grid():
    model = deep_emotion()
    theta = torch.randn(3, 2, 3)
    expected = F.affine_grid(theta, [3, 1, 48, 48], align_corners=False)
    actual = torch.matmul(model.base_grid.view(1, -1, 3), theta.transpose(1, 2)).view(3, 48, 48, 2)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)
    assert "base_grid" not in model.state_dict()  # derived, not a weight


def test_l2_penalty_covers_the_last_two_fc_weights_only():
    model = deep_emotion()
    penalty = l2_penalty(model)
    expected = model.fc1.weight.pow(2).sum() + model.fc2.weight.pow(2).sum()
    torch.testing.assert_close(penalty, expected)
    penalty.backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert with_grad == {"fc1.weight", "fc2.weight"}
    with pytest.raises(TypeError, match="fc_layers"):
        l2_penalty(nn.Linear(2, 2))


def test_dropout_only_in_training_and_eval_is_deterministic():
    model = create_model("deep_emotion", pretrained=False)
    x = torch.rand(4, 1, 48, 48)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    assert isinstance(model, DeepEmotion) and model.dropout.p == 0.5
