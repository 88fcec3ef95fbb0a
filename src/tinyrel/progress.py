"""Progress bars on stderr, only when stderr is a terminal (CI logs and pipes stay clean)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def no_progress(_n: int) -> None:
    """The advance callback when nothing is displayed (callers may skip work for it)."""


@contextlib.contextmanager
def byte_progress(description: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(nbytes)`` callback backed by a rich bar, or a no-op off a TTY."""
    if not enabled or total <= 0 or not sys.stderr.isatty():
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def activity(description: str, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A spinner with the elapsed time, for work whose bytes tinyrel cannot count (hf_xet moves
    Xet data itself): it says what is happening without a bar that would not move.  Yields the
    no-op ``advance`` so callers treat both displays alike."""
    if not enabled or not sys.stderr.isatty():
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), "[progress.description]{task.description}", TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        bar.add_task(description, total=None)
        yield no_progress
