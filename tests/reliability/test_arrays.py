"""Frames, boxes, landmarks and .npy face crops handed to the reference
preprocessing: wrong ones are InputErrors naming the problem. Absurd boxes
are refused at the C runtime's limits instead of allocating terabytes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from edge_affect.cli import main
from edge_affect.errors import InputError
from edge_affect.runtime.preprocess import MAX_BOX_DIM, MAX_REGION_DIM, preprocess, preprocess_crops

from reliability_helpers import assert_one_line_error

FRAME = np.zeros((240, 320), np.uint8)


@pytest.mark.parametrize("box", [(0, 0, 10**6, 10**6), (0, 0, 2**40, 5), (-5, -5, MAX_BOX_DIM + 1, 10)])
def test_boxes_beyond_the_c_limits_are_refused(spec, box):
    with pytest.raises(InputError, match=f"must be <= {MAX_BOX_DIM}"):
        preprocess(FRAME, spec.input, box=box)


def test_a_box_that_grows_past_the_region_limit(spec):
    import dataclasses

    wide = dataclasses.replace(spec.input, size=(1, 4096), pad="keep_aspect", crop_margin=1.0)
    with pytest.raises(InputError, match=f"the limit is {MAX_REGION_DIM} per side"):
        preprocess(FRAME, wide, box=(0, 0, 60, 60))


@pytest.mark.parametrize("landmarks", [np.full((68, 2), np.nan), np.full((68, 2), 1e30), np.zeros((67, 2))])
def test_landmarks_nan_huge_or_short(spec, landmarks):
    with pytest.raises(InputError, match="landmarks: expected 68 finite"):
        preprocess(FRAME, spec.input, landmarks=landmarks)


@pytest.mark.parametrize("crops, message", [
    (np.full((2, 64, 64), np.nan, np.float32), "expected a uint8 array, got float32"),
    (np.zeros((0, 64, 64), np.uint8), "N >= 1"),
    (np.zeros((2, 64, 64, 2), np.uint8), "expected shape"),
    ([[1, 2], [3, 4]], "expected a uint8 array, got list"),
])
def test_face_crop_stacks(spec, crops, message):
    with pytest.raises(InputError, match=message):
        preprocess_crops(crops, spec.input)


class _Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


@pytest.mark.parametrize("write, message", [
    (lambda p: np.save(p, np.array([_Boom()], dtype=object), allow_pickle=True), "allow_pickle=False"),
    (lambda p: p.write_bytes(b""), "not a readable .npy array"),
    (lambda p: (np.save(p, np.zeros((4, 64, 64), np.uint8)), p.write_bytes(p.read_bytes()[:200])),
     "not a readable .npy array"),
    (lambda p: p.write_bytes(pickle.dumps({"a": 1})), "not a readable .npy array"),
])
def test_parity_inputs_npy_files_are_never_unpickled(tmp_path, monkeypatch, capsys, write, message):
    """--inputs is read with allow_pickle=False: an object array is refused, nothing runs."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "inputs.npy"
    write(path)
    assert main(["parity", str(tmp_path), "--inputs", str(path)]) == 2
    assert_one_line_error(capsys, "inputs.npy", message)
    assert not (tmp_path / "PWNED").exists()
