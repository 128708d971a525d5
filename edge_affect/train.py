"""Training: seeded, resumable, CPU-friendly (a GPU is used when present).

Every registered model trains with the recipe of the seed it comes from
(``RECIPES``: optimiser, learning rate and schedule, batch size, epochs,
augmentation policy, class balancing, loss extras); the command line can
override the learning rate, batch size and epochs. Losses by task:
cross-entropy for expression (optionally class-weighted) and for the
2-class smile models, MSE for valence/arousal; Deep-Emotion adds
lambda * ||W_fc||^2 on its last two FC layers.

Reproducibility: epoch e shuffles, augments and draws dropout masks from
generators seeded by (seed, e), never from state carried across epochs, so
a run resumed from its epoch-k checkpoint continues exactly as the
uninterrupted run would have (on the same device and thread count).

Checkpoints (in ``out``), never pickled:
  last.safetensors + last.json            weights; sidecar with the spec, model name and kwargs,
                                          epoch, history, recipe, seed, data
  last.optimizer.safetensors + .json      the optimiser's tensors; its hyper-parameters in the sidecar
  best.safetensors + best.json            the weights with the lowest validation loss so far
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edge_affect.errors import InputError, WeightsError
from edge_affect.model_data import Prepared, is_classification, load_data, make_batch, policy_named, prepare
from edge_affect.models import create_model, get_entry
from edge_affect.models.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from edge_affect.spec import PipelineSpec
from edge_affect.ui import progress_bars

CHECKPOINT_FORMAT = "edge-affect-training-checkpoint"
LAST, BEST, OPTIMIZER = "last.safetensors", "best.safetensors", "last.optimizer.safetensors"


@dataclass(frozen=True)
class Recipe:
    """How a model is trained, as its seed paper did it (where the paper is silent, said so)."""

    optimizer: str  # "adam" or "sgd"
    lr: float
    batch_size: int
    epochs: int
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"  # or "warmup_cosine": linear warm-up over half the epochs, cosine decay after
    augment: str | None = None  # a policy of edge_affect.data.augment
    balance: str | None = None  # "repeat_positives" (seed 4) or "oversample"
    l2_fc: float = 0.0  # lambda of Deep-Emotion's ||W_fc||^2 term
    val_fraction: float = 0.1  # held out of the training data when no validation set is given
    note: str = ""


_OCULAR = Recipe("adam", 1e-3, 32, 35, augment="ocular", val_fraction=0.01,
                 note="seed 1: Adam lr 1e-3 (best of 1e-3/1e-4/1e-5), batch 32, MSE, 1% validation hold-out")
_FACE_VA = Recipe("sgd", 1e-3, 50, 30, momentum=0.9, val_fraction=0.2,
                  note="seed 2: SGD lr 1e-3 momentum 0.9, batch 50 (ResNet), MSE; epochs unstated (30 here); "
                       "one fold of its 5-fold CV as hold-out")
_SMILE = Recipe("sgd", 0.05, 64, 20, momentum=0.8, nesterov=True, schedule="warmup_cosine", augment="smile",
                balance="repeat_positives",
                note="seed 4: SGD Nesterov momentum 0.8, max lr 0.05, linear warm-up to epoch 10 then cosine, "
                     "20 epochs, batch 64, 2 of 3 positives repeated")

RECIPES: dict[str, Recipe] = {
    "ocular_va_m1": _OCULAR,
    "ocular_va_m2": dataclasses.replace(_OCULAR, epochs=50),
    "ocular_va_mobile": _OCULAR,
    "face_va_resnet": _FACE_VA,
    "face_va_mobile": dataclasses.replace(_FACE_VA, batch_size=32, note=_FACE_VA.note + "; batch 32 (phone model)"),
    "deep_emotion": Recipe("adam", 5e-3, 64, 500, l2_fc=1e-3,
                           note="seed 5: Adam lr 0.005, N(0, 0.05) init, 500 epochs, CE + lambda ||W_fc||^2 "
                                "(lambda tuned on validation in the paper; 1e-3 here), batch unstated (64)"),
    "smile_baseline": _SMILE,
    "smile_tiny": _SMILE,
    "mini_xception_fer2013": Recipe("adam", 1e-3, 32, 100, augment="acting_mirror",
                                    note="seed 3: mini-Xception (Adam, batch 32) with the x6 augmentation mix"),
}
_BY_TASK = {"expression": RECIPES["mini_xception_fer2013"], "smile": _SMILE, "valence_arousal": _FACE_VA,
            "ocular_va": _OCULAR}


def recipe_for(model: str) -> Recipe:
    """The model's recipe; a model registered without one gets its task's."""
    return RECIPES.get(model) or _BY_TASK[get_entry(model).task]


@dataclass
class TrainConfig:
    model: str
    data: str  # KIND[SPLIT]:PATH or synthetic:N
    out: Path
    epochs: int | None = None  # None: the recipe's
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"width_mult": 0.25}
    val_data: str | None = None  # a separate validation set (else a hold-out of `data`)
    val_fraction: float | None = None  # None: the recipe's; 0: no validation
    augment: str | None = "recipe"  # "recipe", "none" or a policy name
    class_weights: str = "none"  # "none" or "balanced" (classification)
    init: str = "scratch"  # "scratch", "pretrained", "mini_xception", or a .safetensors path
    resume: bool = False
    device: str | None = None  # None: cuda when available, else cpu
    threads: int | None = None  # CPU threads for torch (None: torch's default)
    progress: bool = True
    # For callers that train many models on one dataset (the model search): data
    # already loaded and prepared (`data` then only labels the run), and the
    # (train, validation) indices into it; rows in neither are never seen.
    prepared: Prepared | None = None
    split: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class TrainResult:
    out: Path
    last: Path
    best: Path | None
    history: list[dict[str, Any]]
    epochs_run: int


# ---------------------------------------------------------------------------- pieces


def build_optimizer(recipe: Recipe, params, lr: float) -> torch.optim.Optimizer:
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=recipe.betas, eps=recipe.eps, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                               weight_decay=recipe.weight_decay)
    raise InputError(f"recipe.optimizer: expected 'adam' or 'sgd', got {recipe.optimizer!r}")


def lr_at(recipe: Recipe, base_lr: float, epoch: int, epochs: int) -> float:
    """Learning rate of 1-based ``epoch``. warmup_cosine: seed 4's linear rise
    over the first half (epoch 10 of 20), then cosine decay towards 0. The
    paper writes cos(epoch / N), which never decays below 0.77 of the peak;
    the standard cos(pi * t) is used."""
    if recipe.schedule == "constant":
        return base_lr
    if recipe.schedule != "warmup_cosine":
        raise InputError(f"recipe.schedule: expected 'constant' or 'warmup_cosine', got {recipe.schedule!r}")
    warmup = max(1, epochs // 2)
    if epoch <= warmup:
        return base_lr * epoch / warmup
    # +1: the last epoch still learns (the rate would reach 0 one epoch later).
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup + 1)))


def class_weights_of(targets: np.ndarray, num_classes: int) -> torch.Tensor:
    """n / (K * n_k): every class weighs the same in total; absent classes get 0."""
    counts = np.bincount(targets, minlength=num_classes).astype(np.float64)
    weights = np.divide(len(targets), num_classes * counts, out=np.zeros(num_classes), where=counts > 0)
    return torch.tensor(weights, dtype=torch.float32)


LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def make_loss(task: str, recipe: Recipe, class_weights: torch.Tensor | None = None) -> LossFn:
    """(model, outputs, targets) -> (total loss, data loss)."""
    def loss(model: nn.Module, outputs: torch.Tensor, targets: torch.Tensor):
        if is_classification(task):
            data = F.cross_entropy(outputs, targets, weight=class_weights)
        else:
            data = F.mse_loss(outputs, targets)
        total = data
        if recipe.l2_fc:
            from edge_affect.models.deep_emotion import l2_penalty

            total = data + recipe.l2_fc * l2_penalty(model)
        return total, data

    return loss


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as flat tensors plus JSON-able metadata (no pickle)."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def initialise(model: nn.Module, model_name: str, init: str) -> str:
    """Apply ``init`` to a freshly built model; returns a one-line report."""
    if init == "scratch":
        return "initialised from scratch"
    if init == "pretrained":
        entry = get_entry(model_name)
        if not entry.pretrained:
            raise InputError(f"init: {model_name} has no pretrained weights; use scratch, mini_xception or a path")
        from edge_affect.models.registry import WEIGHTS_DIR, load_weights

        load_weights(model, WEIGHTS_DIR / entry.weights)
        return f"initialised from {entry.weights}"
    from edge_affect.models.face_va import load_backbone_state_dict, transfer_from_mini_xception

    report = transfer_from_mini_xception(model) if init == "mini_xception" else load_backbone_state_dict(model, init)
    if not report.loaded:
        raise WeightsError(f"init {init}: nothing transfers to {model_name} ({report.summary()})")
    return report.summary()


# ---------------------------------------------------------------------------- the loop


def select_device(name: str | None) -> torch.device:
    """The named device, else cuda when available, else cpu."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _split(prepared: Prepared, task: str, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from edge_affect.data.split import holdout_split

    n = len(prepared)
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    labels = prepared.targets if is_classification(task) else None
    try:
        return holdout_split(n, fraction, seed, labels=labels)
    except InputError as exc:
        raise InputError(f"validation hold-out: {exc}; pass more data, --val-data or --val-fraction 0") from None


def _balanced(indices: np.ndarray, targets: np.ndarray, how: str | None, seed: int) -> np.ndarray:
    if how is None:
        return indices
    from edge_affect.data.split import oversample_to_balance, repeat_positives

    pick = repeat_positives if how == "repeat_positives" else oversample_to_balance
    return indices[pick(targets[indices], seed)]


def _batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()  # BatchNorm cannot normalise a batch of one sample
    return batches


def predict_raw(model: nn.Module, prepared: Prepared, indices: np.ndarray, spec: PipelineSpec,
                device: torch.device, batch_size: int = 64) -> np.ndarray:
    """Raw model outputs (N, K) for ``indices``, in eval mode, no augmentation."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for batch in _all_batches(indices, batch_size):
            x, _ = make_batch(prepared, batch, spec)
            outputs.append(model(torch.from_numpy(x).to(device)).float().cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0, len(spec.output.labels)), np.float32)


def _all_batches(indices: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]


def train(config: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    previous_threads = torch.get_num_threads()
    if config.threads:
        # One thread is often faster on a shared machine: idle OpenMP workers spin against other jobs.
        torch.set_num_threads(config.threads)
    try:
        return _train(config, log)
    finally:
        torch.set_num_threads(previous_threads)


def _train(config: TrainConfig, log: Callable[[str], None]) -> TrainResult:
    from edge_affect.evaluate import compute_metrics, headline

    entry = get_entry(config.model)
    spec, task = entry.spec, entry.task
    recipe = recipe_for(config.model)
    epochs = config.epochs or recipe.epochs
    batch_size = config.batch_size or recipe.batch_size
    base_lr = config.lr or recipe.lr
    if epochs < 1 or batch_size < 1 or base_lr <= 0:
        raise InputError(f"train: epochs and batch size must be >= 1 and lr > 0, got {epochs}, {batch_size}, {base_lr}")
    policy = policy_named(recipe.augment if config.augment == "recipe" else config.augment)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = select_device(config.device)

    data = config.prepared if config.prepared is not None else prepare(load_data(config.data, task, spec, config.seed),
                                                                         spec)
    log(f"data {config.data}: {data.summary()}")
    if config.split is not None:
        train_idx, val_idx = (np.asarray(part, dtype=np.int64) for part in config.split)
        val = data
        if len(train_idx) == 0 or min(train_idx.min(initial=0), val_idx.min(initial=0)) < 0 or \
                max(train_idx.max(initial=0), val_idx.max(initial=0)) >= len(data):
            raise InputError(f"train: split indices must be within [0, {len(data)}) and the training part non-empty")
    elif config.val_data:
        val = prepare(load_data(config.val_data, task, spec, config.seed + 1), spec)
        train_idx, val_idx = np.arange(len(data)), np.arange(len(val))
        log(f"validation {config.val_data}: {val.summary()}")
    else:
        fraction = recipe.val_fraction if config.val_fraction is None else config.val_fraction
        train_idx, val_idx = _split(data, task, fraction, config.seed)
        val = data
    train_idx = _balanced(train_idx, data.targets, recipe.balance if is_classification(task) else None, config.seed)

    torch.manual_seed(config.seed)
    model = create_model(config.model, pretrained=False, **config.model_kwargs).to(device)
    weights = None
    if config.class_weights == "balanced" and is_classification(task):
        weights = class_weights_of(data.targets[train_idx], len(spec.output.labels)).to(device)
    loss_fn = make_loss(task, recipe, weights)
    optimizer = build_optimizer(recipe, model.parameters(), base_lr)

    history: list[dict[str, Any]] = []
    start = 1
    best_loss = math.inf
    if config.resume and (out / LAST).exists():
        start, history, best_loss = _resume(out, config, model, optimizer, device)
        log(f"resumed {out / LAST} after epoch {start - 1}")
    else:
        log(initialise(model, config.model, config.init))
    meta = {"format": CHECKPOINT_FORMAT, "model": config.model, "model_kwargs": config.model_kwargs,
            "task": task, "spec": spec.to_dict(), "seed": config.seed, "data": config.data,
            "val_data": config.val_data, "epochs": epochs, "batch_size": batch_size, "lr": base_lr,
            "recipe": dataclasses.asdict(recipe), "augment": policy.name if policy else None,
            "class_weights": config.class_weights, "device": str(device)}

    with progress_bars(config.progress) as bars:
        for epoch in range(start, epochs + 1):
            began = time.perf_counter()
            rng = np.random.default_rng([config.seed, epoch])
            torch.manual_seed(config.seed * 1_000_003 + epoch)  # dropout masks of this epoch
            lr = lr_at(recipe, base_lr, epoch, epochs)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            batches = _batches(rng.permutation(train_idx), batch_size)
            task_id = bars.add_task(f"epoch {epoch}/{epochs}", total=len(batches)) if bars else None
            total = seen = 0.0
            for batch in batches:
                x, y = make_batch(data, batch, spec, policy, rng)
                x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
                optimizer.zero_grad(set_to_none=True)
                loss, _ = loss_fn(model, model(x), y)
                if not torch.isfinite(loss):
                    raise InputError(f"train: the loss became {loss.item()} at epoch {epoch}; lower --lr")
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
                seen += len(batch)
                if bars:
                    bars.update(task_id, advance=1, description=f"epoch {epoch}/{epochs} loss {total / seen:.4f}")
            row: dict[str, Any] = {"epoch": epoch, "lr": lr, "train_loss": total / max(seen, 1)}
            if len(val_idx):
                raw = predict_raw(model, val, val_idx, spec, device)
                targets = val.targets[val_idx]
                with torch.no_grad():
                    _, val_loss = loss_fn(model, torch.from_numpy(raw).to(device), torch.from_numpy(targets).to(device))
                row["val_loss"] = float(val_loss)
                row["val_metrics"] = headline(compute_metrics(task, raw, targets, spec.output))
            row["seconds"] = time.perf_counter() - began
            history.append(row)
            (bars.console.print if bars else log)(_describe(row))
            meta_now = {**meta, "epoch": epoch, "history": history}
            monitored = row.get("val_loss", row["train_loss"])
            if monitored < best_loss:
                best_loss = monitored
                save_checkpoint(model.state_dict(), out / BEST, {**meta_now, "best_loss": best_loss})
            _save_last(out, model, optimizer, {**meta_now, "best_loss": best_loss})
    return TrainResult(out, out / LAST, out / BEST if (out / BEST).exists() else None, history,
                       max(0, epochs - start + 1))


def _describe(row: dict[str, Any]) -> str:
    text = f"epoch {row['epoch']}: lr {row['lr']:.3g} train loss {row['train_loss']:.4f}"
    if "val_loss" in row:
        text += f" val loss {row['val_loss']:.4f} " + " ".join(f"{k} {v:.3f}" for k, v in row["val_metrics"].items())
    return text + f" ({row['seconds']:.1f} s)"


def _save_last(out: Path, model: nn.Module, optimizer: torch.optim.Optimizer, meta: dict) -> None:
    # Optimiser first: a crash between the two leaves a `last` whose optimiser is one epoch ahead at
    # worst, never a `last` without one.
    tensors, opt_meta = optimizer_tensors(optimizer)
    save_checkpoint(tensors, out / OPTIMIZER, {"format": CHECKPOINT_FORMAT, "epoch": meta["epoch"], **opt_meta})
    save_checkpoint(model.state_dict(), out / LAST, meta)


def _resume(out: Path, config: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
            device: torch.device) -> tuple[int, list[dict[str, Any]], float]:
    meta = read_metadata(out / LAST)
    for key, want in (("model", config.model), ("model_kwargs", config.model_kwargs), ("seed", config.seed)):
        if meta.get(key) != want:
            raise InputError(f"--resume: {out / LAST} was trained with {key} {meta.get(key)!r}, not {want!r}")
    model.load_state_dict(load_checkpoint(out / LAST))
    opt_meta = read_metadata(out / OPTIMIZER)
    if opt_meta.get("epoch") != meta["epoch"]:
        raise WeightsError(f"{out / OPTIMIZER}: optimiser state is from epoch {opt_meta.get('epoch')}, "
                           f"weights from epoch {meta['epoch']}")
    tensors = {k: v.to(device) if not k.endswith(".step") else v for k, v in load_checkpoint(out / OPTIMIZER).items()}
    restore_optimizer(optimizer, tensors, opt_meta)
    return int(meta["epoch"]) + 1, list(meta.get("history", [])), float(meta.get("best_loss", math.inf))
