"""The train and evaluate commands end to end, including cross-dataset evaluation
(train on synthetic faces, evaluate on a GENKI-4K copy written in its published layout)."""

import json

import cv2
import pytest

from edge_affect.cli import main
from edge_affect.data.synthetic import generate


@pytest.fixture
def genki_copy(tmp_path):
    """GENKI-4K layout: labels.txt ("smile yaw pitch roll") and files/file0001.jpg ..."""
    root = tmp_path / "GENKI4K"
    (root / "files").mkdir(parents=True)
    faces = generate(12, seed=7, size=(96, 96), color="rgb")
    lines = []
    for i, face in enumerate(faces, start=1):
        cv2.imwrite(str(root / "files" / f"file{i:04d}.jpg"), cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR))
        lines.append(f"{face.labels['smile']} 0.0 0.0 0.0")
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    return root


def test_train_resume_then_evaluate_on_another_dataset(tmp_path, genki_copy, capsys):
    out = tmp_path / "run"
    args = ["train", "smile_tiny", "--data", "synthetic:48", "--batch", "16", "--out", str(out), "--threads", "1",
            "--no-progress", "--val-fraction", "0.25", "--json"]
    assert main(args + ["--epochs", "1"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["epochs_run"] == 1 and (out / "last.safetensors").exists()

    assert main(args + ["--epochs", "2", "--resume"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["epochs_run"] == 1 and second["final"]["epoch"] == 2

    report = tmp_path / "report"
    assert main(["evaluate", "smile_tiny", "--weights", str(out / "best.safetensors"), "--data",
                 f"genki4k:{genki_copy}", "--report", str(report), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 12 and summary["data"].startswith("genki4k:")
    assert (report / "metrics.json").exists() and (report / "training_curves.png").exists()


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["train", "smile_tiny", "--data", "nosuchkind:x", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "unknown dataset kind 'nosuchkind'" in capsys.readouterr().err
    assert main(["evaluate", "smile_tiny", "--data", "synthetic:4", "--report", str(tmp_path)]) == 2
    assert "pass --weights" in capsys.readouterr().err
