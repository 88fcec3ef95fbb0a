"""Transfers that stop when the user says stop.

huggingface_hub uploads in worker threads and, on Ctrl-C, waits for the running transfers to
finish (a whole 5 GB shard).  ``interruptible`` runs the transfer in a daemon thread and keeps the
main thread free: on Ctrl-C (or SIGTERM) it reports and ends the process at once with exit code
130.  That is safe exactly where it is used — before the commit — because nothing an upload
leaves behind is visible on the Hub, and a re-run resumes from the blobs already sent.  A Xet
upload runs in ``hf_xet``'s own runtime: its session is aborted first (as huggingface_hub does on
Ctrl-C in its own thread), for at most a second, so no Xet task outlives the decision to stop.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def transfer_display(verb: str, total: int):
    """The terminal display of an upload or download: bytes counted in tinyrel's HTTP transport,
    or, when hf_xet moves the data (tinyrel cannot count it), a spinner that says so."""
    from tinyrel.hub.client import uses_xet
    from tinyrel.progress import activity, byte_progress

    return activity(f"{verb} through Xet") if uses_xet() else byte_progress(verb, total)


def interruptible(work: Callable[[], T], what: str, meanwhile: Callable[[], None] | None = None) -> T:
    """Run ``work`` in a daemon thread; Ctrl-C ends the process at once with exit code 130.

    ``meanwhile`` runs on the calling thread during the transfer (the signature is computed while
    the weights upload); if it fails, the transfer is still waited for, so nothing runs on behind
    the caller's back, and then its error is raised.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread and re-raised there
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"tinyrel-{what}", daemon=True)
    thread.start()
    failed: Exception | None = None
    try:
        if meanwhile is not None:
            try:
                meanwhile()
            except Exception as exc:  # noqa: BLE001 - raised once the transfer has stopped
                failed = exc
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        from tinyrel.output import error_line

        sys.stdout.flush()
        message = f"interrupted during the {what}; nothing was committed: re-run the same command to resume"
        sys.stderr.write(error_line("interrupted", message) + "\n")
        sys.stderr.flush()
        _abort_xet(timeout=1.0)
        os._exit(130)
    if failed is not None:
        raise failed
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _abort_xet(timeout: float) -> None:
    """Abort huggingface_hub's Xet session (a no-op when no Xet transfer ever started)."""
    try:
        from huggingface_hub.utils._xet import abort_xet_session  # private: its own Ctrl-C handler
    except ImportError:
        return
    aborter = threading.Thread(target=abort_xet_session, name="tinyrel-xet-abort", daemon=True)
    aborter.start()
    aborter.join(timeout)
