"""Benchmarks: per-face latency of each bundle in its own runtime (figures, not tests)."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_affect.bundle import find_bundles, load_bundle


def time_runner(runner, x: np.ndarray, runs: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        runner(x)
    samples = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        runner(x)
        samples[i] = time.perf_counter() - start
    ms = samples * 1e3
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "min_ms": float(ms.min()), "runs": runs}


def bench_bundles(root: Path, runs: int = 200, threads: int = 1) -> list[dict[str, Any]]:
    import torch

    torch.set_num_threads(threads)
    converters = importlib.import_module("edge_affect.converters")
    results = []
    for path in find_bundles(root):
        bundle = load_bundle(path)
        converter = converters.get_converter(bundle.target)
        converter.threads = threads
        row = {"bundle": str(path), "model": bundle.model, "target": bundle.target,
               "precision": bundle.precision, "artifact_bytes": bundle.manifest.get("artifact_bytes"),
               "threads": threads}
        runnable, reason = converter.can_execute()
        if not runnable:
            results.append({**row, "skipped": reason})
            continue
        runner = converter.load(bundle.root, bundle.manifest)
        x = bundle.load_array("inputs")[:1]
        results.append({**row, **time_runner(runner, x, runs)})
    return results


def print_bench(results: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from edge_affect.ui import stdout_console

    table = Table(title="per-face latency (batch 1)")
    for col in ("target", "precision", "size", "median ms", "p90 ms", "threads"):
        table.add_column(col)
    for r in results:
        size = f"{(r.get('artifact_bytes') or 0) / 1024:.0f} KiB"
        if "skipped" in r:
            table.add_row(r["target"], r["precision"], size, f"skipped: {r['skipped']}", "-", "-")
        else:
            table.add_row(r["target"], r["precision"], size, f"{r['median_ms']:.3f}", f"{r['p90_ms']:.3f}",
                          str(r["threads"]))
    stdout_console().print(table)
