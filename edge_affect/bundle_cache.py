"""Bundles kept for reuse (the app's backends, the app asset export): reused
only while they verify and still match the installed model, else rebuilt."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Callable

from edge_affect.bundle import Bundle, is_bundle, load_bundle
from edge_affect.errors import BundleError
from edge_affect.fileio import sha256_tree
from edge_affect.models import get_entry
from edge_affect.models.registry import WEIGHTS_DIR

Progress = Callable[[str], None]


def stale_reason(bundle: Bundle, model: str) -> str | None:
    """Why a kept bundle no longer matches the installed model, or None."""
    entry = get_entry(model)
    if bundle.model != model:
        return f"it holds model {bundle.model!r}"
    if dataclasses.replace(bundle.spec, input=dataclasses.replace(bundle.spec.input, quant=None)) != entry.spec:
        return "the model's pipeline spec changed"
    recorded = (bundle.manifest.get("weights") or {}).get("sha256")
    if entry.weights is not None and recorded != sha256_tree(WEIGHTS_DIR / entry.weights):
        return "the model's weights changed"
    return None


def ensure_bundle_at(path: Path, model: str, target: str, precision: str, progress: Progress | None = None,
                     rebuild: bool = False) -> Bundle:
    """The verified bundle at `path` for (model, target, precision); (re)built
    there when missing, modified, stale, of another build, or `rebuild`."""
    say = progress or (lambda _msg: None)
    reason = "rebuild requested" if rebuild else "not built yet"
    if is_bundle(path) and not rebuild:
        try:
            bundle = load_bundle(path)
            reason = stale_reason(bundle, model)
            if reason is None and (bundle.target, bundle.precision) != (target, precision):
                reason = f"it holds a {bundle.target} {bundle.precision} build"
            if reason is None:
                return bundle
        except BundleError as exc:  # IntegrityError included: a modified artifact is rebuilt, never used
            reason = str(exc)
    say(f"building the {target} {precision} bundle of {model} ({reason}); kept in {path}")
    # Lazy by name: edge_affect never imports the converters package statically.
    importlib.import_module("edge_affect.converters.build").build_bundle(model, target, precision, path,
                                                                          progress=say)
    return load_bundle(path)
