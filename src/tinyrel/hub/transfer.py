"""Transfers that stop when the user says stop.

huggingface_hub uploads in worker threads and, on Ctrl-C, waits for the running transfers to
finish (a whole 5 GB shard).  ``interruptible`` runs the transfer in a daemon thread and keeps the
main thread free: on Ctrl-C (or SIGTERM) it reports and ends the process at once with exit code
130.  That is safe exactly where it is used — before the commit — because nothing an upload
leaves behind is visible on the Hub, and a re-run resumes from the blobs already sent.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def interruptible(work: Callable[[], T], what: str) -> T:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread and re-raised there
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"tinyrel-{what}", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        from tinyrel.output import error_line

        sys.stdout.flush()
        message = f"interrupted during the {what}; nothing was committed: re-run the same command to resume"
        sys.stderr.write(error_line("interrupted", message) + "\n")
        sys.stderr.flush()
        os._exit(130)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
