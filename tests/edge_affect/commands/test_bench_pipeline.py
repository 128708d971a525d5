import json

from edge_affect.cli import main


def test_bench_pipeline_reports_fps_and_stages_for_0_1_and_many_faces(capsys):
    assert main(["bench", "--pipeline", "--backend", "torch", "--frames", "4", "--runs", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["threads"] == 1 and result["frame_size"] == [640, 480] and result["backend"] == "torch"
    by_count = {v["faces_in_video"]: v for v in result["videos"]}
    assert set(by_count) == {0, 1, 6}
    assert by_count[0]["faces_found_per_frame"] == 0 and by_count[0]["infer_ms_per_face"] is None
    assert by_count[1]["faces_found_per_frame"] == 1 and by_count[6]["faces_found_per_frame"] >= 5
    for video in result["videos"]:
        assert video["frames"] == 4 and video["fps"] > 0
        assert {"decode", "detect", "preprocess", "infer", "draw"} <= set(video["stage_ms_per_frame"])
    assert result["classifier_ms_per_face"]["runs"] == 5 and result["classifier_ms_per_face"]["median_ms"] > 0


def test_bench_pipeline_table(capsys):
    assert main(["bench", "--pipeline", "--backend", "torch", "--frames", "2", "--runs", "3"]) == 0
    out = capsys.readouterr().out
    assert "FPS" in out and "classifier alone" in out


def test_bench_needs_a_directory_or_pipeline(capsys):
    assert main(["bench"]) == 2
    assert "give a bundle directory, or --pipeline" in capsys.readouterr().err
