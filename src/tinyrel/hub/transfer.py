"""Transfers that stop when the user says stop.

huggingface_hub transfers in worker threads and, on Ctrl-C, waits for the running ones to finish
(a whole 5 GB shard).  ``interruptible`` runs a transfer in a worker thread and keeps the calling
thread free: on Ctrl-C (or SIGTERM, which the CLI turns into Ctrl-C) it stops every transfer of the
running call at its next chunk (HTTP bodies through tinyrel's transport, Xet by aborting the
call's own hf_xet transfer groups, waiting at most a second), then raises ``Interrupted`` with what was left — a
``KeyboardInterrupt``, so a notebook sees the interruption it asked for and its ``finally`` blocks
run.  Only the CLI ends the process (exit 130).  That is safe exactly where it is used: before a
commit (nothing an upload leaves is visible on the Hub; a re-run resumes) and inside a staging
directory that the caller removes.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

from tinyrel.findings import Interrupted

T = TypeVar("T")


def transfer_display(verb: str, total: int):
    """The terminal display of an upload or download: bytes and time left, counted in tinyrel's
    HTTP transport or reported by hf_xet (see ``tinyrel.hub.session``)."""
    from tinyrel.progress import byte_progress

    return byte_progress(verb, total)


def interruptible(
    work: Callable[[], T],
    what: str,
    meanwhile: Callable[[], None] | None = None,
    *,
    left: str = "nothing was committed: re-run the same command to resume",
) -> T:
    """Run ``work`` in a worker thread (with the caller's context: its ``HubSession``); Ctrl-C stops
    it and raises ``Interrupted("interrupted during the <what>; <left>")``.

    ``meanwhile`` runs on the calling thread during the transfer (the signature is computed while
    the weights upload); if it fails, the transfer is still waited for, so nothing runs on behind
    the caller's back, and then its error is raised.
    """
    from tinyrel.hub.session import current

    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread and re-raised there
            outcome["error"] = exc

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), name=f"tinyrel-{what}", daemon=True)
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
        current().interrupt()
        thread.join(1.0)  # the transfer sees the cancellation at its next chunk
        raise Interrupted(f"interrupted during the {what}; {left}") from None
    if failed is not None:
        raise failed
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def submit_all(pool, function: Callable[[str], T], items) -> list:
    """``pool.submit`` of ``function(item)`` for each item, each in a copy of the caller's context
    (the running call's ``HubSession`` reaches the worker threads)."""
    return [pool.submit(contextvars.copy_context().run, function, item) for item in items]
