"""`edge-affect apollo3-cost fit|estimate`: the Apollo3 cost model (instructions,
latency, flash, RAM of an int8 model without building or emulating it)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def cmd_fit(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from edge_affect.converters.apollo3 import cost_model as cm

    names = args.programs or list(cm.CALIBRATION_PROGRAMS)
    unknown = sorted(set(names) - set(cm.CALIBRATION_PROGRAMS))
    if unknown:
        raise cm.CostModelError(f"unknown calibration program(s) {unknown}; known: {list(cm.CALIBRATION_PROGRAMS)}")
    kernels = tuple(args.kernels) if args.kernels else cm.KERNEL_SETS
    console = Console(stderr=True)
    started = time.monotonic()
    steps = len(names) * (1 + len(kernels))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("apollo3 cost model: lowering and measuring on QEMU", total=steps)

        def step(message: str) -> None:
            if message.startswith(("lowered", "measured")):
                progress.advance(task)
            progress.update(task, description=message)

        document = cm.run_fit(names, kernels, jobs=args.jobs, progress=step)
    path = cm.write_cost_model(document, Path(args.out) if args.out else cm.COST_MODEL_PATH)
    console.print(f"[green]wrote[/] {path} ({len(names)} programs, {time.monotonic() - started:.0f} s)")
    _print_fit(console, document)
    return 0


def _print_fit(console, document: dict) -> None:
    from rich.table import Table

    for kernels, fitted in document["kernels"].items():
        table = Table(title=f"{kernels} kernels: per-op fit (relative error)")
        for column in ("formula", "samples", "mean |err|", "max |err|"):
            table.add_column(column, justify="left" if column == "formula" else "right")
        for variant, stats in fitted["fit"]["ops"].items():
            table.add_row(variant, str(stats["samples"]), f"{stats['mean_abs_relative_error']:.2%}",
                          f"{stats['max_abs_relative_error']:.2%}")
        console.print(table)
        programs = fitted["fit"].get("programs", [])
        if programs:
            worst = max(abs(p["instructions_relative_error"]) for p in programs)
            console.print(f"{kernels}: whole-program instructions within {worst:.2%} on the calibration set")


def cmd_estimate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.converters.apollo3 import cost_model as cm
    from edge_affect.goldens import calibration_crops, model_inputs

    console = Console(stderr=True)
    cost_model = cm.load_cost_model(args.cost_model)
    model, spec = _load_model(args.model, Path(args.weights) if args.weights else None)
    with console.status(f"{args.model}: quantizing and lowering for the Apollo3 runtime"):
        calibration = model_inputs(calibration_crops(spec.input), spec.input)  # the converter's calibration set
        program, plan = cm.lower_for_estimate(model, spec, calibration)
    estimates = [cm.estimate_program(program, plan, k, cost_model=cost_model) for k in args.kernels]
    if args.json:
        print(json.dumps({"model": args.model, "weights": args.weights,
                          "estimates": [e.to_dict() for e in estimates]}, indent=1))
        return 0
    _print_estimates(args.model, estimates)
    return 0


def _load_model(name: str, weights: Path | None):
    """As `edge-affect convert` does: the registry entry, with a checkpoint's own spec and kwargs."""
    from edge_affect.errors import ConversionError
    from edge_affect.models import create_model, get_entry
    from edge_affect.models.checkpoint import checkpoint_metadata, trained_contract

    entry = get_entry(name)
    spec, checkpoint_kwargs = trained_contract(checkpoint_metadata(weights), weights, name, entry.spec,
                                               ConversionError)
    model = create_model(name, pretrained=weights is None, weights_path=weights,
                         **{**entry.kwargs, **checkpoint_kwargs})
    return model, spec


def _print_estimates(model: str, estimates) -> None:
    from rich.table import Table

    from edge_affect.ui import stdout_console

    console = stdout_console()
    summary = Table(title=f"{model} on the Apollo3 (Cortex-M4F), predicted by the cost model")
    summary.add_column("")
    for e in estimates:
        summary.add_column(f"{e.kernels} kernels", justify="right")
    rows = [("MACs", lambda e: f"{e.macs:,}"), ("instructions", lambda e: f"{e.instructions:,}"),
            ("latency @ 48 MHz (CPI 1)", lambda e: f"{e.latency_ms_48mhz:,.1f} ms"),
            ("latency @ 96 MHz (CPI 1)", lambda e: f"{e.latency_ms_96mhz:,.1f} ms"),
            ("flash: model", lambda e: f"{e.flash_model_bytes:,} B"),
            ("flash: runtime", lambda e: f"{e.flash_runtime_bytes:,} B"),
            ("flash: total", lambda e: f"{e.flash_bytes:,} B"),
            ("RAM: arena", lambda e: f"{e.arena_bytes:,} B"), ("RAM: stack", lambda e: f"{e.stack_bytes:,} B"),
            ("RAM: static", lambda e: f"{e.static_ram_bytes:,} B"), ("RAM: total", lambda e: f"{e.ram_bytes:,} B")]
    for label, cell in rows:
        summary.add_row(label, *(cell(e) for e in estimates))
    console.print(summary)
    ops = Table(title="per op")
    for column in ("#", "layer", "formula", "MACs", *(f"instr ({e.kernels})" for e in estimates)):
        ops.add_column(column, justify="right" if column not in ("layer", "formula") else "left")
    for i, op in enumerate(estimates[0].per_op):
        ops.add_row(str(i), op.layer, op.variant, f"{op.macs:,}",
                    *(f"{e.per_op[i].instructions:,}" for e in estimates))
    console.print(ops)


# Literal here so that building the CLI parser does not import torch (cost_model checks them again).
KERNEL_SETS = ("optimized", "reference")


def register(sub) -> None:
    p = sub.add_parser("apollo3-cost", help="Apollo3 cost model: fit it on QEMU, or estimate a model's cost",
                       description="Predicts a model's Apollo3 instructions (latency at 48/96 MHz, CPI 1), "
                                   "flash and RAM from its lowered int8 program, with per-op formulas fitted "
                                   "to QEMU instruction counts of the C runtime.")
    actions = p.add_subparsers(dest="action", required=True)

    f = actions.add_parser("fit", help="measure the calibration CNNs on QEMU and refit cost_model.json")
    f.add_argument("--out", help="where to write the JSON (default: the committed "
                                 "converters/apollo3/cost_model.json)")
    f.add_argument("--programs", nargs="+", metavar="NAME",
                   help="calibration programs to use (default: all; an unknown name lists them)")
    f.add_argument("--kernels", nargs="+", choices=KERNEL_SETS, help="kernel sets to fit (default: both)")
    f.add_argument("--jobs", type=int, default=2, help="images built and run at once (default 2)")
    f.set_defaults(func=cmd_fit)

    e = actions.add_parser("estimate", help="predict a registered model's Apollo3 cost")
    e.add_argument("model")
    e.add_argument("--weights", help="a .safetensors checkpoint (default: the registry's weights, if any)")
    e.add_argument("--kernels", nargs="+", choices=KERNEL_SETS, default=["optimized"],
                   help="kernel sets to estimate (default: optimized, the set that ships)")
    e.add_argument("--cost-model", help="a cost model JSON (default: the committed cost_model.json)")
    e.add_argument("--json", action="store_true", help="print the estimates as JSON on stdout")
    e.set_defaults(func=cmd_estimate)
