"""Moving many blobs: four at a time, one progress display, and Ctrl-C stops them all.

The transfer runs in a worker thread so that the calling thread stays free: on Ctrl-C (or SIGTERM,
which the CLI turns into Ctrl-C) the client's cancellation is set, every stream stops at its next
1 MiB piece, and ``Interrupted`` is raised with what was left.  That is safe where it is used: an
upload before any tag (blobs are invisible until a manifest names them; a re-run sends only the
missing ones), a download inside a staging directory that the caller removes.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import TypeVar

from tinyrel.findings import Interrupted
from tinyrel.oci.client import OciClient

T = TypeVar("T")
WORKERS = 4


def each(client: OciClient, items: Sequence[T], work: Callable[[T], object], what: str, left: str,
         meanwhile: Callable[[], None] | None = None) -> list[object]:  # fmt: skip
    """``work(item)`` for every item, ``WORKERS`` at a time, in a worker thread; ``meanwhile`` runs
    on the calling thread (the signature is computed while the weights upload) and its error is
    raised once the transfers have stopped."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            results, errors = [], []
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
                for future in futures:
                    try:
                        results.append(future.result())
                    except BaseException as exc:  # noqa: BLE001 - the first real failure is raised below
                        errors.append(exc)
                        client.interrupt()  # the running ones stop at their next piece
                        for queued in futures:  # and the queued ones never start
                            queued.cancel()
            if errors:  # the failure itself, not the interruptions it caused
                caused = (Interrupted, CancelledError)
                outcome["error"] = next((e for e in errors if not isinstance(e, caused)), errors[0])
            else:
                outcome["value"] = results
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread and raised there
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=f"tinyrel-oci-{what}",
                              daemon=True)  # fmt: skip
    thread.start()
    failed: Exception | None = None
    try:
        if meanwhile is not None:
            try:
                meanwhile()
            except Exception as exc:  # noqa: BLE001 - raised once the transfer has stopped
                failed = exc
                client.interrupt()
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        client.interrupt()
        thread.join(2.0)
        raise Interrupted(f"interrupted during the {what}; {left}") from None
    if failed is not None:
        raise failed
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, Interrupted):
            raise Interrupted(f"interrupted during the {what}; {left}") from None
        raise error  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
