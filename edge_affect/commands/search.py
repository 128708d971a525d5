"""`edge-affect search --task smile --budget apollo3:100ms [--budget flash:128KB ...] --data KIND:PATH --out DIR`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_search(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.search.budget import parse_budgets
    from edge_affect.search.engine import SearchConfig
    from edge_affect.search.run import run_search

    console = Console(stderr=True)
    config = SearchConfig(data=args.data, budgets=parse_budgets(args.budget), out=Path(args.out), task=args.task,
                          baseline=args.baseline, descents=args.descents, steps_below=args.steps_below,
                          max_candidates=args.max_candidates,
                          epochs=args.epochs, batch_size=args.batch, lr=args.lr, val_fraction=args.val_fraction,
                          test_fraction=args.test_fraction, folds=args.folds, seed=args.seed,
                          train_baseline=not args.no_baseline, threads=args.threads, progress=not args.no_progress)
    outcome = run_search(config, name=args.name, publish=not args.no_publish, log=console.print)
    state = outcome.state
    from edge_affect.search.report import markdown_table

    console.print(markdown_table(outcome.table))
    chosen = state.trained[state.chosen]
    console.print(f"[green]chosen[/] {state.chosen}: selection AUC {chosen['val_auc']:.3f}, "
                  f"test AUC {state.test['auc'] if state.test['auc'] is None else format(state.test['auc'], '.3f')} "
                  f"(scored once); {state.priced[state.chosen]['latency_ms_48mhz']:.1f} ms at 48 MHz (cost model)")
    if state.published:
        p = state.published
        console.print(f"[green]registered[/] {p['name']}; Apollo3 bundle {p['bundle']} "
                      f"(parity {'pass' if p['parity']['passed'] else 'FAIL'}, bit-exact {p['parity']['bit_exact']}); "
                      f"QEMU {p['measured']['latency_ms_at_48mhz']} ms at 48 MHz")
    console.print(f"table {Path(args.out) / 'table.md'}, plot {outcome.plot}")
    if args.json:
        print(json.dumps({"chosen": state.chosen, "val_auc": chosen["val_auc"], "test": state.test["auc"],
                          "seed_bar": outcome.seed_bar, "cost": state.priced[state.chosen],
                          "published": state.published, "table": outcome.table}, default=str))
    return 0


def register(sub) -> None:
    from edge_affect.models.smile_net import SEED_BASELINE_ARCH

    p = sub.add_parser(
        "search", help="find the best smile model that fits Apollo3 budgets (latency, flash, RAM)",
        description="Explore reductions of a baseline CNN (fewer filters, larger strides, smaller kernels, "
                    "smaller or no FC, fewer layers, depthwise-separable swaps), price each with the Apollo3 "
                    "cost model, train those within every budget, choose by selection-split AUC, score the "
                    "held-out test split once, then register, convert (--target apollo3) and parity-check the "
                    "chosen model. Resumable: run the same command again to continue.")
    p.add_argument("--task", default="smile", choices=["smile"])
    p.add_argument("--budget", action="append", default=[], metavar="KIND:VALUE",
                   help="apollo3:100ms (latency at 48 MHz), flash:128KB, ram:64KB, macs:1.38M; repeatable "
                        "(KB = 1024 bytes)")
    p.add_argument("--data", required=True, help="KIND[SPLIT]:PATH (e.g. genki4k:/data/GENKI-4K) or synthetic:N")
    p.add_argument("--out", required=True, help="directory for the state, candidates, table and plot")
    p.add_argument("--name", help="register the chosen model under this name (default smile_search_<hash of OUT>)")
    p.add_argument("--baseline", default=SEED_BASELINE_ARCH,
                   help=f"architecture to reduce (default: the seed's AlexNet, {SEED_BASELINE_ARCH})")
    p.add_argument("--descents", type=int, default=16, help="random reduction descents (default 16)")
    p.add_argument("--steps-below", type=int, default=2,
                   help="reductions each descent takes past its first fit, for smaller candidates (default 2)")
    p.add_argument("--max-candidates", type=int, default=8,
                   help="fitting architectures to train: half the largest finds, half spread over latency (default 8)")
    p.add_argument("--epochs", type=int, help="epochs per candidate (default: the smile recipe's 20)")
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--val-fraction", type=float, default=0.2, help="selection split (default 0.2)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out test split (default 0.2)")
    p.add_argument("--folds", type=int, default=1,
                   help="K > 1: score candidates by K-fold cross-validation over all non-test data, then retrain "
                        "the chosen one on it (default 1: one selection split of --val-fraction)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-baseline", action="store_true", help="do not train the baseline (no seed's bar)")
    p.add_argument("--no-publish", action="store_true",
                   help="stop after choosing: do not register, convert or measure on QEMU")
    p.add_argument("--threads", type=int, help="torch CPU threads while training")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=cmd_search)
