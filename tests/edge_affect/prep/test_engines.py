import pytest

from edge_affect.errors import EdgeAffectError
from edge_affect.prep.engines import ray_available, run_jobs
from edge_affect.prep.pipeline import prepare_dataset

SHARD = 4  # 24 records -> 6 shards, so two workers share the work


def directory_bytes(root):
    """Every output file (shards, index, rejects, done markers) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def one_worker(affectnet_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("local-1")
    prepare_dataset(affectnet_data, "eye_slot", out, engine="local", workers=1, shard_size=SHARD)
    return out


def test_one_and_two_local_workers_write_identical_directories(affectnet_data, one_worker, tmp_path):
    summary = prepare_dataset(affectnet_data, "eye_slot", tmp_path, engine="local", workers=2, shard_size=SHARD)
    assert (summary.shards, summary.samples, summary.rejected) == (6, 22, 2)
    assert directory_bytes(tmp_path) == directory_bytes(one_worker)


@pytest.mark.slow
def test_ray_data_local_instance_equals_the_local_engine(affectnet_data, one_worker, tmp_path):
    if not ray_available():
        pytest.skip("Ray Data is not installed (optional extra 'ray'); the ray engine is checked where it is")
    summary = prepare_dataset(affectnet_data, "eye_slot", tmp_path, engine="ray", workers=2, shard_size=SHARD)
    assert (summary.shards, summary.samples, summary.rejected) == (6, 22, 2)
    assert directory_bytes(tmp_path) == directory_bytes(one_worker)


def test_ray_engine_without_ray_names_the_extra(affectnet_data, tmp_path):
    if ray_available():
        pytest.skip("Ray Data is installed here; this checks the message given without it")
    with pytest.raises(EdgeAffectError, match=r"optional extra 'ray'.*edge-affect\[ray\]"):
        prepare_dataset(affectnet_data, "eye_slot", tmp_path, engine="ray", shard_size=SHARD)


def test_engine_arguments_are_checked():
    with pytest.raises(EdgeAffectError, match="engine: expected one of"):
        run_jobs("spark", [], 1, print)
    with pytest.raises(EdgeAffectError, match="workers: expected an integer >= 1, got 0"):
        run_jobs("local", [], 0, print)
    assert run_jobs("local", [], 2, print) == []
