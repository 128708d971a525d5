"""`edge-affect prep`: a dataset -> training shards (face crops, eye slots or
landmarks), on this machine or a Ray cluster; `edge-affect prep-bench`: the
eye-slot throughput benchmark."""

from __future__ import annotations

import argparse
import json

from edge_affect.prep.engines import ENGINES
from edge_affect.prep.pipeline import DEFAULT_MODELS, DEFAULT_SHARD_SIZE
from edge_affect.prep.record import TASKS
from edge_affect.prep.shards import SHARD_FORMATS


def register(subparsers) -> None:
    p = subparsers.add_parser("prep", help="prepare a dataset into training shards (resumable, local or Ray)")
    p.add_argument("--data", required=True, help="KIND:PATH or KIND[SPLIT]:PATH, e.g. affectnet[training]:AffectNet")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--out", required=True, help="output directory; re-running into it resumes")
    p.add_argument("--engine", choices=ENGINES, default="local")
    p.add_argument("--workers", type=int, default=None,
                   help="local: worker processes (default: the usable cores); ray: CPUs of a local Ray instance")
    p.add_argument("--model", help="registered model whose input spec to prepare for (default: "
                   + ", ".join(f"{task} {name}" for task, name in DEFAULT_MODELS.items()) + ")")
    p.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, help="records per shard")
    p.add_argument("--format", choices=SHARD_FORMATS, default="tar",
                   help="tar: WebDataset (PNG + JSON per sample); npz: arrays per shard")
    p.add_argument("--landmark-model", metavar="PATH", help="any dlib 68-point shape predictor .dat, to detect "
                   "landmarks for records without them (optional extra 'landmarks')")
    p.add_argument("--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else a local instance)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_prep)

    b = subparsers.add_parser("prep-bench", help="eye-slot preparation records/s/core: local 1 vs N workers vs Ray")
    b.add_argument("--records", type=int, default=1000, help="synthetic AffectNet-format records to prepare")
    b.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker counts to time")
    b.add_argument("--no-ray", action="store_true", help="skip the Ray Data run")
    b.add_argument("--dir", help="work directory (default: a temporary one, removed afterwards)")
    b.set_defaults(func=cmd_prep_bench)


def cmd_prep(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from edge_affect.data.loaders import load_dataset
    from edge_affect.prep.engines import usable_cores
    from edge_affect.prep.pipeline import claim_directory, execute, plan_preparation

    console = Console(stderr=True)
    with console.status(f"loading {args.data}"):
        dataset = load_dataset(args.data)
        plan = plan_preparation(dataset, args.data, args.task, args.out, model=args.model,
                                shard_size=args.shard_size, shard_format=args.format,
                                landmark_model=args.landmark_model)
        claim_directory(plan)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("records"),
               TextColumn("[cyan]{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(f"{args.task} ({args.engine})", total=plan.document["records"], rate="")

        processed = [0]  # by this run: finished shards found on disk do not count towards the rate

        def on_shard(result, skipped: bool) -> None:
            progress.advance(bar, result.records)
            if not skipped:
                processed[0] += result.records
                elapsed = progress.tasks[bar].elapsed or 0.0
                if elapsed > 0:
                    progress.update(bar, rate=f"{processed[0] / elapsed:.0f}/s")

        summary = execute(plan, args.engine, args.workers, on_shard, args.ray_address)
    cores = args.workers or (usable_cores() if args.engine == "local" else None)
    report = summary_dict(summary, cores)
    if args.json:
        print(json.dumps(report))
    else:
        print_summary(report)
    return 0


def summary_dict(summary, cores: int | None) -> dict:
    rate = summary.records_per_second
    return {
        "out": str(summary.out_dir), "records": summary.records, "samples": summary.samples,
        "rejected": summary.rejected, "rejected_by_stage": dict(summary.rejected_by_stage),
        "example_reasons": summary.example_reasons, "loader_dropped": dict(summary.loader_dropped),
        "shards": summary.shards, "shards_skipped": summary.shards_skipped,
        "records_processed": summary.records_processed, "seconds": round(summary.seconds, 3),
        "records_per_s": round(rate, 1),
        "records_per_s_per_core": round(rate / cores, 1) if cores else None,
    }


def print_summary(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"prepared {report['out']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("records", f"{report['records']:,}")
    for reason, n in report["loader_dropped"].items():
        table.add_row("dropped by the loader", f"{n:,} {reason}")
    table.add_row("samples written", f"{report['samples']:,}")
    table.add_row("rejected (rejects.jsonl)", f"{report['rejected']:,}")
    for stage, n in report["rejected_by_stage"].items():
        table.add_row(f"  at {stage}", f"{n:,}, e.g. {report['example_reasons'][stage]}")
    table.add_row("shards", f"{report['shards']} ({report['shards_skipped']} already finished, skipped)")
    table.add_row("this run", f"{report['records_processed']:,} records in {report['seconds']:.1f} s "
                  f"= {report['records_per_s']:.1f} records/s")
    if report["records_per_s_per_core"] is not None:
        table.add_row("per core", f"{report['records_per_s_per_core']:.1f} records/s")
    Console().print(table)


def cmd_prep_bench(args: argparse.Namespace) -> int:
    from edge_affect.prep_bench import print_bench, run_bench

    print_bench(run_bench(args.records, tuple(args.workers), ray=not args.no_ray, work_dir=args.dir))
    return 0
