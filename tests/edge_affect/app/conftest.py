"""App fixtures: a bundle cache holding the session's phone bundles (no rebuild),
the Apollo3 bundle built once through the app's own cache path, and the torch backend."""

from pathlib import Path

import pytest

MODEL = "mini_xception_fer2013"


@pytest.fixture(scope="session")
def bundle_cache(bundles_dir, tmp_path_factory) -> Path:
    """An EDGE_AFFECT_CACHE whose bundles are the session's (tests/conftest.py), linked in."""
    cache = tmp_path_factory.mktemp("edge_affect_cache")
    models = cache / "bundles" / MODEL
    models.mkdir(parents=True)
    for bundle in bundles_dir.iterdir():
        (models / bundle.name).symlink_to(bundle, target_is_directory=True)
    return cache


@pytest.fixture(scope="session")
def c_backend(bundle_cache):
    """The `c` backend: builds the Apollo3 bundle (once) and its host library into the cache."""
    from edge_affect.converters.apollo3 import toolchain

    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler: the c backend compiles the generated C for this machine")
    from edge_affect.app.backends import load_backend

    return load_backend("c", MODEL, cache=bundle_cache)


@pytest.fixture(scope="session")
def va_spec():
    """A valence/arousal spec (labels deliberately not in valence, arousal order)."""
    from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

    return PipelineSpec(task="valence_arousal",
                        input=InputSpec(source="face_box", color="rgb", size=(64, 64), resize="bilinear",
                                        scale=(1 / 255,) * 3, offset=(0.0,) * 3),
                        output=OutputSpec(kind="regression", post="clamp", labels=("arousal", "valence"),
                                          clamp_range=(-1.0, 1.0)))


@pytest.fixture(scope="session")
def torch_backend():
    from edge_affect.app.backends import load_backend

    return load_backend("torch", MODEL)
