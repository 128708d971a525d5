import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from edge_affect.data.loaders import load_dataset
from edge_affect.errors import InputError, IntegrityError
from edge_affect.models import get_spec
from edge_affect.prep.pipeline import prepare_dataset
from edge_affect.prep.reader import PreparedShards, ShardDataset, label_target
from edge_affect.runtime.eye_slot import crop_eye_slot


@pytest.fixture(scope="module", params=["tar", "npz"])
def prepared(request, affectnet_data, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"prepared-{request.param}")
    prepare_dataset(affectnet_data, "eye_slot", out, workers=1, shard_size=5, shard_format=request.param)
    return out


def test_round_trip_gives_the_reference_slots_and_labels(prepared, affectnet_data, rejected_rows):
    records = load_dataset(affectnet_data).records
    spec = get_spec("ocular_va_m1")
    shards = PreparedShards(prepared)
    assert len(shards) == 22 and shards.task == "eye_slot" and shards.spec == spec
    samples = list(shards)
    kept = [i for i in range(len(records)) if i not in rejected_rows.values()]
    assert [s.key for s in samples] == [f"{i:09d}" for i in kept]
    for sample, i in zip(samples, kept):
        record = records[i]
        np.testing.assert_array_equal(sample.image, crop_eye_slot(record.image(), record.landmarks, spec.input))
        assert sample.labels["valence"] == record.labels.valence
        assert sample.labels["expression"] == record.labels.expression
        np.testing.assert_array_equal(sample.landmarks, record.landmarks)
    assert [r["stage"] for r in shards.rejects()] == ["decode", "crop"]


def test_shard_dataset_feeds_a_dataloader(prepared, affectnet_data):
    records = load_dataset(affectnet_data).records
    loader = DataLoader(ShardDataset(prepared), batch_size=8)
    images, targets = next(iter(loader))
    assert images.dtype == torch.uint8 and images.shape == (8, 170, 520, 3)
    assert targets.dtype == torch.float32 and targets.shape == (8, 2)  # ocular_va: valence, arousal
    np.testing.assert_allclose(targets[0].numpy(), [records[0].labels.valence, records[0].labels.arousal])
    assert sum(len(batch[0]) for batch in loader) == 22


def test_workers_split_the_shards_and_shuffling_is_seeded(prepared):
    def keys(dataset, workers=0):
        dataset.shards.verify = True
        out = []
        for image, target in DataLoader(dataset, batch_size=None, num_workers=workers):
            out.append((float(target[0]), float(target[1])))
        return out

    plain = keys(ShardDataset(prepared))
    two_workers = keys(ShardDataset(prepared), workers=2)
    assert sorted(two_workers) == sorted(plain) and len(plain) == 22
    shuffled = ShardDataset(prepared, shuffle_seed=7)
    first = keys(shuffled)
    assert sorted(first) == sorted(plain) and first != plain
    assert keys(shuffled) == first
    shuffled.set_epoch(1)
    assert keys(shuffled) != first


def test_label_task_selects_the_target(prepared):
    expression = ShardDataset(prepared, label_task="expression")
    targets = [t for _, t in expression]
    assert all(t.dtype == np.int64 and 0 <= t < 7 for t in targets) and len(targets) == 22
    assert list(ShardDataset(prepared, label_task="smile")) == []  # AffectNet has no smile labels
    assert label_target({"expression": None}, "expression") is None
    with pytest.raises(InputError, match="label task"):
        ShardDataset(prepared, label_task="age")


def test_a_modified_shard_is_refused(prepared, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(prepared, copy)
    index = json.loads((copy / "index.json").read_text())
    name = index["shards"][1]["name"]
    data = bytearray((copy / name).read_bytes())
    data[-2000] ^= 0xFF
    (copy / name).write_bytes(bytes(data))
    shards = PreparedShards(copy)
    assert len(list(shards.iter_shard(0))) == 5
    with pytest.raises(IntegrityError, match=name):
        list(shards.iter_shard(1))


def test_an_unfinished_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a finished preparation"):
        PreparedShards(tmp_path)
