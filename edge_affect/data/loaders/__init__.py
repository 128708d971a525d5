"""Dataset loaders for the published formats, behind one dispatcher.

``load_dataset("KIND:PATH")`` or ``load_dataset("KIND[SPLIT]:PATH")``, e.g.
``fer2013[PublicTest]:data/fer2013.csv`` or ``affectnet[validation]:data/
AffectNet``; keyword options go to the loader (``load_dataset("ckplus:ck",
include_neutral=True)``). The first ``:`` separates kind from path, so
Windows paths (``C:\\...``) survive. Every loader returns a
:class:`~edge_affect.data.records.Dataset` of lazily decoded records.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_affect.data.loaders.affectnet import load_affectnet
from edge_affect.data.loaders.afew_va import load_afew_va
from edge_affect.data.loaders.ckplus import load_ckplus
from edge_affect.data.loaders.fer2013 import load_fer2013
from edge_affect.data.loaders.genki4k import load_genki4k
from edge_affect.data.loaders.image_folder import load_image_folder
from edge_affect.data.loaders.jaffe import load_jaffe
from edge_affect.data.records import Dataset
from edge_affect.errors import InputError

LOADERS: dict[str, Callable[..., Dataset]] = {
    "fer2013": load_fer2013,
    "affectnet": load_affectnet,
    "afew_va": load_afew_va,
    "genki4k": load_genki4k,
    "ckplus": load_ckplus,
    "jaffe": load_jaffe,
    "image_folder": load_image_folder,
}

ALIASES = {"ck+": "ckplus", "ck": "ckplus", "genki": "genki4k", "folder": "image_folder", "afew": "afew_va"}

# The loader option a "[SPLIT]" suffix fills in, for kinds that have splits.
SPLIT_OPTIONS = {"fer2013": "usage", "affectnet": "split"}

_DATA_ARG = re.compile(r"^(?P<kind>[A-Za-z0-9_+\-]+)(\[(?P<split>[^\]]+)\])?:(?P<path>.+)$")


def parse_data_arg(text: str) -> tuple[str, str | None, Path]:
    """``"KIND[SPLIT]:PATH"`` -> (canonical kind, split or None, path)."""
    match = _DATA_ARG.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InputError(f"data: expected KIND:PATH or KIND[SPLIT]:PATH with KIND in {sorted(LOADERS)}, got {text!r}")
    kind = match["kind"].lower().replace("-", "_")
    kind = ALIASES.get(kind, kind)
    if kind not in LOADERS:
        raise InputError(f"data: unknown dataset kind {match['kind']!r}; expected one of {sorted(LOADERS)}")
    split = match["split"]
    if split is not None and kind not in SPLIT_OPTIONS:
        raise InputError(f"data: kind {kind!r} has no splits, got [{split}]; "
                         f"kinds with splits: {sorted(SPLIT_OPTIONS)}")
    return kind, split, Path(match["path"])


def load_dataset(data: str, **options: Any) -> Dataset:
    """Load ``"KIND[SPLIT]:PATH"`` with that kind's loader."""
    kind, split, path = parse_data_arg(data)
    if split is not None:
        options[SPLIT_OPTIONS[kind]] = split
    loader = LOADERS[kind]
    accepted = list(inspect.signature(loader).parameters)[1:]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InputError(f"data: {kind} loader options are {accepted}, got unknown {unknown}")
    return loader(path, **options)


__all__ = [
    "LOADERS", "load_dataset", "parse_data_arg", "load_affectnet", "load_afew_va", "load_ckplus",
    "load_fer2013", "load_genki4k", "load_image_folder", "load_jaffe",
]
