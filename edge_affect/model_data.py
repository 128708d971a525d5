"""Dataset records -> model tensors, for training and evaluation.

One path for every model, driven by its pipeline spec so that training sees
exactly what the device sees (no training/serving skew):

1. ``load_data("KIND:PATH")``: any dataset loader, or ``synthetic:N`` —
   N procedural faces (``edge_affect.data.synthetic``; cartoon-like, for
   smoke training and benchmarks only) labelled for the model's task. For an
   eye-region task the synthetic valence/arousal are the *ocular* labels
   (what brows and eyes alone show).
2. ``prepare``: keep the records usable for the spec (records without the
   task's labels, without landmarks for an eye slot, or whose slot the
   paper's rule rejects are dropped and counted per reason) and, when they
   fit in memory, decode and cut each once with the reference
   preprocessing: the face crop at the model size (box, or the extreme
   landmarks for a ``landmarks68`` spec), or, for an ``eye_slot`` spec, the
   seed-1 eye slot at its native size (augmented before it is padded to the
   input, as the paper does). Larger datasets are cut per batch.
3. ``make_batch``: augment (a seeded policy from ``edge_affect.data.augment``),
   fit eye slots to the input, normalise with the spec -> float32 NCHW, and
   the targets (class index, or (valence, arousal) floats).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from edge_affect.data.augment import POLICIES, Policy
from edge_affect.data.records import Dataset, DatasetError, FaceRecord, Labels, Source
from edge_affect.errors import InputError
from edge_affect.runtime.preprocess import crop_face, normalize
from edge_affect.spec import PipelineSpec

SYNTHETIC = re.compile(r"^synthetic:(?P<n>\d+)$")
CLASSIFICATION_TASKS = ("expression", "smile")
# Synthetic faces are drawn at least this large (and at most 256) so crops are not upsampled much.
SYNTHETIC_MIN_SIZE, SYNTHETIC_MAX_SIZE = 128, 256
# Cut images are kept in memory up to this size (estimated at the model input size).
CACHE_BYTES = 2 << 30


def is_classification(task: str) -> bool:
    return task in CLASSIFICATION_TASKS


def synthetic_dataset(n: int, seed: int, task: str, spec: PipelineSpec) -> Dataset:
    """``n`` synthetic faces (expression-balanced) with the labels ``task`` needs."""
    from edge_affect.data.synthetic import generate

    if n < 1:
        raise InputError(f"data: synthetic:N needs N >= 1, got {n}")
    side = int(np.clip(max(spec.input.size), SYNTHETIC_MIN_SIZE, SYNTHETIC_MAX_SIZE))
    records = []
    for i, face in enumerate(generate(n, seed, size=(side, side), color=spec.input.color)):
        lab = face.labels
        ocular = task == "ocular_va"
        labels = Labels(expression=int(lab["expression"]), smile=int(lab["smile"]),
                        valence=float(lab["ocular_valence" if ocular else "valence"]),
                        arousal=float(lab["ocular_arousal" if ocular else "arousal"]))
        records.append(FaceRecord(labels=labels, source=Source(f"synthetic[seed={seed}]", i + 1),
                                  pixels=face.image, box=face.box, landmarks=face.landmarks))
    return Dataset(f"synthetic:{n} (seed {seed})", records)


def load_data(data: str, task: str, spec: PipelineSpec, seed: int) -> Dataset:
    """``synthetic:N`` or any ``KIND[SPLIT]:PATH`` the dataset loaders accept."""
    match = SYNTHETIC.match(data.strip()) if isinstance(data, str) else None
    if match:
        return synthetic_dataset(int(match["n"]), seed, task, spec)
    from edge_affect.data.loaders import load_dataset

    return load_dataset(data)


@dataclass
class Prepared:
    """The usable records, their targets and (when cached) their cut images:
    model-size face crops or native-size eye slots, uint8. Without a cache
    each image is decoded and cut when a batch asks for it, so a dataset
    larger than memory (AffectNet: ~290 K images) still trains.
    ``dropped`` counts the records left out, per reason."""

    spec: PipelineSpec
    records: list[FaceRecord]
    targets: np.ndarray  # int64 (N,) class indices, or float32 (N, 2) valence/arousal
    cache: list[np.ndarray] | None = None
    dropped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.records)

    def image(self, index: int) -> np.ndarray:
        if self.cache is not None:
            return self.cache[index]
        record = self.records[index]
        try:
            return cut(record, self.spec)
        except DatasetError:
            raise  # already names the file
        except InputError as exc:  # e.g. a box outside the image, or an eye slot wholly outside its frame
            raise InputError(f"{record.source}: {exc}") from None

    def summary(self) -> str:
        text = f"{len(self)} samples" + ("" if self.cache is not None else " (decoded per batch)")
        if self.dropped:
            text += "; dropped " + ", ".join(f"{n} ({why})" for why, n in sorted(self.dropped.items()))
        return text


def target_of(labels: Labels, task: str) -> int | tuple[float, float]:
    if task == "expression":
        return int(labels.expression)
    if task == "smile":
        return int(labels.smile)
    return float(labels.valence), float(labels.arousal)


def cut(record: FaceRecord, spec: PipelineSpec) -> np.ndarray:
    """The record's pixels through the reference preprocessing, before any
    augmentation: face crop at the model size, or the native eye slot."""
    image = record.image()
    if spec.input.source == "eye_slot":
        from edge_affect.runtime.eye_slot import cut_eye_slot, eye_slot_geometry

        return cut_eye_slot(image, eye_slot_geometry(record.landmarks), spec.input.pad_value)
    # Seed 2's box comes from the extreme landmarks; other specs use the annotated box when there is one.
    use_landmarks = record.landmarks is not None and (spec.input.source == "landmarks68" or record.box is None)
    return crop_face(image, spec.input, box=record.box, landmarks=record.landmarks if use_landmarks else None)


def _usable(record: FaceRecord, spec: PipelineSpec) -> str | None:
    """Why a record cannot be used (None if it can), without decoding its image."""
    if not record.labels.has(spec.task):
        return f"no {spec.task} labels"
    if spec.input.source != "eye_slot":
        return None
    if record.landmarks is None:
        return "no landmarks for the eye slot"
    from edge_affect.runtime.eye_slot import RejectedSample, eye_slot_geometry

    try:
        eye_slot_geometry(record.landmarks)
    except RejectedSample as exc:
        return f"eye slot rejected: {exc.reason.split(' (')[0]}"  # the reason without pixel sizes
    return None


def prepare(dataset: Dataset, spec: PipelineSpec, cache: bool | None = None) -> Prepared:
    """The records usable for ``spec`` with their targets; ``cache`` (default:
    when the cut images fit in CACHE_BYTES) decodes and cuts every image once."""
    records, targets, dropped = [], [], Counter(dataset.dropped)
    for record in dataset.records:
        why = _usable(record, spec)
        if why is not None:
            dropped[why] += 1
            continue
        records.append(record)
        targets.append(target_of(record.labels, spec.task))
    if not records:
        raise InputError(f"{dataset.name}: no usable samples for task {spec.task!r} "
                         f"(dropped: {dict(dropped) or 'none'})")
    dtype = np.int64 if is_classification(spec.task) else np.float32
    prepared = Prepared(spec, records, np.asarray(targets, dtype=dtype), None, dropped)
    h, w = spec.input.size
    if cache if cache is not None else len(records) * h * w * spec.input.channels <= CACHE_BYTES:
        prepared.cache = [prepared.image(i) for i in range(len(records))]
    return prepared


def policy_named(name: str | None) -> Policy | None:
    if name in (None, "none"):
        return None
    if name not in POLICIES:
        raise InputError(f"augment: expected one of {sorted(POLICIES) + ['none']}, got {name!r}")
    return POLICIES[name]


def make_batch(prepared: Prepared, indices: np.ndarray, spec: PipelineSpec, policy: Policy | None = None,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """float32 inputs (B, C, H, W) and targets for ``indices``; augmentation
    draws from ``rng`` in index order, so a batch is a pure function of its
    arguments."""
    if policy is not None and rng is None:
        raise InputError("make_batch: augmentation needs a random generator")
    fit = None
    if spec.input.source == "eye_slot":
        from edge_affect.runtime.eye_slot import fit_to_input as fit
    inputs = []
    for i in indices:
        image = prepared.image(i)
        if policy is not None:
            image = policy(image, rng).image
        if fit is not None:
            image = fit(image, spec.input)
        inputs.append(normalize(image, spec.input))
    return np.stack(inputs), prepared.targets[indices]


__all__ = ["CLASSIFICATION_TASKS", "Prepared", "cut", "is_classification", "load_data", "make_batch",
           "policy_named", "prepare", "synthetic_dataset", "target_of"]
