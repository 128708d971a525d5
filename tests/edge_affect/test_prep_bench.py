from edge_affect.prep_bench import print_bench, run_bench


def test_bench_reports_every_run_and_compares_their_shards(tmp_path, capsys):
    report = run_bench(12, workers=(1,), ray=False, work_dir=tmp_path)
    assert set(report["stages_ms"]) == {"decode", "eye_slot", "encode"}
    assert all(ms > 0 for ms in report["stages_ms"].values())
    [run] = report["runs"]
    assert run["run"] == "local x1" and run["cores"] == 1 and run["records_per_s_per_core"] > 0
    assert run["records_per_cpu_s"] > 0
    assert report["identical_shards"] is True
    print_bench(report)
    out = capsys.readouterr().out
    assert "local x1" in out and "shards identical across runs: yes" in out
