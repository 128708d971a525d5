import json
import shutil

import numpy as np
import pytest

from edge_affect.cli import main
from edge_affect.converters.build import plan


def test_models_json_lists_the_default_model(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["name"] == "mini_xception_fer2013")
    assert row["pretrained"] and row["input_shape"] == [1, 1, 64, 64] and row["params"] > 50_000
    assert row["macs"] > 1_000_000


def test_parity_exits_zero_then_one_after_one_byte_changes(bundles_dir, tmp_path, capsys):
    copy = tmp_path / "bundles"
    shutil.copytree(bundles_dir, copy)
    assert main(["parity", str(copy), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(plan("all", None)) and all(r["pass"] for r in rows)
    for key in ("target", "precision", "n_inputs", "max_abs_diff", "top1_agreement", "pass"):
        assert key in rows[0]

    artifact = copy / "executorch-int8" / "model.pte"
    data = bytearray(artifact.read_bytes())
    data[100] ^= 0xFF
    artifact.write_bytes(bytes(data))
    assert main(["parity", str(copy), "--json"]) == 1
    rows = {r["target"] + "-" + r["precision"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert not rows["executorch-int8"]["pass"] and "sha256" in rows["executorch-int8"]["failures"][0]
    assert rows["onnx-fp32"]["pass"]


def test_parity_table_output(bundles_dir, capsys):
    assert main(["parity", str(bundles_dir / "onnx-fp32")]) == 0
    out = capsys.readouterr().out
    assert "onnx" in out and "pass" in out


@pytest.mark.parametrize("argv, message", [
    (["convert", "no_such_model", "--target", "onnx", "--out", "x"], "model 'no_such_model' is not registered"),
    (["convert", "mini_xception_fer2013", "--target", "onnx", "--quantize", "int8", "--out", "x"],
     "builds precisions"),
    (["parity", "/nonexistent/dir"], "no such directory"),
])
def test_errors_are_one_line_not_a_traceback(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_parity_inputs_of_the_wrong_dtype(bundles_dir, tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 64, 64), np.float32))
    assert main(["parity", str(bundles_dir / "onnx-fp32"), "--inputs", str(bad)]) == 2
    assert "expected a uint8 array, got float32" in capsys.readouterr().err
    assert main(["parity", str(bundles_dir / "onnx-fp32"), "--inputs", str(tmp_path / "none.npy")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_convert_writes_one_bundle(tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["convert", "mini_xception_fer2013", "--target", "onnx", "--out", str(out)]) == 0
    assert (out / "manifest.json").exists() and (out / "model.onnx").exists()
