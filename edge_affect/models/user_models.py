"""Models registered by the user at run time (e.g. the architecture a model
search chose): a directory per model holding a model card and its weights.

    <root>/<name>/model.json          base model, factory kwargs, spec, provenance
    <root>/<name>/weights.safetensors (+ weights.json sidecar with its sha256)

`root` is $EDGE_AFFECT_MODELS, else $XDG_DATA_HOME/edge-affect/models
(~/.local/share/edge-affect/models). Once saved, the name works everywhere a
built-in name does: `models`, `convert`, `parity`, `predict`, `saliency`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from edge_affect.errors import ModelNotFoundError, SpecError
from edge_affect.fileio import atomic_directory
from edge_affect.models.checkpoint import sidecar_path
from edge_affect.models.registry import ModelEntry
from edge_affect.spec import PipelineSpec

USER_MODELS_ENV = "EDGE_AFFECT_MODELS"
CARD = "model.json"
WEIGHTS = "weights.safetensors"
CARD_FORMAT = "edge-affect-user-model"
_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")


def user_models_dir() -> Path:
    if os.environ.get(USER_MODELS_ENV):
        return Path(os.environ[USER_MODELS_ENV])
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "edge-affect" / "models"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(f"model name {name!r}: expected lower-case letters, digits and '_', "
                        f"starting with a letter, 2-64 characters")
    return name


def save_user_model(name: str, base: str, kwargs: dict[str, Any], spec: PipelineSpec, weights: Path,
                    description: str, provenance: dict[str, Any], root: Path | None = None) -> Path:
    """Register `name` as `base(**kwargs)` with `weights`; replaces an earlier
    user model of that name atomically. Returns the model's directory."""
    from edge_affect.models.registry import builtin_entry

    check_name(name)
    if builtin_entry(name) is not None:
        raise SpecError(f"model name {name!r} is a built-in model; choose another name")
    base_entry = builtin_entry(base)
    if base_entry is None:
        raise ModelNotFoundError(f"user model {name!r}: base model {base!r} is not a built-in model")
    if spec.task != base_entry.task:
        raise SpecError(f"user model {name!r}: spec task {spec.task!r} differs from {base!r}'s {base_entry.task!r}")
    base_entry.factory(**kwargs)  # the kwargs must build (fails here, not at first use)
    weights = Path(weights)
    card = {"format": CARD_FORMAT, "format_version": 1, "name": name, "base": base, "task": spec.task,
            "kwargs": kwargs, "spec": spec.to_dict(), "weights": WEIGHTS, "description": description,
            "provenance": provenance}
    target = (root or user_models_dir()) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(target) as tmp:
        shutil.copyfile(weights, tmp / WEIGHTS)
        if sidecar_path(weights).exists():
            shutil.copyfile(sidecar_path(weights), sidecar_path(tmp / WEIGHTS))
        (tmp / CARD).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return target


def user_entries(root: Path | None = None) -> dict[str, ModelEntry]:
    """Every user model under `root`, by name; a damaged card is an error naming its file."""
    root = root or user_models_dir()
    if not root.is_dir():
        return {}
    entries = {}
    for card_path in sorted(root.glob(f"*/{CARD}")):
        entry = _entry_of(card_path)
        entries[entry.name] = entry
    return entries


def _entry_of(card_path: Path) -> ModelEntry:
    from edge_affect.models.registry import builtin_entry

    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise SpecError(f"{card_path}: unreadable model card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise SpecError(f"{card_path}: not an edge-affect model card (format {CARD_FORMAT!r} expected)")
    for key, kind in (("name", str), ("base", str), ("kwargs", dict), ("spec", dict), ("weights", str)):
        if not isinstance(card.get(key), kind):
            raise SpecError(f"{card_path}: field {key!r} must be a {kind.__name__}, got {card.get(key)!r:.60}")
    if card["name"] != card_path.parent.name:
        raise SpecError(f"{card_path}: name {card['name']!r} differs from its directory {card_path.parent.name!r}")
    check_name(card["name"])
    base = builtin_entry(card["base"])
    if base is None:
        raise SpecError(f"{card_path}: base model {card['base']!r} is not a built-in model")
    weights = (card_path.parent / card["weights"]).resolve()
    if weights.parent != card_path.parent.resolve():
        raise SpecError(f"{card_path}: weights {card['weights']!r} must be a file beside the card")
    spec = PipelineSpec.from_dict(card["spec"])
    return ModelEntry(card["name"], spec.task, spec, functools.partial(base.factory, **card["kwargs"]),
                      weights=str(weights), description=str(card.get("description", "")),
                      kwargs=dict(card["kwargs"]), base=card["base"])
