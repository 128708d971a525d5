import json

import numpy as np
import pytest

from edge_affect import metrics as M
from edge_affect.errors import InputError
from edge_affect.evaluate import compute_metrics, evaluate, headline
from edge_affect.models import create_model, get_spec
from edge_affect.models.checkpoint import save_checkpoint
from edge_affect.train import TrainConfig, train


def test_expression_metrics_by_hand():
    output = get_spec("deep_emotion").output
    raw = np.full((4, 7), -5.0)
    raw[[0, 1, 2, 3], [0, 3, 3, 6]] = 5.0  # predicted: angry, happy, happy, neutral
    result = compute_metrics("expression", raw, np.array([0, 3, 1, 6]), output)
    assert result["accuracy"] == 0.75
    assert result["per_class"]["happy"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert result["confusion_matrix"][1][3] == 1  # the disgust face called happy


def test_smile_metrics_use_the_softmax_probability_of_smiling():
    output = get_spec("smile_tiny").output
    margins = np.array([-2.0, -0.5, 0.3, 1.0, 2.5, -1.0])
    raw = np.stack([np.zeros_like(margins), margins], axis=1)
    targets = np.array([0, 0, 1, 1, 1, 1])
    result = compute_metrics("smile", raw, targets, output)
    scores = 1 / (1 + np.exp(-margins))  # softmax over (0, m) = sigmoid(m)
    assert result["auc"] == pytest.approx(M.roc_auc(targets, scores)) == pytest.approx(7 / 8)
    assert result["at_0.5"]["recall"] == 0.75 and result["at_0.5"]["precision"] == 1.0
    assert headline(result) == {"acc": pytest.approx(5 / 6), "auc": pytest.approx(7 / 8)}


def test_regression_metrics_on_clamped_outputs():
    output = get_spec("face_va_mobile").output
    raw = np.array([[0.5, 2.0], [-0.5, -0.2], [0.1, 0.3]])
    targets = np.array([[0.4, 1.0], [-0.6, -0.1], [0.2, 0.2]], dtype=np.float32)
    result = compute_metrics("valence_arousal", raw, targets, output)
    assert result["valence"]["rmse"] == pytest.approx(0.1)
    assert result["arousal"]["rmse"] == pytest.approx(np.sqrt(0.02 / 3))  # 2.0 is shown as 1.0: no error
    assert set(result["valence"]) == {"rmse", "pcc", "ccc", "icc", "sagr"}


@pytest.fixture(scope="module")
def smile_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("smile")
    return train(TrainConfig("smile_tiny", "synthetic:64", out, epochs=2, batch_size=16, progress=False, threads=1,
                             val_fraction=0.25), log=lambda _: None).best


def test_report_holds_metrics_and_plots_for_smile(smile_checkpoint, tmp_path):
    result = evaluate("smile_tiny", "synthetic:60", tmp_path, weights=smile_checkpoint, log=lambda _: None)
    names = {"confusion_matrix.png", "roc.png", "pr.png", "training_curves.png"}
    assert set(result["plots"]) == names
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["samples"] == 60 and 0.0 <= saved["metrics"]["auc"] <= 1.0
    predictions = np.load(tmp_path / "predictions.npz")
    assert predictions["raw"].shape == (60, 2) and predictions["targets"].shape == (60,)


def test_report_for_valence_arousal_has_the_circumplex(tmp_path):
    model = create_model("face_va_mobile", pretrained=False)
    path = save_checkpoint(model.state_dict(), tmp_path / "va.safetensors", {"model": "face_va_mobile"})
    result = evaluate("face_va_mobile", "synthetic:12", tmp_path / "report", weights=path, log=lambda _: None)
    assert result["plots"] == ["circumplex.png"]
    assert set(result["metrics"]) == {"n", "valence", "arousal"}


def test_the_pretrained_default_evaluates_without_a_checkpoint(tmp_path):
    result = evaluate("mini_xception_fer2013", "synthetic:14", tmp_path, log=lambda _: None)
    assert result["weights"] == "mini_xception_fer2013.safetensors" and result["metrics"]["n"] == 14


def test_a_checkpoint_of_another_model_is_refused(smile_checkpoint, tmp_path):
    with pytest.raises(InputError, match="a checkpoint of 'smile_tiny', not 'smile_baseline'"):
        evaluate("smile_baseline", "synthetic:8", tmp_path, weights=smile_checkpoint)
    with pytest.raises(InputError, match="no pretrained weights"):
        evaluate("smile_baseline", "synthetic:8", tmp_path)
