"""`edge-affect export-app-assets`: the bundles and C preprocessing a demo app needs,
copied into the app's source tree.

    android  DIR/app/src/main/assets/edge_affect/<model>/executorch-{fp32,int8}/
             DIR/app/src/main/cpp/embedded/{ea_preprocess.c, ea_preprocess.h}
    ios      DIR/EdgeAffectApp/Resources/edge_affect/<model>/coreml-fp16/
             DIR/EdgeAffectKit/Sources/CEdgeAffectPreprocess/{ea_preprocess.c, include/ea_preprocess.h}

Each bundle is reused from ``--bundles`` when one of the right model, target
and precision is there and passes its sha256 check, else built into it. The
app gets the artifact, ``manifest.json`` and ``goldens/`` (the unit tests of
both apps feed them), never ``calibration/`` or ``reference/``. Every destination directory is
written beside itself and renamed into place, so an interrupted export leaves
the previous assets or none.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from edge_affect.bundle import MANIFEST, load_bundle
from edge_affect.bundle_cache import ensure_bundle_at
from edge_affect.errors import InputError
from edge_affect.fileio import atomic_directory, write_text_atomic

REPO_ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_SOURCES = {"ea_preprocess.c": REPO_ROOT / "embedded" / "src" / "ea_preprocess.c",
                    "ea_preprocess.h": REPO_ROOT / "embedded" / "include" / "ea_preprocess.h"}
DEFAULT_BUNDLES = REPO_ROOT / "build" / "app-bundles"


@dataclass(frozen=True)
class PlatformLayout:
    builds: tuple[tuple[str, str], ...]  # (target, precision) pairs the app ships
    assets: str                          # bundles go to <assets>/<model>/<target>-<precision>/
    c_sources: str                       # the embedded C preprocessing goes here
    header_subdir: str                   # where the header goes below c_sources


PLATFORMS = {
    "android": PlatformLayout(builds=(("executorch", "fp32"), ("executorch", "int8")),
                              assets="app/src/main/assets/edge_affect",
                              c_sources="app/src/main/cpp/embedded", header_subdir=""),
    # SwiftPM wants a C target's public headers in include/ beside its sources.
    "ios": PlatformLayout(builds=(("coreml", "fp16"),),
                          assets="EdgeAffectApp/Resources/edge_affect",
                          c_sources="EdgeAffectKit/Sources/CEdgeAffectPreprocess", header_subdir="include"),
}


def bundle_dir_name(target: str, precision: str) -> str:
    return f"{target}-{precision}"


def ensure_bundle(model: str, target: str, precision: str, bundles: Path, progress=None,
                  rebuild: bool = False) -> Path:
    """A verified, current bundle of `model` for (target, precision) under `bundles`: reused when
    one is there, else (or with `rebuild`, e.g. after retraining) built there."""
    path = bundles / model / bundle_dir_name(target, precision)
    return ensure_bundle_at(path, model, target, precision, progress, rebuild).root


# Bundle parts that exist to reproduce the build on a desktop, not to run it.
APP_OMITS = ("calibration/", "reference/")


def copy_bundle_for_app(bundle_path: Path, dest: Path) -> None:
    """Artifact + manifest + goldens of a verified bundle into `dest` (which must not exist).

    The calibration crops and the reference weights stay behind (they
    reproduce the quantization and the desktop model; the app never reads
    them), so the app's manifest.json lists every file except those,
    and records what was left out: the copy verifies on its own, with
    load_bundle as with the apps' integrity checks."""
    bundle = load_bundle(bundle_path)  # sha256 of every file, again: never ship what was not verified
    manifest = json.loads((bundle.root / MANIFEST).read_text())
    omitted = sorted(rel for rel in manifest["files"] if rel.startswith(APP_OMITS))
    manifest["files"] = {rel: digest for rel, digest in manifest["files"].items() if rel not in omitted}
    manifest["calibration"] = {}
    manifest["app_export"] = {"omitted": omitted}
    dest.mkdir(parents=True)
    for rel in manifest["files"]:
        src = bundle.path(rel)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():  # .mlpackage
            shutil.copytree(src, target)
        else:
            shutil.copy2(src, target)
    write_text_atomic(dest / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    load_bundle(dest)  # the copy must verify as shipped


def export_app_assets(model: str, platform: str, app_dir: Path, bundles: Path = DEFAULT_BUNDLES,
                      progress=None, rebuild: bool = False) -> list[Path]:
    """Export `model`'s bundles for `platform` into `app_dir`; returns the bundle directories written."""
    if platform not in PLATFORMS:
        raise InputError(f"--platform: expected one of {sorted(PLATFORMS)}, got {platform!r}")
    app_dir = Path(app_dir)
    if not app_dir.is_dir():
        raise InputError(f"{app_dir}: no such directory (expected the app's project root)")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", model):  # it names directories below
        raise InputError(f"--model: expected a registered model name, got {model!r}")
    layout = PLATFORMS[platform]
    sources = [ensure_bundle(model, t, p, Path(bundles), progress, rebuild) for t, p in layout.builds]

    model_assets = app_dir / layout.assets / model
    with atomic_directory(model_assets) as tmp:
        for src, (target, precision) in zip(sources, layout.builds):
            copy_bundle_for_app(src, tmp / bundle_dir_name(target, precision))

    with atomic_directory(app_dir / layout.c_sources) as tmp:
        for name, src in EMBEDDED_SOURCES.items():
            sub = tmp / layout.header_subdir if name.endswith(".h") else tmp
            sub.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, sub / name)
    return [model_assets / bundle_dir_name(t, p) for t, p in layout.builds]


def register(subparsers) -> None:
    p = subparsers.add_parser("export-app-assets",
                              help="copy a model's bundles and the C preprocessing into a demo app")
    p.add_argument("dir", help="the app's project root (android_demo/ or ios_demo/)")
    p.add_argument("--model", required=True)
    p.add_argument("--platform", required=True, choices=sorted(PLATFORMS))
    p.add_argument("--bundles", default=str(DEFAULT_BUNDLES),
                   help="where bundles are reused from or built into (default: build/app-bundles)")
    p.add_argument("--rebuild", action="store_true", help="build the bundles even if valid ones exist")
    p.set_defaults(func=cmd_export_app_assets)


def cmd_export_app_assets(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"{args.model}: {args.platform} assets") as status:
        written = export_app_assets(args.model, args.platform, Path(args.dir), Path(args.bundles),
                                    progress=lambda msg: status.update(f"{args.model}: {msg}"),
                                    rebuild=args.rebuild)
    for path in written:
        console.print(f"[green]exported[/] {path}", soft_wrap=True)
    return 0
