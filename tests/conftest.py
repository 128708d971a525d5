"""Shared fixtures: bundles of the default model are built once per test session."""

from pathlib import Path

import pytest

DEFAULT_MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="session")
def bundles_dir(tmp_path_factory) -> Path:
    """Every phone target and precision of the default model, built by the real CLI path."""
    from edge_affect.converters.build import build_bundle, bundle_name, plan

    root = tmp_path_factory.mktemp("bundles")
    for target, precision in plan("all", None):
        build_bundle(DEFAULT_MODEL, target, precision, root / bundle_name(target, precision))
    return root
