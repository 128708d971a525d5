"""Training reads prepared shards directly.

:class:`PreparedShards` opens a finished prep directory (its index.json),
checks each shard's sha256 before reading it and yields
:class:`PreparedSample` (key, uint8 image, labels, meta) in record order.
:class:`ShardDataset` is the torch ``IterableDataset`` on top: ``(image
uint8, target)`` per sample, shards split across DataLoader workers,
optionally shuffled per epoch. Images come back exactly as prepared, at the
spec's size; normalisation (``runtime.preprocess.normalize``) and
augmentation stay in the training loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from edge_affect.data.records import TASK_LABELS
from edge_affect.errors import InputError
from edge_affect.prep.pipeline import INDEX_FILE, REJECTS_FILE
from edge_affect.prep.shards import READERS, verify_shard
from edge_affect.spec import PipelineSpec


@dataclass(frozen=True, eq=False)
class PreparedSample:
    """One prepared sample. ``image`` is None for landmarks-task shards;
    ``labels`` maps expression, valence, arousal, smile to a value or None;
    ``meta`` is the sample's full JSON (source, box, landmarks, ...)."""

    key: str
    image: np.ndarray | None
    labels: dict[str, Any]
    meta: dict[str, Any]

    @property
    def landmarks(self) -> np.ndarray | None:
        """float32 (68, 2) in the source image's pixels, if the record had or got them."""
        points = self.meta.get("landmarks")
        return None if points is None else np.asarray(points, dtype=np.float32)


class PreparedShards:
    """A finished prep directory. ``verify`` checks each shard's sha256
    against the index (once per shard and instance) before reading it."""

    def __init__(self, root: str | Path, verify: bool = True):
        self.root = Path(root)
        path = self.root / INDEX_FILE
        if not path.is_file():
            raise InputError(f"{self.root}: no {INDEX_FILE}, so not a finished preparation "
                             "(re-run the same edge-affect prep command to complete it)")
        try:
            self.index: dict[str, Any] = json.loads(path.read_text())
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None
        self.format: str = self.index["format"]
        if self.format not in READERS:
            raise InputError(f"{path}: format: expected one of {sorted(READERS)}, got {self.format!r}")
        self.task: str = self.index["task"]
        spec = self.index.get("spec")
        self.spec: PipelineSpec | None = PipelineSpec.from_dict(spec) if spec is not None else None
        self.shards: list[dict[str, Any]] = self.index["shards"]
        self.verify = verify
        self._verified: set[int] = set()

    def __len__(self) -> int:
        return int(self.index["samples"])

    def shard_path(self, i: int) -> Path:
        return self.root / self.shards[i]["name"]

    def iter_shard(self, i: int) -> Iterator[PreparedSample]:
        path = self.shard_path(i)
        if self.verify and i not in self._verified:
            verify_shard(path, self.shards[i]["sha256"])
            self._verified.add(i)
        for meta, image in READERS[self.format](path):
            yield PreparedSample(meta["key"], image, meta["labels"], meta)

    def __iter__(self) -> Iterator[PreparedSample]:
        for i in range(len(self.shards)):
            yield from self.iter_shard(i)

    def rejects(self) -> list[dict[str, Any]]:
        """Every rejected record (key, source, image, stage, reason)."""
        text = (self.root / self.index.get("rejects", REJECTS_FILE)).read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def label_target(labels: dict[str, Any], label_task: str) -> np.ndarray | None:
    """The training target of a sample for a model task, or None when the
    sample lacks one of its labels: expression/smile -> int64 scalar,
    valence_arousal/ocular_va -> float32 (valence, arousal)."""
    if label_task not in TASK_LABELS:
        raise InputError(f"label task: expected one of {list(TASK_LABELS)}, got {label_task!r}")
    values = [labels.get(name) for name in TASK_LABELS[label_task]]
    if any(v is None for v in values):
        return None
    if label_task in ("expression", "smile"):
        return np.int64(values[0])
    return np.asarray(values, dtype=np.float32)


class ShardDataset(IterableDataset):
    """``(image uint8 (H, W) or (H, W, 3), target)`` from a prep directory.

    ``label_task`` picks the target (see label_target); it defaults to the
    task of the spec the shards were prepared with. Samples without that
    task's labels are skipped (e.g. AffectNet contempt for expression).
    Each DataLoader worker reads its own share of the shards. With
    ``shuffle_seed`` the shard order and the order within each shard are
    shuffled, differently for each ``set_epoch``.
    """

    def __init__(self, root: str | Path, label_task: str | None = None, shuffle_seed: int | None = None,
                 verify: bool = True):
        super().__init__()
        self.shards = PreparedShards(root, verify=verify)
        if self.shards.task == "landmarks":
            raise InputError(f"{root}: landmarks-task shards hold no images; read them with PreparedShards")
        if label_task is None:
            if self.shards.spec is None:
                raise InputError(f"{root}: the index names no spec, so pass label_task")
            label_task = self.shards.spec.task
        label_target({}, label_task)  # validates the name
        self.label_task = label_task
        self.shuffle_seed = shuffle_seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _my_shards(self) -> list[int]:
        order = list(range(len(self.shards.shards)))
        if self.shuffle_seed is not None:
            np.random.default_rng((self.shuffle_seed, self.epoch)).shuffle(order)
        info = get_worker_info()
        return order if info is None else order[info.id::info.num_workers]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in self._my_shards():
            samples = self.shards.iter_shard(i)
            if self.shuffle_seed is not None:
                samples = list(samples)
                np.random.default_rng((self.shuffle_seed, self.epoch, i)).shuffle(samples)
            for sample in samples:
                target = label_target(sample.labels, self.label_task)
                if target is not None:
                    yield sample.image, target


__all__ = ["PreparedSample", "PreparedShards", "ShardDataset", "label_target"]
