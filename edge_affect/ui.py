"""Console output shared by the commands."""

from __future__ import annotations

import contextlib
import sys

# Tables printed into a log or a pipe (CI, `make demo | tee`) get a width that
# keeps a row on one line instead of rich's 80-column default.
PIPE_WIDTH = 160


def stdout_console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)


def progress_bars(enabled: bool = True):
    """A rich Progress (description, bar, n/total, time left) to use as a context
    manager, or a null one yielding None when progress output is off."""
    if not enabled:
        return contextlib.nullcontext()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
