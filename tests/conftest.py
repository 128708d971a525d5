"""Shared fixtures: bundles of the default model (phone targets, Apollo3) are built once per test session."""

import os
import tempfile
from pathlib import Path

import pytest

# Hermetic user-model registry: tests that list or register models must not see
# (or write into) the developer's ~/.local/share/edge-affect/models.
os.environ["EDGE_AFFECT_MODELS"] = tempfile.mkdtemp(prefix="edge-affect-user-models-")

DEFAULT_MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="session")
def bundles_dir(tmp_path_factory) -> Path:
    """Every phone target and precision of the default model, built by the real CLI path."""
    from edge_affect.converters.build import build_bundle, bundle_name, plan

    root = tmp_path_factory.mktemp("bundles")
    for target, precision in plan("all", None):
        build_bundle(DEFAULT_MODEL, target, precision, root / bundle_name(target, precision))
    return root


@pytest.fixture(scope="session")
def apollo3_bundle(tmp_path_factory) -> Path:
    """The default model's Apollo3 bundle, converted once per session through
    the same path as `edge-affect convert --target apollo3`."""
    from edge_affect.converters.apollo3 import toolchain

    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler: the Apollo3 converter compiles the runtime to size its scratch")
    from edge_affect.converters.build import build_bundle

    return build_bundle(DEFAULT_MODEL, "apollo3", "int8", tmp_path_factory.mktemp("apollo3") / "bundle")
