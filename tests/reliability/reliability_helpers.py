"""Helpers shared by the bad-input tests (a uniquely named module: every test
directory has a conftest.py, so `from conftest import` would be ambiguous)."""

from __future__ import annotations

from pathlib import Path


def files_under(path: Path) -> set[Path]:
    """Every file below `path` (to show that a failed call wrote nothing)."""
    return {p for p in Path(path).rglob("*") if p.is_file()} if Path(path).exists() else set()


def assert_one_line_error(capsys, *fragments: str) -> str:
    """The CLI's contract for a user error: one line on stderr, no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 or (lines and lines[0].startswith("usage:")), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err
