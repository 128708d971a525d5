"""Shards: the unit of work, of output and of resumption.

Shard ``i`` holds the prepared samples of records ``[i * size, (i + 1) *
size)`` of the dataset, so its content depends only on those records and the
config, never on which engine or worker made it. Two formats:

tar  WebDataset layout: per sample ``KEY.png`` (the crop) and ``KEY.json``
     (key, source, labels, box, landmarks); ``KEY.json`` alone for the
     landmarks task. Members in record order, with fixed metadata (mtime 0,
     uid 0, mode 644), so equal samples give equal bytes.
npz  One zip (deflate, fixed timestamps): ``images`` (N, H, W[, 3]) uint8,
     ``keys``, ``expression`` and ``smile`` (int64, -1 = absent),
     ``valence`` and ``arousal`` (float32, NaN = absent), ``landmarks``
     (N, 68, 2) float32 (NaN = absent) and ``meta.json`` (the per-sample JSON).

A shard is written to a temporary file and renamed into place, then a
``done/NAME.json`` marker records its counts, size, sha256 and the records
it rejected. A shard counts as finished only when the marker exists and the
file matches it: a crash mid-shard leaves at most a hidden temporary file
(removed by the next run), and the next run redoes exactly the unfinished
shards.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from edge_affect.data.landmarks import NUM_LANDMARKS
from edge_affect.data.records import FaceRecord
from edge_affect.errors import InputError, IntegrityError
from edge_affect.fileio import sha256_file, write_text_atomic
from edge_affect.prep import record as per_record
from edge_affect.prep.record import PrepConfig, Rejection, Sample, decode_png, record_key

SHARD_FORMATS = ("tar", "npz")
ENCODING_OF_FORMAT = {"tar": "png", "npz": "raw"}
DONE_DIR = "done"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_NPZ_COMPRESSLEVEL = 1


@dataclass(frozen=True)
class ShardJob:
    """Prepare ``records`` (dataset indices ``first_record`` onwards) into
    shard ``index`` of ``out_dir``."""

    index: int
    first_record: int
    records: tuple[FaceRecord, ...]
    config: PrepConfig
    out_dir: str
    shard_format: str

    @property
    def name(self) -> str:
        return shard_name(self.index, self.shard_format)


@dataclass(frozen=True)
class ShardResult:
    """What a finished shard holds: counts, size, sha256, and the rejected
    records with their reasons (Rejection.to_json dicts, in record order)."""

    index: int
    name: str
    first_record: int
    records: int
    samples: int
    bytes: int
    sha256: str
    rejects: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejects"] = list(self.rejects)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardResult:
        return cls(**{**data, "rejects": tuple(data["rejects"])})

    def index_entry(self) -> dict[str, Any]:
        """The shard's line in index.json (its rejects go to rejects.jsonl)."""
        entry = self.to_json()
        del entry["rejects"]
        entry["rejected"] = len(self.rejects)
        return entry


def shard_name(index: int, shard_format: str) -> str:
    return f"shard-{index:06d}.{shard_format}"


def done_marker(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / DONE_DIR / f"{name}.json"


def run_shard(job: ShardJob) -> ShardResult:
    """Prepare every record of the job with the per-record function and write
    the shard atomically, then its done marker. Engines call only this."""
    out_dir = Path(job.out_dir)
    path = out_dir / job.name
    rejects: list[dict[str, Any]] = []

    def samples() -> Iterator[Sample]:
        for offset, record in enumerate(job.records):
            # Looked up on the module at call time, so one definition serves every engine.
            result = per_record.prepare_record(record, record_key(job.first_record + offset), job.config)
            if isinstance(result, Rejection):
                rejects.append(result.to_json())
            else:
                yield result

    writer = _write_tar if job.shard_format == "tar" else _write_npz
    with _atomic_output(path) as fh:
        count = writer(fh, samples(), job)
    result = ShardResult(job.index, job.name, job.first_record, len(job.records), count, path.stat().st_size,
                         sha256_file(path), tuple(rejects))
    write_text_atomic(done_marker(out_dir, job.name), json.dumps(result.to_json(), sort_keys=True))
    return result


def finished_shard(job: ShardJob) -> ShardResult | None:
    """The job's result if an earlier run finished it (marker present, for
    the same records, and the shard file of the recorded size), else None."""
    marker = done_marker(Path(job.out_dir), job.name)
    try:
        result = ShardResult.from_json(json.loads(marker.read_text()))
        size = (Path(job.out_dir) / job.name).stat().st_size
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if (result.name, result.first_record, result.records, result.bytes) != (
            job.name, job.first_record, len(job.records), size):
        return None
    return result


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left behind (never a finished shard)."""
    stale = [p for p in Path(out_dir).glob(".shard-*.tmp") if p.is_file()]
    stale += [p for p in (Path(out_dir) / DONE_DIR).glob(".shard-*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def verify_shard(path: Path, sha256: str) -> None:
    actual = sha256_file(path)
    if actual != sha256:
        raise IntegrityError(f"{path}: sha256 {actual} does not match the index ({sha256}); "
                             "the shard was modified or damaged since it was written")


@contextmanager
def _atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``path``, renamed onto it only when the block
    finishes; on any error (or interrupt) it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _meta_json(sample: Sample) -> bytes:
    return json.dumps(sample.meta, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------- tar (WebDataset)


def _tar_member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _write_tar(fh: BinaryIO, samples: Iterator[Sample], job: ShardJob) -> int:
    count = 0
    with tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in samples:
            members = [(f"{sample.key}.json", _meta_json(sample))]
            if sample.png is not None:
                members.insert(0, (f"{sample.key}.png", sample.png))
            for name, data in members:
                tar.addfile(_tar_member(name, len(data)), io.BytesIO(data))
            count += 1
    return count


def read_tar(path: Path) -> Iterator[tuple[dict[str, Any], np.ndarray | None]]:
    """(meta, image or None) per sample of a tar shard, in order."""
    pending: dict[str, Any] = {}
    with tarfile.open(path, mode="r:") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if pending and pending["key"] != key:
                yield _tar_sample(pending, path)
                pending = {}
            pending["key"] = key
            pending[ext] = tar.extractfile(member).read()
    if pending:
        yield _tar_sample(pending, path)


def _tar_sample(parts: dict[str, Any], path: Path) -> tuple[dict[str, Any], np.ndarray | None]:
    if "json" not in parts:
        raise InputError(f"{path}: sample {parts['key']} has no .json member")
    image = decode_png(parts["png"]) if "png" in parts else None
    return json.loads(parts["json"]), image


# ---------------------------------------------------------------------------- npz


def _write_npz(fh: BinaryIO, samples: Iterator[Sample], job: ShardJob) -> int:
    metas: list[dict[str, Any]] = []
    images = None
    for sample in samples:
        if sample.raw is not None:
            if images is None:  # one buffer for the whole shard, sized by the first crop
                images = np.empty((len(job.records),) + sample.raw.shape, dtype=np.uint8)
            images[len(metas)] = sample.raw
        metas.append(sample.meta)
    arrays = _label_arrays(metas)
    if job.config.spec is not None:
        size = job.config.spec.size + ((3,) if job.config.spec.color == "rgb" else ())
        arrays["images"] = images[:len(metas)] if images is not None else np.empty((0,) + size, np.uint8)
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, array in sorted(arrays.items()):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            _zip_write(archive, f"{name}.npy", buffer.getvalue())
        _zip_write(archive, "meta.json", json.dumps(metas, sort_keys=True, separators=(",", ":")).encode())
    return len(metas)


def _zip_write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=_NPZ_COMPRESSLEVEL)


def _label_arrays(metas: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    def column(name: str, dtype, absent) -> np.ndarray:
        return np.array([absent if m["labels"][name] is None else m["labels"][name] for m in metas], dtype=dtype)

    landmarks = np.full((len(metas), NUM_LANDMARKS, 2), np.nan, dtype=np.float32)
    for i, meta in enumerate(metas):
        if meta["landmarks"] is not None:
            landmarks[i] = meta["landmarks"]
    return {
        "keys": np.array([m["key"] for m in metas], dtype=f"<U{per_record.KEY_DIGITS}"),
        "expression": column("expression", np.int64, -1),
        "smile": column("smile", np.int64, -1),
        "valence": column("valence", np.float32, np.nan),
        "arousal": column("arousal", np.float32, np.nan),
        "landmarks": landmarks,
    }


def read_npz(path: Path) -> Iterator[tuple[dict[str, Any], np.ndarray | None]]:
    """(meta, image or None) per sample of an npz shard, in order."""
    with np.load(path, allow_pickle=False) as archive:
        metas = json.loads(archive["meta.json"])
        images = archive["images"] if "images" in archive.files else None
    if images is not None and len(images) != len(metas):
        raise InputError(f"{path}: {len(images)} images but {len(metas)} meta entries")
    for i, meta in enumerate(metas):
        yield meta, (images[i] if images is not None else None)


READERS = {"tar": read_tar, "npz": read_npz}


__all__ = ["DONE_DIR", "ENCODING_OF_FORMAT", "READERS", "SHARD_FORMATS", "ShardJob", "ShardResult",
           "done_marker", "finished_shard", "read_npz", "read_tar", "remove_stale_temporaries", "run_shard",
           "shard_name", "verify_shard"]
