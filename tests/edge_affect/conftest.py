"""Fixtures shared by the SDK's test packages."""

import sys

import pytest

from edge_affect.prep.landmarks import dlib_available


@pytest.fixture
def without_dlib(monkeypatch):
    """dlib unimportable, as on an install without the optional extra, so the
    missing-extra messages are checked whether or not dlib is installed here."""
    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` then raises ImportError
    dlib_available.cache_clear()  # it may have seen the real dlib already
    yield
    dlib_available.cache_clear()  # ... and must not keep seeing it missing
