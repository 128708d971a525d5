"""Shared pieces of the bad-input tests (docs/reliability.md has one row per test)."""

from __future__ import annotations

import pytest

from edge_affect.models import get_entry


@pytest.fixture(scope="session")
def spec():
    """The default model's pipeline spec."""
    return get_entry("mini_xception_fer2013").spec
