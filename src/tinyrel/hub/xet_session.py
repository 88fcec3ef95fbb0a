"""tinyrel's own ``hf_xet.XetSession``: held to tinyrel's bounds, reporting to the right call.

Xet transfers do not pass through tinyrel's HTTP client: ``hf_xet`` (Rust) talks to the Xet CAS
itself.  For them, ``xet_config`` holds ``hf_xet`` to the same bound of silence and one retry (a
silent CAS ends in ``hub/xet-storage`` after about three times the bound), and to a bounded
read-ahead (its default 8 MB ingestion blocks took its peak memory to ~480 MB on an 8 GB upload;
1 MB blocks take ~200 MB at the same speed).  Their integrity does not rest on the transport:
``hf_xet`` checks every chunk against the file's Merkle hash, and tinyrel checks size and SHA-256
of every downloaded file against the signed list.

huggingface_hub has one Xet session per process, shared by every call; ``ReportingXetSession``
wraps the one tinyrel installs so that each transfer group reports its bytes to the display of the
tinyrel call that started it, and is registered with that call, so that a Ctrl-C aborts that
call's transfers only — never another call's, nor the host's (huggingface_hub's own
``abort_xet_session`` would abort them all and leave a default session in place of tinyrel's).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

# hf_xet setting -> its environment variable: a variable the user set is theirs and wins.
_XET_ENV = {
    "client.connect_timeout": "HF_XET_CLIENT_CONNECT_TIMEOUT",
    "client.read_timeout": "HF_XET_CLIENT_READ_TIMEOUT",
    "client.retry_max_attempts": "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS",
    "client.retry_base_delay": "HF_XET_CLIENT_RETRY_BASE_DELAY",
    "client.retry_max_duration": "HF_XET_CLIENT_RETRY_MAX_DURATION",
    "data.ingestion_block_size": "HF_XET_DATA_INGESTION_BLOCK_SIZE",
    "reconstruction.download_buffer_size": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_SIZE",
    "reconstruction.download_buffer_perfile_size": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_PERFILE_SIZE",
    "reconstruction.download_buffer_limit": "HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_LIMIT",
    "reconstruction.min_prefetch_buffer": "HF_XET_RECONSTRUCTION_MIN_PREFETCH_BUFFER",
    "reconstruction.min_reconstruction_fetch_size": "HF_XET_RECONSTRUCTION_MIN_RECONSTRUCTION_FETCH_SIZE",
}


def xet_settings(seconds: float) -> dict[str, str | int]:
    """The ``hf_xet`` settings tinyrel asks for (see the module docstring), before the user's own."""
    whole = max(1, round(seconds))
    settings: dict[str, str | int] = {
        "client.connect_timeout": f"{min(whole, 10)}s",
        "client.read_timeout": f"{whole}s",
        # hf_xet's default is 5 retries after growing pauses: a silent CAS took 6 reads of silence
        # (6 minutes at the default bound); 2 attempts keep one retry for a transient failure.
        "client.retry_max_attempts": 2,
        "client.retry_base_delay": "1s",
        "client.retry_max_duration": f"{whole}s",
        "data.ingestion_block_size": 1_000_000,
        # hf_xet's download buffers default to 1.5 GB (6.3 GB limit, 1 GB prefetch): a 2.4 GB pull
        # peaked at 1.0-1.2 GB.  At 192 MB it keeps its speed (5.2 s either way) at ~0.5 GB; below
        # ~150 MB it slows down sharply (128 MB: 8.5 s).  Measured with bench/bench_pull.py; a user's
        # own HF_XET_RECONSTRUCTION_* settings win.
        "reconstruction.download_buffer_size": 192_000_000,
        "reconstruction.download_buffer_perfile_size": 96_000_000,
        "reconstruction.download_buffer_limit": 192_000_000,
        "reconstruction.min_prefetch_buffer": 48_000_000,
        "reconstruction.min_reconstruction_fetch_size": 96_000_000,
    }
    return {key: value for key, value in settings.items() if _XET_ENV[key] not in os.environ}


def xet_config(seconds: float):
    """An ``hf_xet.XetConfig``: the user's ``HF_XET_*`` settings, and tinyrel's where they set none."""
    import hf_xet

    return hf_xet.XetConfig().with_config(xet_settings(seconds))


def make_xet_session(seconds: float, call_of_thread: Callable):
    """tinyrel's Xet session (bounded, reporting per call), or ``None`` without hf_xet.

    ``call_of_thread()`` is the ``guard.CallState`` of the tinyrel call this thread runs (``None``:
    the host's).  huggingface_hub opens Xet download groups and upload commits in the calling
    thread (tinyrel's worker threads carry their call's context), never in its own pools.
    """
    try:
        import hf_xet
    except ImportError:
        return None
    return ReportingXetSession(lambda: hf_xet.XetSession(xet_config(seconds)), call_of_thread)


class ReportingXetSession:
    """A ``hf_xet.XetSession`` whose transfer groups belong to tinyrel calls (see the module
    docstring): huggingface_hub asks hf_xet for progress only for its own bars (off while tinyrel
    runs), so each group of a tinyrel call is given a callback that turns hf_xet's running totals
    into byte counts for that call's display, and is kept in the call's ``xet_transfers``."""

    def __init__(self, make_inner: Callable, call_of_thread: Callable) -> None:
        self._make_inner = make_inner
        self._inner = make_inner()
        self._call_of_thread = call_of_thread

    def new_file_download_group(self, **kwargs):
        from tinyrel.hub.guard import current_capture

        capture = current_capture()
        advance = capture.advance if capture is not None else None
        kwargs["progress_callback"] = _chained(kwargs.get("progress_callback"), advance)
        return self._owned(self._call_of_thread(), self._inner.new_file_download_group(**kwargs))

    def new_upload_commit(self, **kwargs):
        call = self._call_of_thread()
        advance = call.upload_progress if call is not None else None
        kwargs["progress_callback"] = _chained(kwargs.get("progress_callback"), advance)
        return self._owned(call, self._inner.new_upload_commit(**kwargs))

    def sigint_abort(self) -> None:
        """huggingface_hub's own Ctrl-C handling (``abort_xet_session``) reaches here when the host's
        Ctrl-C hits a huggingface_hub call: abort every transfer, as the unwrapped session would.
        An aborted hf_xet session must be discarded (every later transfer on it raises
        ``KeyboardInterrupt``), so this one goes on with a fresh one, for ``keep_xet_session`` to
        put back into huggingface_hub's holder."""
        aborted, self._inner = self._inner, self._make_inner()
        aborted.sigint_abort()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    @staticmethod
    def _owned(call, transfer):
        if call is not None:
            call.xet_transfers.append(transfer)
            if call.cancelled.is_set():  # interrupted while this group was being made
                abort_transfers([transfer])
        return transfer


def abort_transfers(transfers: list) -> None:
    """Abort each Xet transfer group (a finished one ignores it)."""
    for transfer in list(transfers):
        with contextlib.suppress(Exception):  # a group that already ended has nothing to abort
            transfer.abort()


def _chained(theirs, advance):
    """hf_xet's progress callback: huggingface_hub's own (if any), then bytes to ``advance``."""
    if advance is None:
        return theirs
    seen = {"bytes": 0}

    def report(group, items=None) -> None:
        if theirs is not None:
            theirs(group, items)
        done = int(getattr(group, "total_bytes_completed", 0) or 0)
        if done > seen["bytes"]:
            advance(done - seen["bytes"])
            seen["bytes"] = done

    return report
