"""Index-level class balancing and data splits, seeded.

Everything here works on indices into a dataset (``Dataset.records`` or any
array), so one split can drive images, landmarks and labels alike.

* ``repeat_positives``: seed 4's balancing, "repeated random 2 out of each
  3 images from the smiling class" (31% positives -> 43%).
* ``oversample_to_balance``: every class repeated up to the largest one.
* ``holdout_split``: e.g. seed 1's 1% validation hold-out of AffectNet's
  training set; stratified by class when labels are given.
* ``kfold``: seed 2's 5-fold cross-validation; stratified by class, or by
  group (``groups``: e.g. the AFEW-VA clip id, so that frames of one clip
  never sit on both sides of a fold).

The same arguments always return the same indices (numpy's PCG64 seeded by
``seed``). Returned index arrays are sorted unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge_affect.errors import InputError

Fold = tuple[np.ndarray, np.ndarray]  # (train indices, validation indices)


def _class_labels(labels: Sequence[int] | np.ndarray, name: str = "labels") -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{name}: expected a non-empty 1-D sequence of class labels, got shape {array.shape}")
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.all(array == np.round(array)):
            raise InputError(f"{name}: expected integer class labels, got dtype {array.dtype}")
        array = array.astype(np.int64)
    return array


def repeat_positives(labels: Sequence[int] | np.ndarray, seed: int, repeat: int = 2, of: int = 3) -> np.ndarray:
    """Indices of every sample plus a second copy of ``repeat`` out of every
    ``of`` positives (label 1), picked at random: the originals in order,
    then the repeats. Seed 4 uses the defaults (2 of every 3)."""
    y = _class_labels(labels)
    if not 0 < repeat <= of:
        raise InputError(f"repeat_positives: expected 0 < repeat <= of, got repeat={repeat}, of={of}")
    positives = np.random.default_rng(seed).permutation(np.flatnonzero(y == 1))
    repeats = positives[np.arange(len(positives)) % of < repeat]
    return np.concatenate([np.arange(len(y)), np.sort(repeats)])


def oversample_to_balance(labels: Sequence[int] | np.ndarray, seed: int) -> np.ndarray:
    """Indices in which every class appears as often as the largest: a
    smaller class is repeated whole as many times as fits, and the
    remainder drawn without replacement. The originals in order, then the
    extra copies class by class."""
    y = _class_labels(labels)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    target = counts.max()
    extras = []
    for cls, count in zip(classes, counts):
        members = np.flatnonzero(y == cls)
        whole, rest = divmod(target - count, count)
        extras.append(np.tile(members, whole))
        extras.append(np.sort(rng.choice(members, size=rest, replace=False)))
    return np.concatenate([np.arange(len(y))] + extras)


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` across groups in proportion to ``sizes`` (largest
    remainder, ties to the earlier group), so the parts sum to ``total``."""
    exact = sizes * total / sizes.sum()
    parts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    return parts


def _check_groups(groups: Sequence | np.ndarray | None, n: int) -> np.ndarray | None:
    if groups is None:
        return None
    array = np.asarray(groups)
    if array.shape != (n,):
        raise InputError(f"groups: expected one group id per sample ({n}), got shape {array.shape}")
    return array


def _sample_count(n: int | None, labels: np.ndarray | None) -> int:
    if labels is not None:
        if n is not None and n != len(labels):
            raise InputError(f"n: {n} does not match the {len(labels)} labels")
        return len(labels)
    if n is None or n < 1:
        raise InputError(f"n: expected a positive sample count, got {n!r}")
    return int(n)


def holdout_split(n: int | None = None, fraction: float = 0.01, seed: int = 0,
                  labels: Sequence[int] | np.ndarray | None = None,
                  groups: Sequence | np.ndarray | None = None) -> Fold:
    """(kept, held out) indices with ``fraction`` of the samples held out.

    With ``labels`` every class is held out in proportion (stratified);
    with ``groups`` whole groups are held out (fraction of the groups)."""
    y = _class_labels(labels) if labels is not None else None
    n = _sample_count(n, y)
    g = _check_groups(groups, n)
    if not 0.0 < fraction < 1.0:
        raise InputError(f"holdout fraction: expected a value in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    if g is not None:
        ids = rng.permutation(np.unique(g))
        held_ids = ids[: round(fraction * len(ids))]
        held = np.flatnonzero(np.isin(g, held_ids))
    elif y is not None:
        classes, counts = np.unique(y, return_counts=True)
        quota = _allocate(counts, round(fraction * n))
        held = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:q] for c, q in zip(classes, quota)])
    else:
        held = rng.permutation(n)[: round(fraction * n)]
    if len(held) == 0 or len(held) == n:
        raise InputError(f"holdout fraction {fraction} of {n} samples leaves one side empty")
    mask = np.zeros(n, dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def kfold(n: int | None = None, k: int = 5, seed: int = 0,
          labels: Sequence[int] | np.ndarray | None = None,
          groups: Sequence | np.ndarray | None = None) -> list[Fold]:
    """``k`` (train, validation) folds; each sample is validated exactly once.

    Stratified with ``labels``: each class is shuffled and dealt round-robin
    over the folds, so every fold holds floor or ceil of n_c / k of class c
    and fold sizes differ by at most one. With ``groups``: groups are
    shuffled and each goes whole to the fold with the fewest samples so far.
    Otherwise a shuffled split into near-equal parts."""
    y = _class_labels(labels) if labels is not None else None
    n = _sample_count(n, y)
    g = _check_groups(groups, n)
    if not isinstance(k, int) or k < 2 or k > n:
        raise InputError(f"kfold k: expected an integer in [2, {n}] for {n} samples, got {k!r}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=np.int64)
    if g is not None:
        ids = rng.permutation(np.unique(g))
        if len(ids) < k:
            raise InputError(f"kfold: {len(ids)} groups cannot fill {k} folds")
        sizes = np.zeros(k, dtype=np.int64)
        for gid in ids:
            members = g == gid
            target = int(np.argmin(sizes))
            fold_of[members] = target
            sizes[target] += members.sum()
    elif y is not None:
        dealt = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
        fold_of[dealt] = np.arange(n) % k
    else:
        fold_of[rng.permutation(n)] = np.arange(n) % k
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


__all__ = ["Fold", "holdout_split", "kfold", "oversample_to_balance", "repeat_positives"]
