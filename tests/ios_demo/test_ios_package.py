"""What of ios_demo can be checked without Xcode: the exported SwiftPM layout
matches Package.swift, the C target compiles warning-free as the package
compiles it (gcc standing in for clang), and the Swift manifest reader names
only keys a real bundle's manifest.json has. With a Swift toolchain on the
PATH (macOS, or swift.org's Linux build), `swift build` + `swift test` run too
(Core ML parity needs macOS)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edge_affect.commands.export_app_assets import export_app_assets

REPO = Path(__file__).resolve().parents[2]
IOS = REPO / "ios_demo"
MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="module")
def ios_app(bundles_dir, tmp_path_factory) -> Path:
    """A copy of ios_demo with the assets exported into it."""
    app = tmp_path_factory.mktemp("ios") / "ios_demo"
    shutil.copytree(IOS, app, ignore=shutil.ignore_patterns(".build", "edge_affect", "CEdgeAffectPreprocess"))
    bundles = tmp_path_factory.mktemp("ios_bundles")
    (bundles / MODEL).mkdir()
    for bundle in bundles_dir.iterdir():
        (bundles / MODEL / bundle.name).symlink_to(bundle, target_is_directory=True)
    export_app_assets(MODEL, "ios", app, bundles)
    return app


def test_package_swift_targets_exist_after_export(ios_app):
    package = (ios_app / "EdgeAffectKit/Package.swift").read_text()
    for path in re.findall(r'path:\s*"([^"]+)"', package):
        assert (ios_app / "EdgeAffectKit" / path).is_dir(), f"Package.swift path {path} missing after export"
    c_target = ios_app / "EdgeAffectKit/Sources/CEdgeAffectPreprocess"
    assert (c_target / "include/ea_preprocess.h").is_file() and (c_target / "ea_preprocess.c").is_file()
    swift = (ios_app / "EdgeAffectKit/Sources/EdgeAffectCore/Preprocessor.swift").read_text()
    assert "import CEdgeAffectPreprocess" in swift and 'name: "CEdgeAffectPreprocess"' in package


def test_c_target_compiles_as_the_package_compiles_it(ios_app, tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    target = ios_app / "EdgeAffectKit/Sources/CEdgeAffectPreprocess"
    subprocess.run([gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", f"-I{target / 'include'}",
                    str(target / "ea_preprocess.c"), "-o", str(tmp_path / "ea_preprocess.o")],
                   check=True, capture_output=True, text=True)


def test_swift_manifest_reader_uses_only_real_manifest_keys(ios_app):
    bundle = ios_app / "EdgeAffectApp/Resources/edge_affect" / MODEL / "coreml-fp16"
    manifest = json.loads((bundle / "manifest.json").read_text())
    source = (ios_app / "EdgeAffectKit/Sources/EdgeAffectCore/Manifest.swift").read_text()
    # snake_case JSON keys the Swift CodingKeys map to: `case name = "json_key", other = "key"`
    mapped = set(re.findall(r'(?:case|,)\s*\w+\s*=\s*"([a-z_]+)"', source))
    spec_keys = set(manifest["spec"]["input"]) | set(manifest["spec"]["output"]) | set(manifest["tolerance"])
    assert mapped and mapped <= spec_keys, mapped - spec_keys
    for key in ("model", "target", "precision", "artifact", "spec", "tolerance", "files", "coreml", "goldens"):
        assert key in manifest, key
    assert set(manifest["coreml"]) >= {"input", "output"}


def test_swift_package_builds_and_tests(ios_app):
    swift = shutil.which("swift")
    if swift is None or subprocess.run([swift, "--version"], capture_output=True, text=True).returncode != 0:
        pytest.skip("no Swift toolchain here (Debian has none; see ios_demo/README.md for the macOS steps)")
    kit = ios_app / "EdgeAffectKit"
    result = subprocess.run([swift, "test"], cwd=kit, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
