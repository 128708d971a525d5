"""Model registry (timm-style): every model is registered with the pipeline
spec it was trained for, so a name is enough to build, convert and run it.

    @register_model("my_model", task="expression", spec=MY_SPEC)
    def my_model(**kwargs) -> nn.Module: ...

    model = create_model("my_model", pretrained=True)
    spec = get_spec("my_model")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from edge_affect.errors import ModelNotFoundError, WeightsError
from edge_affect.spec import PipelineSpec

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    spec: PipelineSpec
    factory: Callable[..., nn.Module]
    # File name (under edge_affect/weights/) of a checkpoint with a provenance
    # JSON beside it, or None for models without pretrained weights.
    weights: str | None = None
    description: str = ""
    # Factory kwargs for a reduced instance of the same layout, for tests that
    # build every model (the full-size M1/M2/ResNet152 take seconds per forward).
    ci_kwargs: dict = field(default_factory=dict)
    # User models (edge_affect.models.user_models): the built-in model they
    # instantiate and the kwargs they pass it; a built-in is its own base.
    kwargs: dict = field(default_factory=dict)
    base: str | None = None

    @property
    def base_model(self) -> str:
        return self.base or self.name

    @property
    def pretrained(self) -> bool:
        return self.weights is not None


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, *, task: str, spec: PipelineSpec, weights: str | None = None,
                   description: str = "", ci_kwargs: dict | None = None,
                   ) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    if spec.task != task:
        raise ValueError(f"register_model({name!r}): task {task!r} differs from spec.task {spec.task!r}")

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"register_model: {name!r} is already registered")
        summary = description or (factory.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = ModelEntry(name, task, spec, factory, weights, summary, dict(ci_kwargs or {}))
        return factory

    return decorator


def _user_entries() -> dict[str, ModelEntry]:
    from edge_affect.models.user_models import user_entries

    return user_entries()


def list_models(task: str | None = None, include_user: bool = True) -> list[str]:
    """Registered model names: built-ins, then (unless excluded) the user's own."""
    entries = list(_REGISTRY.values()) + (list(_user_entries().values()) if include_user else [])
    return sorted(e.name for e in entries if task is None or e.task == task)


def builtin_entry(name: str) -> ModelEntry | None:
    return _REGISTRY.get(name)


def get_entry(name: str) -> ModelEntry:
    if name in _REGISTRY:
        return _REGISTRY[name]
    entry = _user_entries().get(name)
    if entry is None:
        raise ModelNotFoundError(f"model {name!r} is not registered; known models: {list_models()}")
    return entry


def get_spec(name: str) -> PipelineSpec:
    return get_entry(name).spec


def create_model(name: str, pretrained: bool = True, weights_path: str | Path | None = None,
                 **kwargs) -> nn.Module:
    """Build a registered model in eval mode.

    pretrained    load the registry's checkpoint (verified against its provenance sha256)
    weights_path  load this checkpoint instead (.safetensors; never a pickle)
    """
    entry = get_entry(name)
    model = entry.factory(**kwargs)
    path = Path(weights_path) if weights_path is not None else (
        WEIGHTS_DIR / entry.weights if pretrained and entry.weights else None)
    if path is not None:
        load_weights(model, path)
    return model.eval()


def load_weights(model: nn.Module, path: Path) -> None:
    from edge_affect.models.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise WeightsError(f"{path}: does not fit {type(model).__name__}: {str(exc).splitlines()[0]}") from None
    if missing or unexpected:
        raise WeightsError(f"{path}: does not fit {type(model).__name__}: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass (conv and linear layers)."""
    total = 0

    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output.numel() * k
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for h in handles:
            h.remove()
    return total
