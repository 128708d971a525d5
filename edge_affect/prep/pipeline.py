"""``prepare_dataset``: a dataset -> a directory of shards a trainer reads.

Output directory::

    prep.json          what is being prepared (task, spec, format, shard size,
                       a fingerprint of the records); a re-run must match it
    shard-000000.tar   ... the shards (see edge_affect.prep.shards)
    done/              one marker per finished shard (counts, sha256, rejects)
    rejects.jsonl      every record left out, with the stage and the reason
    index.json         written last: shards, counts, sha256 (the directory
                       is complete exactly when it exists)

Resumable: a re-run into the same directory redoes only the shards without
a valid done marker. index.json and rejects.jsonl hold no timings or engine
names, so every engine and worker count writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_affect.data.loaders import load_dataset
from edge_affect.data.records import Dataset, FaceRecord
from edge_affect.errors import InputError
from edge_affect.fileio import write_text_atomic
from edge_affect.prep.engines import run_jobs
from edge_affect.prep.landmarks import DlibLandmarker
from edge_affect.prep.record import TASKS, PrepConfig
from edge_affect.prep.shards import (
    ENCODING_OF_FORMAT, SHARD_FORMATS, ShardJob, ShardResult, finished_shard, remove_stale_temporaries,
)
from edge_affect.spec import PipelineSpec

FORMAT_VERSION = 1
PLAN_FILE = "prep.json"
INDEX_FILE = "index.json"
REJECTS_FILE = "rejects.jsonl"
DEFAULT_SHARD_SIZE = 1000
# The model whose input spec a task uses when none is named.
DEFAULT_MODELS = {"face_crop": "mini_xception_fer2013", "eye_slot": "ocular_va_m1"}


@dataclass
class PrepSummary:
    """What a run did: counts over the whole directory, and this run's work."""

    out_dir: Path
    records: int
    samples: int
    rejected: int
    rejected_by_stage: Counter[str]  # decode, landmarks, crop
    example_reasons: dict[str, str]  # the first reason of each stage
    loader_dropped: Counter[str]
    shards: int
    shards_skipped: int
    records_processed: int  # by this run (excludes skipped shards)
    seconds: float
    results: list[ShardResult] = field(default_factory=list)

    @property
    def records_per_second(self) -> float:
        return self.records_processed / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class PrepPlan:
    """The jobs of one preparation, and the plan document that pins them."""

    out_dir: Path
    document: dict[str, Any]
    jobs: tuple[ShardJob, ...]
    loader_dropped: Counter[str]


def resolve_spec(task: str, model: str | None) -> tuple[str | None, PipelineSpec | None]:
    """(model name, its pipeline spec) for a task; none for ``landmarks``."""
    if task not in TASKS:
        raise InputError(f"task: expected one of {list(TASKS)}, got {task!r}")
    if task == "landmarks":
        if model is not None:
            raise InputError("--model: the landmarks task makes no image, so it takes no model spec")
        return None, None
    from edge_affect.models import get_spec  # the registry imports torch: only when a spec is needed

    name = model or DEFAULT_MODELS[task]
    spec = get_spec(name)
    if (spec.input.source == "eye_slot") != (task == "eye_slot"):
        raise InputError(f"--model {name}: its input.source is {spec.input.source!r}, which the "
                         f"{task} task cannot make; pick a model whose input is "
                         f"{'an eye slot' if task == 'eye_slot' else 'a face crop'}")
    return name, spec


def plan_preparation(dataset: Dataset, data: str, task: str, out_dir: str | Path, *, model: str | None = None,
                     spec: PipelineSpec | None = None, shard_size: int = DEFAULT_SHARD_SIZE,
                     shard_format: str = "tar", landmark_model: str | None = None) -> PrepPlan:
    """Split the dataset into shard jobs. ``spec`` overrides the model's."""
    if shard_format not in SHARD_FORMATS:
        raise InputError(f"format: expected one of {list(SHARD_FORMATS)}, got {shard_format!r}")
    if not isinstance(shard_size, int) or shard_size < 1:
        raise InputError(f"shard size: expected an integer >= 1, got {shard_size!r}")
    if spec is None:
        model, spec = resolve_spec(task, model)
    if task == "landmarks":
        # The task only detects landmarks: load the predictor once here, so a missing
        # dlib or a file that is not a predictor is refused before any record is read.
        DlibLandmarker(landmark_model)
    config = PrepConfig(task, spec.input if spec is not None else None, ENCODING_OF_FORMAT[shard_format],
                        landmark_model)
    records = dataset.records
    document = {
        "version": FORMAT_VERSION,
        "data": data,
        "dataset": dataset.name,
        "task": task,
        "model": model,
        "spec": spec.to_dict() if spec is not None else None,
        "format": shard_format,
        "shard_size": shard_size,
        "landmark_model": landmark_model,
        "records": len(records),
        "records_sha256": records_fingerprint(records),
        "loader_dropped": dict(sorted(dataset.dropped.items())),
    }
    document = json.loads(json.dumps(document))  # as it reads back from prep.json: lists, not tuples
    out = Path(out_dir)
    jobs = tuple(
        ShardJob(index, start, tuple(records[start:start + shard_size]), config, str(out), shard_format)
        for index, start in enumerate(range(0, len(records), shard_size)))
    return PrepPlan(out, document, jobs, Counter(dataset.dropped))


def records_fingerprint(records: Sequence[FaceRecord]) -> str:
    """sha256 over what decides each record's output (where its pixels come
    from, box, landmarks, labels), so a changed annotation file is noticed."""
    digest = hashlib.sha256()
    for r in records:
        digest.update(f"{r.source}|{r.image_path}|{r.box}|{r.labels}\n".encode())
        if r.landmarks is not None:
            digest.update(r.landmarks.tobytes())
        if r.pixels is not None:
            digest.update(r.pixels.tobytes())
    return digest.hexdigest()


def claim_directory(plan: PrepPlan) -> None:
    """Create the output directory with its plan, or check that an existing
    one was planned identically (then its finished shards can be kept)."""
    out = plan.out_dir
    path = out / PLAN_FILE
    if path.is_file():
        try:
            earlier = json.loads(path.read_text())
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON ({exc}); remove the directory to start over") from None
        difference = _first_difference(earlier, plan.document)
        if difference is not None:
            field_name, was, now = difference
            raise InputError(f"{out}: holds a different preparation ({field_name}: was {_short(was)}, "
                             f"now {_short(now)}); use another --out or remove it to start over")
        remove_stale_temporaries(out)
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not an edge-affect prep directory (no {PLAN_FILE}); "
                         "use a new or empty --out")
    write_text_atomic(path, json.dumps(plan.document, indent=2, sort_keys=True) + "\n")


def _first_difference(was: Any, now: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The dotted path of the first field where two plan documents differ."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in list(now) + [k for k in was if k not in now]:  # the plan's order: task before model
            found = _first_difference(was.get(key), now.get(key), f"{where}.{key}" if where else key)
            if found is not None:
                return found
        return None
    return None if was == now else (where, was, now)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def execute(plan: PrepPlan, engine: str = "local", workers: int | None = None,
            on_shard: Callable[[ShardResult, bool], None] | None = None,
            ray_address: str | None = None) -> PrepSummary:
    """Run the unfinished shards of a claimed plan, then write rejects.jsonl
    and index.json. ``on_shard(result, skipped)`` reports each shard."""
    report = on_shard or (lambda result, skipped: None)
    done, todo = {}, []
    for job in plan.jobs:
        result = finished_shard(job)
        if result is None:
            todo.append(job)
        else:
            done[job.index] = result
            report(result, True)
    start = time.perf_counter()
    for result in run_jobs(engine, todo, workers, lambda r: report(r, False), ray_address):
        done[result.index] = result
    seconds = time.perf_counter() - start
    results = [done[job.index] for job in plan.jobs]
    write_outputs(plan, results)
    rejects = [r for result in results for r in result.rejects]
    examples: dict[str, str] = {}
    for r in rejects:
        examples.setdefault(r["stage"], r["reason"])
    return PrepSummary(
        out_dir=plan.out_dir, records=plan.document["records"], samples=sum(r.samples for r in results),
        rejected=len(rejects), rejected_by_stage=Counter(r["stage"] for r in rejects), example_reasons=examples,
        loader_dropped=plan.loader_dropped,
        shards=len(results), shards_skipped=len(plan.jobs) - len(todo),
        records_processed=sum(len(job.records) for job in todo), seconds=seconds, results=results)


def write_outputs(plan: PrepPlan, results: Sequence[ShardResult]) -> None:
    lines = [json.dumps(r, sort_keys=True) for result in results for r in result.rejects]
    write_text_atomic(plan.out_dir / REJECTS_FILE, "".join(line + "\n" for line in lines))
    index = {
        **{k: v for k, v in plan.document.items() if k != "records_sha256"},
        "samples": sum(r.samples for r in results),
        "rejected": sum(len(r.rejects) for r in results),
        "rejects": REJECTS_FILE,
        "shards": [r.index_entry() for r in results],
    }
    write_text_atomic(plan.out_dir / INDEX_FILE, json.dumps(index, indent=2, sort_keys=True) + "\n")


def prepare_dataset(data: str, task: str, out_dir: str | Path, *, engine: str = "local",
                    workers: int | None = None, model: str | None = None, shard_size: int = DEFAULT_SHARD_SIZE,
                    shard_format: str = "tar", landmark_model: str | None = None,
                    on_shard: Callable[[ShardResult, bool], None] | None = None,
                    ray_address: str | None = None) -> PrepSummary:
    """Load ``data`` ("KIND[SPLIT]:PATH"), plan, claim ``out_dir`` and run."""
    dataset = load_dataset(data)
    plan = plan_preparation(dataset, data, task, out_dir, model=model, shard_size=shard_size,
                            shard_format=shard_format, landmark_model=landmark_model)
    claim_directory(plan)
    return execute(plan, engine, workers, on_shard, ray_address)


__all__ = ["DEFAULT_MODELS", "DEFAULT_SHARD_SIZE", "INDEX_FILE", "PLAN_FILE", "REJECTS_FILE", "PrepPlan",
           "PrepSummary", "claim_directory", "execute", "plan_preparation", "prepare_dataset",
           "records_fingerprint", "resolve_spec"]
