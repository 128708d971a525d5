import math

import numpy as np
import pytest
import torch

from edge_affect.data.records import Dataset, FaceRecord, Labels, Source
from edge_affect.errors import InputError
from edge_affect.model_data import make_batch, prepare, synthetic_dataset
from edge_affect.models import get_spec
from edge_affect.models.checkpoint import load_checkpoint, read_metadata
from edge_affect.spec import PipelineSpec
from edge_affect.train import (RECIPES, TrainConfig, build_optimizer, class_weights_of, lr_at, make_loss,
                               optimizer_tensors, restore_optimizer, train)

# (model, synthetic faces, epochs, batch): small enough for CI, large enough for the loss to fall.
EDGE_RUNS = [
    ("smile_tiny", 160, 4, 16),
    ("smile_baseline", 128, 3, 16),
    ("deep_emotion", 140, 4, 16),
    ("ocular_va_mobile", 96, 3, 16),
    ("face_va_mobile", 64, 3, 16),
]


def _config(name, n, epochs, batch, out, **kw):
    return TrainConfig(name, f"synthetic:{n}", out, epochs=epochs, batch_size=batch, progress=False, threads=1,
                       val_fraction=kw.pop("val_fraction", 0.0), **kw)


@pytest.mark.slow
@pytest.mark.parametrize("name, n, epochs, batch", EDGE_RUNS, ids=[r[0] for r in EDGE_RUNS])
def test_edge_models_learn_on_synthetic_faces(name, n, epochs, batch, tmp_path):
    result = train(_config(name, n, epochs, batch, tmp_path), log=lambda _: None)
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == epochs and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses


def test_checkpoints_carry_the_spec_and_no_pickle(tmp_path):
    result = train(_config("smile_tiny", 48, 1, 16, tmp_path, val_fraction=0.25), log=lambda _: None)
    meta = read_metadata(result.last)
    assert PipelineSpec.from_dict(meta["spec"]) == get_spec("smile_tiny")
    assert meta["model"] == "smile_tiny" and meta["epoch"] == 1 and meta["recipe"]["optimizer"] == "sgd"
    assert {"train_loss", "val_loss", "val_metrics", "lr"} <= set(meta["history"][0])
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json"] * 3 + [".safetensors"] * 3
    assert result.best is not None and load_checkpoint(result.best)


def test_a_resumed_run_equals_the_uninterrupted_run(tmp_path):
    whole = train(_config("smile_tiny", 48, 2, 16, tmp_path / "whole"), log=lambda _: None)
    train(_config("smile_tiny", 48, 1, 16, tmp_path / "split"), log=lambda _: None)
    resumed = train(_config("smile_tiny", 48, 2, 16, tmp_path / "split", resume=True), log=lambda _: None)
    assert resumed.epochs_run == 1
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]
    a, b = load_checkpoint(whole.last), load_checkpoint(resumed.last)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_another_seed(tmp_path):
    train(_config("smile_tiny", 32, 1, 16, tmp_path), log=lambda _: None)
    with pytest.raises(InputError, match="seed"):
        train(_config("smile_tiny", 32, 2, 16, tmp_path, resume=True, seed=5), log=lambda _: None)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_optimizer_state_round_trips_through_tensors_and_json(kind):
    recipe = RECIPES["ocular_va_mobile"] if kind == "adam" else RECIPES["smile_tiny"]
    model = torch.nn.Linear(3, 2)
    opt = build_optimizer(recipe, model.parameters(), 0.01)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    tensors, meta = optimizer_tensors(opt)
    fresh = build_optimizer(recipe, model.parameters(), 0.5)
    restore_optimizer(fresh, tensors, meta)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for index, state in a["state"].items():
        assert all(torch.equal(state[k], b["state"][index][k]) for k in state)


def test_seed_4_schedule_warms_up_to_epoch_10_then_decays():
    recipe = RECIPES["smile_tiny"]
    lrs = [lr_at(recipe, 0.05, e, 20) for e in range(1, 21)]
    assert lrs[0] == pytest.approx(0.005) and lrs[9] == pytest.approx(0.05)
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10])) and all(a > b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] > 0
    assert lr_at(RECIPES["deep_emotion"], 0.005, 7, 500) == 0.005


def test_recipes_are_the_seeds():
    assert (RECIPES["ocular_va_m2"].optimizer, RECIPES["ocular_va_m2"].lr, RECIPES["ocular_va_m2"].batch_size,
            RECIPES["ocular_va_m2"].epochs) == ("adam", 1e-3, 32, 50)
    face = RECIPES["face_va_resnet"]
    assert (face.optimizer, face.lr, face.momentum, face.batch_size) == ("sgd", 1e-3, 0.9, 50)
    de = RECIPES["deep_emotion"]
    assert (de.optimizer, de.lr, de.l2_fc > 0) == ("adam", 0.005, True)
    assert RECIPES["smile_tiny"].balance == "repeat_positives" and RECIPES["smile_tiny"].nesterov


def test_class_weights_balance_the_classes():
    weights = class_weights_of(np.array([0, 0, 0, 1]), 3)
    torch.testing.assert_close(weights, torch.tensor([4 / 9, 4 / 3, 0.0]))


def test_deep_emotion_loss_adds_the_fc_l2_term():
    from edge_affect.models import create_model
    from edge_affect.models.deep_emotion import l2_penalty

    model = create_model("deep_emotion", pretrained=False)
    loss = make_loss("expression", RECIPES["deep_emotion"])
    outputs, targets = torch.randn(4, 7), torch.tensor([0, 1, 2, 3])
    total, data = loss(model, outputs, targets)
    torch.testing.assert_close(data, torch.nn.functional.cross_entropy(outputs, targets))
    torch.testing.assert_close(total - data, RECIPES["deep_emotion"].l2_fc * l2_penalty(model))


def test_eye_slot_data_uses_ocular_labels_and_drops_faces_without_landmarks():
    spec = get_spec("ocular_va_mobile")
    data = synthetic_dataset(6, seed=3, task="ocular_va", spec=spec)
    from edge_affect.data.synthetic import generate, ocular_valence_arousal

    faces = generate(6, 3, size=(128, 128), color="gray")
    assert data[0].labels.valence == pytest.approx(ocular_valence_arousal(faces[0].params)[0])
    no_landmarks = FaceRecord(Labels(valence=0.1, arousal=0.2), Source("test", 1), pixels=faces[0].image,
                              box=faces[0].box)
    unlabelled = FaceRecord(Labels(smile=1), Source("test", 2), pixels=faces[0].image,
                            landmarks=faces[0].landmarks)
    prepared = prepare(Dataset("mixed", data.records + [no_landmarks, unlabelled]), spec)
    assert len(prepared) == 6
    assert prepared.dropped == {"no landmarks for the eye slot": 1, "no ocular_va labels": 1}
    x, y = make_batch(prepared, np.arange(6), spec)
    assert x.shape == (6, 1, 64, 192) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (6, 2)


def test_uncached_data_cuts_the_same_images_per_batch():
    spec = get_spec("face_va_mobile")
    data = synthetic_dataset(5, 2, "valence_arousal", spec)
    cached, lazy = prepare(data, spec, cache=True), prepare(data, spec, cache=False)
    assert lazy.cache is None and "decoded per batch" in lazy.summary()
    for a, b in zip(make_batch(cached, np.arange(5), spec), make_batch(lazy, np.arange(5), spec)):
        assert np.array_equal(a, b)


def test_augmented_batches_are_a_function_of_the_seed():
    spec = get_spec("smile_tiny")
    prepared = prepare(synthetic_dataset(8, 0, "smile", spec), spec)
    from edge_affect.data.augment import smile_policy

    a = make_batch(prepared, np.arange(8), spec, smile_policy, np.random.default_rng([0, 1]))[0]
    b = make_batch(prepared, np.arange(8), spec, smile_policy, np.random.default_rng([0, 1]))[0]
    c = make_batch(prepared, np.arange(8), spec, smile_policy, np.random.default_rng([0, 2]))[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(InputError, match="synthetic:N needs N >= 1"):
        train(_config("smile_tiny", 0, 1, 16, tmp_path), log=lambda _: None)
    with pytest.raises(InputError, match="augment"):
        train(_config("smile_tiny", 8, 1, 16, tmp_path, augment="sparkles"), log=lambda _: None)
    with pytest.raises(InputError, match="validation hold-out"):
        train(_config("smile_tiny", 2, 1, 16, tmp_path, val_fraction=0.01), log=lambda _: None)


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs", [("ocular_va_m1", {"width_mult": 0.125}),
                                          ("ocular_va_m2", {"width_mult": 0.0625, "depth": 5}),
                                          ("face_va_resnet", {"layout": "resnet18", "width_mult": 0.25})])
def test_reduced_full_size_layouts_train_and_evaluate(name, kwargs, tmp_path):
    from edge_affect.evaluate import evaluate

    result = train(_config(name, 48, 3, 16, tmp_path, model_kwargs=kwargs), log=lambda _: None)
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0], losses
    assert read_metadata(result.last)["model_kwargs"] == kwargs
    report = evaluate(name, "synthetic:8", tmp_path / "report", weights=result.last, log=lambda _: None)
    assert report["model_kwargs"] == kwargs and report["metrics"]["n"] == 8
