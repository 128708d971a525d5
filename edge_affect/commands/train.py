"""`edge-affect train MODEL --data KIND:PATH`: train a registered model with its seed's recipe."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _model_kwargs(args: argparse.Namespace) -> dict:
    kwargs = {}
    if args.width_mult is not None:
        kwargs["width_mult"] = args.width_mult
    if args.depth is not None:
        kwargs["depth"] = args.depth
    if args.layout is not None:
        kwargs["layout"] = args.layout
    return kwargs


def cmd_train(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.train import TrainConfig, recipe_for, train

    console = Console(stderr=True)
    recipe = recipe_for(args.model)
    console.print(f"[bold]{args.model}[/]: {recipe.note or recipe.optimizer}")
    config = TrainConfig(model=args.model, data=args.data, out=Path(args.out), epochs=args.epochs,
                         batch_size=args.batch, lr=args.lr, seed=args.seed, model_kwargs=_model_kwargs(args),
                         val_data=args.val_data, val_fraction=args.val_fraction, augment=args.augment,
                         class_weights=args.class_weights, init=args.init, resume=args.resume, device=args.device,
                         threads=args.threads, progress=not args.no_progress)
    result = train(config, log=console.print)
    last = result.history[-1] if result.history else {}
    console.print(f"[green]done[/]: {result.epochs_run} epoch(s) run; weights {result.last}"
                  + (f", best {result.best}" if result.best else ""))
    if args.json:
        print(json.dumps({"last": str(result.last), "best": str(result.best) if result.best else None,
                          "epochs_run": result.epochs_run, "final": last}))
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train a registered model (seeded, resumable, CPU or GPU)",
                       description="Train MODEL with its seed paper's recipe on any dataset loader "
                                   "(KIND[SPLIT]:PATH) or on synthetic:N procedural faces.")
    p.add_argument("model")
    p.add_argument("--data", required=True, help="KIND[SPLIT]:PATH (fer2013, affectnet, afew_va, genki4k, ckplus, "
                                                 "jaffe, image_folder) or synthetic:N")
    p.add_argument("--val-data", help="a separate validation set (default: a hold-out of --data)")
    p.add_argument("--val-fraction", type=float, help="hold-out fraction (default: the recipe's; 0 = none)")
    p.add_argument("--epochs", type=int, help="default: the recipe's")
    p.add_argument("--batch", type=int, help="batch size (default: the recipe's)")
    p.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    p.add_argument("--out", default="runs/train", help="checkpoint directory (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.safetensors")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width-mult", type=float, help="scale every channel count (reduced instances)")
    p.add_argument("--depth", type=int, help="ocular_va_m1/m2: number of VGG blocks to keep")
    p.add_argument("--layout", help="face_va_resnet: resnet18/34/50/101/152")
    p.add_argument("--augment", default="recipe", help="recipe (default), none, ocular, acting_mirror or smile")
    p.add_argument("--class-weights", choices=["none", "balanced"], default="none")
    p.add_argument("--init", default="scratch",
                   help="scratch, pretrained (registry weights), mini_xception (transfer where shapes allow) "
                        "or a .safetensors state_dict (e.g. ImageNet ResNet weights)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=cmd_train)
