"""`edge-affect evaluate MODEL --weights CKPT --data KIND:PATH --report DIR`: metrics JSON + plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.evaluate import evaluate, headline

    console = Console(stderr=True)
    with console.status(f"evaluating {args.model} on {args.data}"):
        result = evaluate(args.model, args.data, Path(args.report),
                          weights=Path(args.weights) if args.weights else None, seed=args.seed,
                          batch_size=args.batch, device=args.device, log=console.print)
    numbers = ", ".join(f"{k} {v:.3f}" for k, v in headline(result["metrics"]).items())
    console.print(f"[green]report[/] {args.report}: {result['samples']} samples; {numbers}; "
                  f"plots {', '.join(result['plots'])}")
    if args.json:
        print(json.dumps({k: result[k] for k in ("model", "data", "samples", "plots")}
                         | {"headline": headline(result["metrics"])}))
    return 0


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset: metrics JSON and plots",
                       description="Evaluate MODEL (a training checkpoint, or the registry's pretrained "
                                   "weights when --weights is omitted) on any dataset loader; training "
                                   "and evaluation data may come from different datasets.")
    p.add_argument("model")
    p.add_argument("--weights", help="a .safetensors checkpoint from `edge-affect train`")
    p.add_argument("--data", required=True, help="KIND[SPLIT]:PATH or synthetic:N")
    p.add_argument("--report", required=True, help="directory for metrics.json and the plots")
    p.add_argument("--seed", type=int, default=1, help="synthetic:N faces seed (training defaults to 0)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", help="cpu, cuda ... (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=cmd_evaluate)
