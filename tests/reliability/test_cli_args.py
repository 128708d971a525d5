"""Command-line arguments out of range or naming things that do not exist:
exit status 2 with a one-line error (argparse: its usage, then one error
line), never a traceback, and no output left behind by a failed command."""

from __future__ import annotations

import pytest

from edge_affect.cli import main

from reliability_helpers import assert_one_line_error, files_under


@pytest.mark.parametrize("argv, message", [
    (["bench", "x", "--runs", "0"], "argument --runs: expected a whole number >= 1, got 0"),
    (["bench", "x", "--runs", "-5"], "argument --runs: expected a whole number >= 1, got -5"),
    (["bench", "x", "--runs", "many"], "argument --runs: expected a whole number >= 1, got 'many'"),
    (["bench", "x", "--threads", "0"], "argument --threads: expected a whole number >= 1, got 0"),
    (["convert", "mini_xception_fer2013", "--target", "tflite", "--out", "o"], "argument --target: invalid choice"),
    (["convert", "mini_xception_fer2013", "--target", "onnx"], "the following arguments are required: --out"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_argparse_rejections(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and message in err.strip().splitlines()[-1], err


@pytest.mark.parametrize("argv, message", [
    (["convert", "no_such_model", "--target", "onnx", "--out", "{out}"], "no_such_model"),
    (["convert", "mini_xception_fer2013", "--target", "onnx", "--quantize", "int8", "--out", "{out}"],
     "builds precisions"),
    (["convert", "mini_xception_fer2013", "--target", "onnx", "--out", "{out}", "--weights", "{tmp}/w.pt"],
     "pickled checkpoints are not loaded"),
    (["convert", "mini_xception_fer2013", "--target", "onnx", "--out", "{out}", "--weights",
      "{tmp}/none.safetensors"], "weights file not found"),
    (["parity", "{tmp}/nowhere"], "nowhere: no such directory"),
    (["bench", "{tmp}/nowhere"], "nowhere: no such directory"),
    (["parity", "{tmp}", "--inputs", "{tmp}/none.npy"], "none.npy: no such file"),
])
def test_errors_are_one_line_and_write_nothing(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.pt").write_bytes(b"\x80\x04pickle")
    out = tmp_path / "out"
    argv = [a.format(out=out, tmp=tmp_path) for a in argv]
    before = files_under(tmp_path)
    assert main(argv) == 2
    assert_one_line_error(capsys, message)
    assert files_under(tmp_path) == before and not out.exists()
