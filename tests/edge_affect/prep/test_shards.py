import json
import tarfile

import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.errors import InputError
from edge_affect.prep import record as per_record
from edge_affect.prep.pipeline import claim_directory, execute, plan_preparation, prepare_dataset
from edge_affect.prep.shards import DONE_DIR, finished_shard, read_npz, read_tar

SHARD = 5  # 24 records -> shards of 5, 5, 5, 5, 4


def prepare(data, out, **kwargs):
    return prepare_dataset(data, "eye_slot", out, workers=1, shard_size=SHARD, **kwargs)


def test_shards_index_and_rejects(affectnet_data, rejected_rows, tmp_path):
    summary = prepare(affectnet_data, tmp_path)
    assert (summary.records, summary.samples, summary.rejected, summary.shards) == (24, 22, 2, 5)
    assert summary.rejected_by_stage == {"decode": 1, "crop": 1}
    index = json.loads((tmp_path / "index.json").read_text())
    assert [s["name"] for s in index["shards"]] == [f"shard-{i:06d}.tar" for i in range(5)]
    assert [s["records"] for s in index["shards"]] == [5, 5, 5, 5, 4]
    assert [s["first_record"] for s in index["shards"]] == [0, 5, 10, 15, 20]
    assert (index["records"], index["samples"], index["rejected"], index["task"]) == (24, 22, 2, "eye_slot")
    assert index["spec"]["input"]["size"] == [170, 520] and index["model"] == "ocular_va_m1"

    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["key"] for r in rejects] == [f"{rejected_rows['decode']:09d}", f"{rejected_rows['crop']:09d}"]
    assert [r["stage"] for r in rejects] == ["decode", "crop"]
    assert "missing.jpg" in rejects[0]["reason"] and "taller than wide" in rejects[1]["reason"]

    # every record is either a sample or a reject: nothing silently dropped
    keys = []
    for entry in index["shards"]:
        with tarfile.open(tmp_path / entry["name"]) as tar:
            members = tar.getmembers()
        assert all(m.mtime == 0 and m.uid == 0 and m.mode == 0o644 for m in members)
        names = [m.name for m in members]
        assert names[0::2] == [n.replace(".json", ".png") for n in names[1::2]]
        keys += [n.split(".")[0] for n in names[1::2]]
        assert len(names) == 2 * entry["samples"]
    assert sorted(keys + [r["key"] for r in rejects]) == [f"{i:09d}" for i in range(24)]


def test_npz_shards_hold_arrays(affectnet_data, tmp_path):
    prepare(affectnet_data, tmp_path, shard_format="npz")
    records = load_dataset(affectnet_data).records
    with np.load(tmp_path / "shard-000000.npz") as shard:
        assert shard["images"].shape == (5, 170, 520, 3) and shard["images"].dtype == np.uint8
        assert list(shard["keys"]) == [f"{i:09d}" for i in range(5)]
    metas = [meta for meta, _ in read_npz(tmp_path / "shard-000001.npz")]
    assert [m["key"] for m in metas] == [f"{i:09d}" for i in range(6, 10)]  # record 5 was rejected
    with np.load(tmp_path / "shard-000001.npz") as shard:
        np.testing.assert_allclose(shard["valence"], [records[i].labels.valence for i in range(6, 10)], rtol=1e-6)
        assert list(shard["smile"]) == [-1] * 4  # AffectNet has no smile label
        np.testing.assert_array_equal(shard["landmarks"][0], records[6].landmarks)


def _run_until_crash(plan, monkeypatch, crash_after: int):
    real = per_record.prepare_record
    calls = []

    def crashing(*args):
        if len(calls) == crash_after:
            raise RuntimeError("simulated crash")
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(per_record, "prepare_record", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        execute(plan, "local", 1)
    monkeypatch.setattr(per_record, "prepare_record", real)


def test_crash_mid_shard_leaves_no_partial_shard_and_resume_skips_finished(affectnet_data, tmp_path, monkeypatch):
    dataset = load_dataset(affectnet_data)
    plan = plan_preparation(dataset, affectnet_data, "eye_slot", tmp_path / "out", shard_size=SHARD)
    claim_directory(plan)
    _run_until_crash(plan, monkeypatch, crash_after=12)  # two shards done, the third cut after 2 records

    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-000000.tar", "shard-000001.tar"]
    assert sorted(p.name for p in (out / DONE_DIR).iterdir()) == ["shard-000000.tar.json", "shard-000001.tar.json"]
    assert not list(out.rglob("*.tmp")) and not (out / "index.json").exists()
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}

    # a re-run processes only the unfinished shards' records
    seen = []
    real = per_record.prepare_record
    monkeypatch.setattr(per_record, "prepare_record", lambda *args: seen.append(args[1]) or real(*args))
    summary = prepare(affectnet_data, out)
    assert seen == [f"{i:09d}" for i in range(10, 24)]
    assert (summary.shards_skipped, summary.records_processed, summary.samples, summary.rejected) == (2, 14, 22, 2)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*") if p.name in before} == before

    # and the result is byte for byte a clean run's
    prepare(affectnet_data, tmp_path / "clean")
    for name in ["index.json", "rejects.jsonl"] + [f"shard-{i:06d}.tar" for i in range(5)]:
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name


def test_a_damaged_or_unmarked_shard_is_redone(affectnet_data, tmp_path):
    prepare(affectnet_data, tmp_path)
    good = (tmp_path / "shard-000003.tar").read_bytes()
    (tmp_path / "shard-000003.tar").write_bytes(good[:1000])  # truncated: size no longer matches its marker
    (tmp_path / DONE_DIR / "shard-000001.tar.json").unlink()  # killed between the shard's rename and its marker
    (tmp_path / ".shard-000004.tar.abc.tmp").write_bytes(b"left by a killed run")
    summary = prepare(affectnet_data, tmp_path)
    assert (summary.shards_skipped, summary.records_processed) == (3, 10)
    assert (tmp_path / "shard-000003.tar").read_bytes() == good
    assert not list(tmp_path.glob("*.tmp"))


def test_rerun_with_other_settings_is_refused(affectnet_data, tmp_path):
    prepare(affectnet_data, tmp_path)
    with pytest.raises(InputError, match="shard_size: was 5, now 6"):
        prepare_dataset(affectnet_data, "eye_slot", tmp_path, workers=1, shard_size=6)
    with pytest.raises(InputError, match="task: was \"eye_slot\", now \"face_crop\""):
        prepare_dataset(affectnet_data, "face_crop", tmp_path, workers=1, shard_size=SHARD)
    (tmp_path.parent / "other").mkdir()
    (tmp_path.parent / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an edge-affect prep directory"):
        prepare(affectnet_data, tmp_path.parent / "other")


def test_finished_shard_needs_the_same_records(affectnet_data, tmp_path):
    dataset = load_dataset(affectnet_data)
    plan = plan_preparation(dataset, affectnet_data, "eye_slot", tmp_path, shard_size=SHARD)
    claim_directory(plan)
    execute(plan, "local", 1)
    assert all(finished_shard(job) is not None for job in plan.jobs)
    other = plan_preparation(dataset, affectnet_data, "eye_slot", tmp_path, shard_size=SHARD + 1)
    assert finished_shard(other.jobs[1]) is None


def test_tar_reader_groups_members_by_key(affectnet_data, tmp_path):
    prepare(affectnet_data, tmp_path)
    samples = list(read_tar(tmp_path / "shard-000002.tar"))
    assert [meta["key"] for meta, _ in samples] == [f"{i:09d}" for i in (10, 11, 12, 14)]
    assert all(image.shape == (170, 520, 3) for _, image in samples)


@pytest.mark.parametrize("shard_format", ["tar", "npz"])
def test_landmarks_shards_carry_no_images(affectnet_data, tmp_path, shard_format):
    # The landmarks task needs dlib only for records without landmarks; these all have them.
    from edge_affect.prep.record import PrepConfig
    from edge_affect.prep.shards import ENCODING_OF_FORMAT, ShardJob, run_shard

    records = load_dataset(affectnet_data).records[:4]
    config = PrepConfig("landmarks", None, ENCODING_OF_FORMAT[shard_format])
    result = run_shard(ShardJob(0, 0, tuple(records), config, str(tmp_path), shard_format))
    assert (result.samples, result.rejects) == (4, ())
    samples = list((read_tar if shard_format == "tar" else read_npz)(tmp_path / result.name))
    assert [image for _, image in samples] == [None] * 4
    np.testing.assert_array_equal(np.asarray(samples[2][0]["landmarks"], np.float32), records[2].landmarks)
    assert samples[2][0]["landmarks_from"] == "annotation"
    if shard_format == "tar":
        with tarfile.open(tmp_path / result.name) as tar:
            assert all(name.endswith(".json") for name in tar.getnames())
