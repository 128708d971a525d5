from collections import Counter

import numpy as np
import pytest

from edge_affect.data.split import holdout_split, kfold, oversample_to_balance, repeat_positives
from edge_affect.errors import InputError


def test_repeat_positives_repeats_two_of_every_three_positives():
    labels = np.array([1] * 31 + [0] * 69)  # seed 4's 31% positives
    idx = repeat_positives(labels, seed=0)
    np.testing.assert_array_equal(idx[:100], np.arange(100))
    repeats = idx[100:]
    # 31 shuffled positives in groups of 3: 10 full groups give 20, the last one (alone) 1 more
    assert len(repeats) == 21
    assert len(set(repeats)) == 21 and np.all(labels[repeats] == 1)
    assert np.mean(labels[idx]) == pytest.approx(52 / 121)
    np.testing.assert_array_equal(idx, repeat_positives(labels, seed=0))
    assert not np.array_equal(repeats, repeat_positives(labels, seed=1)[100:])


def test_oversample_to_balance_equalises_classes():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 4)
    idx = oversample_to_balance(labels, seed=3)
    assert Counter(labels[idx].tolist()) == {0: 10, 1: 10, 2: 10}
    copies = Counter(idx.tolist())
    # class 1 (3 samples -> 10): two whole extra copies plus one drawn -> 3 or 4 appearances each
    assert sorted(copies[i] for i in range(10, 13)) == [3, 3, 4]
    # class 2 (4 -> 10): one whole extra copy plus 2 drawn without replacement
    assert sorted(copies[i] for i in range(13, 17)) == [2, 2, 3, 3]
    np.testing.assert_array_equal(idx, oversample_to_balance(labels, seed=3))


def test_holdout_is_a_stratified_partition():
    labels = np.array([0] * 700 + [1] * 300)
    kept, held = holdout_split(fraction=0.1, seed=5, labels=labels)
    assert len(held) == 100 and Counter(labels[held].tolist()) == {0: 70, 1: 30}
    np.testing.assert_array_equal(np.sort(np.r_[kept, held]), np.arange(1000))
    kept2, held2 = holdout_split(fraction=0.1, seed=5, labels=labels)
    np.testing.assert_array_equal(held, held2)


def test_holdout_of_seed_1_size_and_groups():
    kept, held = holdout_split(20_000, fraction=0.01, seed=0)
    assert len(held) == 200 and len(kept) == 19_800
    groups = np.repeat(np.arange(50), 4)  # e.g. 50 clips of 4 frames
    kept, held = holdout_split(200, fraction=0.2, seed=0, groups=groups)
    assert not set(groups[kept]) & set(groups[held])
    assert len(set(groups[held])) == 10


def test_holdout_rejects_empty_sides():
    with pytest.raises(InputError, match="empty"):
        holdout_split(10, fraction=0.01)
    with pytest.raises(InputError, match="fraction"):
        holdout_split(10, fraction=1.0)


def test_kfold_validates_every_sample_once():
    folds = kfold(23, k=5, seed=1)
    assert len(folds) == 5
    validated = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validated), np.arange(23))
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == 23
        assert len(val) in (4, 5)


def test_kfold_stratified_counts():
    labels = np.array([0] * 13 + [1] * 7 + [2] * 5)
    folds = kfold(k=5, seed=2, labels=labels)
    for _, val in folds:
        counts = Counter(labels[val].tolist())
        assert counts[0] in (2, 3) and counts[1] in (1, 2) and counts[2] == 1
        assert len(val) == 5
    assert [v.tolist() for _, v in folds] == [v.tolist() for _, v in kfold(k=5, seed=2, labels=labels)]
    assert [v.tolist() for _, v in folds] != [v.tolist() for _, v in kfold(k=5, seed=3, labels=labels)]


def test_kfold_keeps_groups_whole():
    groups = np.repeat(np.arange(12), [3, 5, 2, 4, 4, 6, 1, 3, 2, 5, 3, 2])
    for train, val in kfold(len(groups), k=4, seed=0, groups=groups):
        assert not set(groups[train]) & set(groups[val])
    with pytest.raises(InputError, match="groups"):
        kfold(len(groups), k=13, seed=0, groups=groups)


def test_kfold_argument_errors():
    with pytest.raises(InputError, match="k"):
        kfold(3, k=4)
    with pytest.raises(InputError, match="k"):
        kfold(10, k=1)
    with pytest.raises(InputError, match="integer class labels"):
        kfold(k=2, labels=[0.5, 1.0, 0.0])
