import json

import pytest

from edge_affect.cli import main
from edge_affect.prep.synthetic_affectnet import write_synthetic_affectnet


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("affectnet")
    write_synthetic_affectnet(root, 8, seed=5, size=(96, 96))
    return f"affectnet:{root}"


def test_prep_writes_shards_and_prints_a_summary(data, tmp_path, capsys):
    out = tmp_path / "slots"
    argv = ["prep", "--data", data, "--task", "eye_slot", "--out", str(out), "--workers", "1", "--shard-size", "3",
            "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records"], report["samples"], report["rejected"], report["shards"]) == (8, 8, 0, 3)
    assert report["records_per_s_per_core"] > 0
    index = json.loads((out / "index.json").read_text())
    assert [s["records"] for s in index["shards"]] == [3, 3, 2]

    assert main(argv) == 0  # a re-run finds every shard finished
    report = json.loads(capsys.readouterr().out)
    assert (report["shards_skipped"], report["records_processed"]) == (3, 0)

    assert main(argv[:-1]) == 0  # the table
    assert "samples written" in capsys.readouterr().out


def test_prep_face_crops_with_a_named_model(data, tmp_path, capsys):
    out = tmp_path / "faces"
    assert main(["prep", "--data", data, "--task", "face_crop", "--out", str(out), "--workers", "1",
                 "--model", "mini_xception_fer2013", "--format", "npz"]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["model"] == "mini_xception_fer2013" and index["spec"]["input"]["size"] == [64, 64]
    assert (out / "shard-000000.npz").is_file()


@pytest.mark.parametrize("extra, message", [
    (["--task", "eye_slot", "--model", "mini_xception_fer2013"], "input.source is 'face_box'"),
    (["--task", "face_crop", "--model", "nope"], "model 'nope' is not registered"),
    (["--task", "eye_slot", "--workers", "0"], "workers: expected an integer >= 1"),
    (["--task", "eye_slot", "--shard-size", "0"], "shard size: expected an integer >= 1"),
])
def test_prep_errors_are_one_line(data, tmp_path, capsys, extra, message):
    assert main(["prep", "--data", data, "--out", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.usefixtures("without_dlib")
def test_landmarks_task_without_dlib_fails_naming_the_extra(data, tmp_path, capsys):
    assert main(["prep", "--data", data, "--task", "landmarks", "--out", str(tmp_path / "lm")]) == 2
    assert "optional extra 'landmarks'" in capsys.readouterr().err


def test_landmarks_task_refuses_a_file_that_is_not_a_predictor_before_reading_records(data, tmp_path, capsys):
    pytest.importorskip("dlib", reason="dlib is not installed (the test extra installs dlib-bin)")
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"not a shape predictor" * 3)
    out = tmp_path / "lm"
    assert main(["prep", "--data", data, "--task", "landmarks", "--out", str(out), "--landmark-model", str(bad)]) == 2
    assert f"{bad}: not a dlib shape predictor" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
