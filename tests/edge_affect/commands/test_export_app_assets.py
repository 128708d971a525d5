"""`edge-affect export-app-assets`: bundles + C preprocessing into the demo apps' layouts."""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_affect.bundle import MANIFEST, load_bundle
from edge_affect.cli import build_parser, main
from edge_affect.commands.export_app_assets import (EMBEDDED_SOURCES, copy_bundle_for_app, ensure_bundle,
                                                    export_app_assets)
from edge_affect.errors import InputError, IntegrityError

MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="module")
def bundles(bundles_dir, tmp_path_factory) -> Path:
    """The session's bundles in export-app-assets' <bundles>/<model>/<target>-<precision> layout."""
    root = tmp_path_factory.mktemp("app_bundles")
    (root / MODEL).mkdir()
    for bundle in bundles_dir.iterdir():
        (root / MODEL / bundle.name).symlink_to(bundle, target_is_directory=True)
    return root


def _shipped(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}


def test_android_layout_holds_verified_bundles_and_the_c_sources(bundles, tmp_path):
    written = export_app_assets(MODEL, "android", tmp_path, bundles)
    assets = tmp_path / "app/src/main/assets/edge_affect" / MODEL
    assert written == [assets / "executorch-fp32", assets / "executorch-int8"]
    for path in written:
        bundle = load_bundle(path)  # every shipped file re-verified against the manifest
        assert _shipped(path) == {MANIFEST, "model.pte", "goldens/crops.npy", "goldens/inputs.npy",
                                  "goldens/outputs.npy", "goldens/fp32_outputs.npy"}
        assert bundle.model == MODEL and bundle.target == "executorch"
    cpp = tmp_path / "app/src/main/cpp/embedded"
    for name, src in EMBEDDED_SOURCES.items():
        assert filecmp.cmp(cpp / name, src, shallow=False)


def test_ios_layout_ships_the_mlpackage_and_a_swiftpm_c_target(bundles, tmp_path):
    (written,) = export_app_assets(MODEL, "ios", tmp_path, bundles)
    assert written == tmp_path / "EdgeAffectApp/Resources/edge_affect" / MODEL / "coreml-fp16"
    bundle = load_bundle(written)
    assert bundle.artifact_path.is_dir() and bundle.artifact_path.suffix == ".mlpackage"
    assert not (written / "calibration").exists()
    target = tmp_path / "EdgeAffectKit/Sources/CEdgeAffectPreprocess"
    assert filecmp.cmp(target / "ea_preprocess.c", EMBEDDED_SOURCES["ea_preprocess.c"], shallow=False)
    assert filecmp.cmp(target / "include/ea_preprocess.h", EMBEDDED_SOURCES["ea_preprocess.h"], shallow=False)


def test_re_export_replaces_the_previous_assets_whole(bundles, tmp_path):
    export_app_assets(MODEL, "android", tmp_path, bundles)
    stale = tmp_path / "app/src/main/assets/edge_affect" / MODEL / "executorch-fp16-old" / "model.pte"
    stale.parent.mkdir()
    stale.write_bytes(b"stale")
    export_app_assets(MODEL, "android", tmp_path, bundles)
    assert not stale.parent.exists()
    leftovers = [p.name for p in (tmp_path / "app/src/main/assets/edge_affect").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_valid_bundle_is_reused_not_rebuilt(bundles):
    path = bundles / MODEL / "executorch-fp32"
    before = os.stat(path / "model.pte").st_mtime_ns
    assert ensure_bundle(MODEL, "executorch", "fp32", bundles) == path
    assert os.stat(path / "model.pte").st_mtime_ns == before


def test_a_modified_bundle_is_never_shipped(bundles, tmp_path):
    source = tmp_path / "bundle"
    shutil.copytree(bundles / MODEL / "executorch-fp32", source)
    outputs = source / "goldens/outputs.npy"
    np.save(outputs, np.load(outputs) + 1)
    with pytest.raises(IntegrityError, match="outputs.npy"):
        copy_bundle_for_app(source, tmp_path / "app" / "executorch-fp32")


def test_cli_is_registered_and_reports_bad_arguments(tmp_path, capsys):
    args = build_parser().parse_args(["export-app-assets", "--model", MODEL, "--platform", "ios", str(tmp_path)])
    assert args.platform == "ios" and args.dir == str(tmp_path)
    assert main(["export-app-assets", "--model", MODEL, "--platform", "android", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err
    with pytest.raises(InputError, match="--platform"):
        export_app_assets(MODEL, "windows", tmp_path)
    with pytest.raises(InputError, match="--model"):
        export_app_assets("../escape", "android", tmp_path)
