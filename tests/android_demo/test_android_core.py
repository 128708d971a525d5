"""The Android demo's platform-independent Kotlin core (android_demo/core) and its
JNI bridge to the embedded C preprocessing, built and run on this machine:

* the JNI bridge (app/src/main/cpp/ea_jni.c + embedded/src/ea_preprocess.c) with
  gcc against the JDK's jni.h into a host .so;
* the core module and its JUnit tests with Debian's kotlinc, run by JUnitCore on
  an exported executorch bundle's golden vectors and on frames with off-centre
  boxes whose expected tensors come from the numpy reference here.

Needs gcc, a JDK, kotlinc and junit4 (Debian: `kotlin junit4`); skips, saying
which is missing, without them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_affect.commands.export_app_assets import export_app_assets
from edge_affect.runtime.preprocess import preprocess

REPO = Path(__file__).resolve().parents[2]
ANDROID = REPO / "android_demo"
CORE = ANDROID / "core" / "src"
JNI_DIR = ANDROID / "app" / "src" / "main" / "cpp"
MODEL = "mini_xception_fer2013"
JARS = ("junit4.jar", "hamcrest-core.jar", "kotlin-stdlib.jar")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian packages: kotlin junit4 default-jdk-headless gcc)")
    return path


def _jni_include() -> list[str]:
    javac = Path(os.path.realpath(_tool("javac")))
    include = javac.parent.parent / "include"
    if not (include / "jni.h").is_file():
        pytest.skip(f"no jni.h beside {javac}")
    return [f"-I{include}", f"-I{include / 'linux'}"]


def _jars() -> list[str]:
    found = []
    for name in JARS:
        hits = glob.glob(f"/usr/share/java/{name}")
        if not hits:
            pytest.skip(f"/usr/share/java/{name} not installed (Debian packages: junit4 kotlin)")
        found.append(hits[0])
    return found


def link_bundles(bundles_dir: Path, root: Path) -> Path:
    """The session's bundles in export-app-assets' <bundles>/<model>/<target>-<precision> layout."""
    (root / MODEL).mkdir(parents=True)
    for bundle in bundles_dir.iterdir():
        (root / MODEL / bundle.name).symlink_to(bundle, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def android_app(bundles_dir, tmp_path_factory) -> Path:
    app = tmp_path_factory.mktemp("android_app")
    export_app_assets(MODEL, "android", app, link_bundles(bundles_dir, tmp_path_factory.mktemp("b")))
    return app


@pytest.fixture(scope="module")
def jni_library(tmp_path_factory) -> Path:
    gcc = _tool("gcc")
    out = tmp_path_factory.mktemp("jni") / "libedgeaffect_jni.so"
    subprocess.run([gcc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    *_jni_include(), f"-I{REPO / 'embedded' / 'include'}", str(JNI_DIR / "ea_jni.c"),
                    str(REPO / "embedded" / "src" / "ea_preprocess.c"), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def off_centre_frames(android_app, tmp_path_factory) -> Path:
    """An RGB frame tiled from golden crops, boxes partly outside it, and the reference's tensors."""
    from edge_affect.bundle import load_bundle

    bundle = load_bundle(android_app / "app/src/main/assets/edge_affect" / MODEL / "executorch-fp32")
    crops = bundle.load_array("crops")[:6]
    gray = np.concatenate([np.concatenate(list(crops[r * 3:(r + 1) * 3]), axis=1) for r in range(2)], axis=0)
    frame = np.stack([gray, np.roll(gray, 7, axis=1), 255 - gray], axis=2)  # unequal channels: colour conversion matters
    h, w = gray.shape
    boxes = np.array([[-10, -5, 70, 80], [w - 50, h - 30, 90, 60], [30, 20, 41, 37], [0, 0, w, h]])
    expected = np.concatenate([preprocess(frame, bundle.spec.input, tuple(map(int, b))) for b in boxes])
    out = tmp_path_factory.mktemp("frames")
    np.save(out / "frame.npy", frame)
    np.save(out / "boxes.npy", boxes.astype(np.float64))
    np.save(out / "expected.npy", expected.astype(np.float32))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_kotlin_core_junit_on_golden_vectors(precision, android_app, jni_library, off_centre_frames,
                                              kotlin_core_build):
    bundle = android_app / "app/src/main/assets/edge_affect" / MODEL / f"executorch-{precision}"
    jar, classpath = kotlin_core_build
    result = subprocess.run(
        [_tool("java"), f"-Dedgeaffect.bundle={bundle}", f"-Dedgeaffect.jni.lib={jni_library}",
         f"-Dedgeaffect.frames={off_centre_frames}", "-cp", os.pathsep.join([str(jar), *classpath]),
         "org.junit.runner.JUnitCore", "dev.edgeaffect.core.GoldenVectorsTest",
         "dev.edgeaffect.core.NativePreprocessorTest", "dev.edgeaffect.core.JsonAndManifestTest"],
        capture_output=True, text=True, timeout=120)
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # JUnit's Assume turns a missing input into a pass: make sure nothing was skipped that way.
    assert "OK (" in result.stdout and "ignored" not in result.stdout.lower()
    assert int(result.stdout.split("OK (")[1].split()[0]) == 13


@pytest.fixture(scope="module")
def kotlin_core_build(tmp_path_factory):
    kotlinc = _tool("kotlinc")
    classpath = _jars()
    jar = tmp_path_factory.mktemp("kotlin") / "core-tests.jar"
    result = subprocess.run([kotlinc, str(CORE / "main" / "kotlin"), str(CORE / "test" / "kotlin"),
                             "-cp", os.pathsep.join(classpath), "-d", str(jar)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and jar.is_file(), result.stderr[-4000:]
    return jar, classpath


def test_jni_bridge_compiles_warning_free(jni_library):
    assert jni_library.stat().st_size > 0
