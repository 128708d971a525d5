"""The mini_xception_fer2013 Apollo3 bundle, converted once per test session
through the same path as `edge-affect convert --target apollo3`."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_affect.converters.apollo3 import toolchain

MODEL = "mini_xception_fer2013"


def require_host_toolchain() -> None:
    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler: the Apollo3 converter compiles the runtime to size its scratch")


@pytest.fixture(scope="session")
def apollo3_bundle(tmp_path_factory) -> Path:
    require_host_toolchain()
    from edge_affect.converters.build import build_bundle

    return build_bundle(MODEL, "apollo3", "int8", tmp_path_factory.mktemp("apollo3") / "bundle")
