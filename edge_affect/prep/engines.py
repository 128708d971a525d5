"""Engines: who runs the shard jobs. Every engine calls ``shards.run_shard``
(and through it the one per-record function), so they differ only in where
the work happens, never in what it produces.

local  this machine: in this process for one worker, else a process pool
       (spawned workers, one shard at a time each).
ray    Ray Data: one row per shard job, mapped by ``run_shard`` on the
       cluster's CPUs. ``address=None`` starts a local Ray instance (or joins
       the one RAY_ADDRESS names). On a cluster the dataset's image paths and
       the output directory must be visible to every node at the same path
       (a shared file system), and edge-affect installed on every node.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence

from edge_affect.errors import EdgeAffectError
from edge_affect.prep import shards
from edge_affect.prep.shards import ShardJob, ShardResult

ENGINES = ("local", "ray")
RAY_EXTRA = "ray"

OnShard = Callable[[ShardResult], None]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_jobs(engine: str, jobs: Sequence[ShardJob], workers: int | None, on_shard: OnShard,
             ray_address: str | None = None) -> list[ShardResult]:
    """Run every job on ``engine``; ``on_shard`` sees each result as it lands.
    Returns the results in job order."""
    if engine not in ENGINES:
        raise EdgeAffectError(f"engine: expected one of {list(ENGINES)}, got {engine!r}")
    if workers is not None and workers < 1:
        raise EdgeAffectError(f"workers: expected an integer >= 1, got {workers}")
    if not jobs:
        return []
    if engine == "ray":
        results = run_ray(jobs, workers, on_shard, ray_address)
    else:
        results = run_local(jobs, workers or usable_cores(), on_shard)
    return sorted(results, key=lambda r: r.index)


def run_local(jobs: Sequence[ShardJob], workers: int, on_shard: OnShard) -> list[ShardResult]:
    if workers == 1 or len(jobs) == 1:
        return _run_in_process(jobs, on_shard)
    results = []
    context = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads (OpenCV, torch)
    with futures.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                                     initializer=_single_threaded) as pool:
        pending = [pool.submit(shards.run_shard, job) for job in jobs]
        try:
            for future in futures.as_completed(pending):
                results.append(future.result())
                on_shard(results[-1])
        except BaseException:
            # Shards already running finish (their writes are atomic); queued ones never start.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results


def _run_in_process(jobs: Sequence[ShardJob], on_shard: OnShard) -> list[ShardResult]:
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one worker means one core, as in the pool
    try:
        results = []
        for job in jobs:
            results.append(shards.run_shard(job))
            on_shard(results[-1])
        return results
    finally:
        cv2.setNumThreads(threads)


def _single_threaded() -> None:
    """Pool worker start-up: each worker is one core's worth of work, so
    OpenCV's own thread pool would only oversubscribe the machine."""
    import cv2

    cv2.setNumThreads(1)


def ray_available() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def run_ray(jobs: Sequence[ShardJob], workers: int | None, on_shard: OnShard,
            address: str | None = None) -> list[ShardResult]:
    """Shard jobs as a Ray Dataset mapped by ``run_shard``. Jobs and results
    travel pickled in a bytes column, which Ray Data carries as is."""
    if not ray_available():
        raise EdgeAffectError(f"--engine ray needs Ray Data, which is not importable: install the optional "
                              f"extra '{RAY_EXTRA}' (pip install 'edge-affect[{RAY_EXTRA}]')")
    import ray
    import ray.data

    started_here = not ray.is_initialized()
    if started_here:
        joins_cluster = address is not None or "RAY_ADDRESS" in os.environ
        ray.init(address=address, num_cpus=None if joins_cluster else (workers or usable_cores()),
                 include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    data_logger = logging.getLogger("ray.data")
    level = data_logger.level
    data_logger.setLevel(logging.ERROR)  # our progress bar reports the shards; Ray's would interleave with it
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        rows = [{"job": pickle.dumps(job)} for job in jobs]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        results = []
        for row in dataset.map(_ray_run_shard, num_cpus=1).iter_rows():
            results.append(pickle.loads(row["result"]))
            on_shard(results[-1])
        return results
    finally:
        data_logger.setLevel(level)
        if started_here:
            ray.shutdown()


def _ray_run_shard(row: dict) -> dict:
    _single_threaded()
    return {"result": pickle.dumps(shards.run_shard(pickle.loads(row["job"])))}


__all__ = ["ENGINES", "RAY_EXTRA", "ray_available", "run_jobs", "run_local", "run_ray", "usable_cores"]
