"""One tinyrel call's way to the Hub — bounded, reporting its progress — and nothing left behind.

huggingface_hub keeps its settings process-wide: one shared HTTP client, one shared Xet session,
global progress bars, its logger.  tinyrel needs its own for its calls (every request bounded in
time and size, hf_xet held to the same bound, one progress display of its own, one-line errors)
and must leave a host program's huggingface_hub as it found it.  So:

- every API call (and every CLI command) runs inside a ``HubSession`` — cheap to enter: nothing is
  imported or changed until the call first reaches the Hub (``HubSession.bounds``);
- the first session of the process that reaches the Hub *installs* tinyrel's client
  (``guard.make_client``), its Xet session (``guard.xet_config``, reporting progress), quiet
  progress bars and a quiet logger; sessions running at the same time share that installation;
- when the last of them ends, everything is put back exactly as it was — the host's client and
  factory, its Xet session, its progress-bar switch and its logger level.

While a tinyrel call runs, other huggingface_hub requests of the same process pass through
tinyrel's client too (huggingface_hub has one client), bounded by the same limits.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tinyrel.findings import TinyrelError

log = logging.getLogger(__name__)

_current: ContextVar[HubSession | None] = ContextVar("tinyrel_hub_session", default=None)
_lock = threading.Lock()
_users = 0
_installed: _Installation | None = None


@dataclass
class _Installation:
    """What tinyrel put into huggingface_hub, and what was there before."""

    bounds: Any  # guard.Bounds
    previous_client: tuple[Any, Any]
    previous_xet: tuple[Any, Any] | None
    bars_were_disabled: bool
    logger_level: int
    client: Any = None
    xet_progress: dict[str, Any] = field(default_factory=dict)  # "upload" -> advance


class HubSession:
    """The scope of one tinyrel call (see the module docstring); reentrant: a call inside a call
    shares the outer session."""

    def __init__(self) -> None:
        self._token = None
        self._installed = False

    def __enter__(self) -> HubSession:
        outer = _current.get()
        if outer is not None:
            return outer
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is None:
            return
        _current.reset(self._token)
        self._token = None
        if self._installed:
            self._installed = False
            _release()

    def bounds(self):
        """The installation's bounds (installing tinyrel into huggingface_hub on first use)."""
        if not self._installed:
            _acquire()
            self._installed = True
        assert _installed is not None
        return _installed.bounds

    def interrupt(self) -> None:
        """Ctrl-C: every transfer of the installation stops at its next chunk, hf_xet is aborted."""
        from tinyrel.hub._hf_private import abort_xet_session

        if _installed is not None:
            _installed.bounds.cancelled.set()
        aborter = threading.Thread(target=abort_xet_session, name="tinyrel-xet-abort", daemon=True)
        aborter.start()
        aborter.join(1.0)

    def report_upload(self, advance) -> None:
        """Send upload byte counts (LFS PUT bodies and Xet uploads) to ``advance`` (``None``: stop)."""
        from tinyrel.progress import no_progress

        bounds = self.bounds()
        bounds.upload_progress = None if advance is None or advance is no_progress else advance
        if _installed is not None:
            _installed.xet_progress["upload"] = bounds.upload_progress


def report_progress(kind: str, advance) -> None:
    """Send the running call's upload byte counts to ``advance`` (``None``: stop); ``kind`` is
    ``"upload"`` (downloads report through their ``DownloadCapture``)."""
    if kind == "upload":
        current().report_upload(advance)


def current() -> HubSession:
    """The running call's session; code that reaches the Hub runs inside one."""
    session = _current.get()
    if session is None:
        raise TinyrelError("internal/no-session", "tinyrel reached the Hub outside a HubSession (a bug in tinyrel)")
    return session


def _acquire() -> None:
    global _users, _installed
    with _lock:
        if _installed is None:
            _installed = _install()
        _users += 1


def _release() -> None:
    global _users, _installed
    with _lock:
        _users -= 1
        if _users == 0 and _installed is not None:
            _uninstall(_installed)
            _installed = None


def _install() -> _Installation:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

    from tinyrel.hub import _hf_private
    from tinyrel.hub.guard import Bounds, make_client, timeout_seconds

    bounds = Bounds(timeout_seconds())  # an unusable TINYREL_HUB_TIMEOUT fails here, before anything changes
    hf_logger = logging.getLogger("huggingface_hub")
    installation = _Installation(bounds, (None, None), None, are_progress_bars_disabled(), hf_logger.level)
    client = make_client(bounds)
    installation.client = client
    installation.previous_client = _hf_private.swap_client(lambda: client, client)
    xet = _xet_session(bounds, installation)
    if xet is not None:
        installation.previous_xet = _hf_private.swap_xet_session(xet)
    disable_progress_bars()  # tinyrel shows one display of its own
    hf_logger.setLevel(logging.ERROR)  # its retry chatter is not tinyrel's one-line error
    log.debug("installed tinyrel's client%s into huggingface_hub (bound: %g s of silence)",
              " and Xet session" if xet is not None else "", bounds.seconds)
    return installation


def _uninstall(installation: _Installation) -> None:
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    from tinyrel.hub import _hf_private

    _hf_private.restore_client(installation.previous_client)
    if installation.previous_xet is not None:
        _hf_private.restore_xet_session(installation.previous_xet)
    import warnings

    logging.getLogger("huggingface_hub").setLevel(installation.logger_level)
    with warnings.catch_warnings():  # enabling warns when HF_HUB_DISABLE_PROGRESS_BARS is set: nothing to say
        warnings.simplefilter("ignore")
        (disable_progress_bars if installation.bars_were_disabled else enable_progress_bars)()
    installation.client.close()
    log.debug("restored huggingface_hub's own client, Xet session, progress bars and logger")


def _xet_session(bounds, installation: _Installation):
    """tinyrel's own ``hf_xet.XetSession`` (bounded, reporting progress), or ``None`` without hf_xet."""
    try:
        import hf_xet
    except ImportError:
        return None
    from tinyrel.hub.guard import xet_config

    return _ReportingXetSession(hf_xet.XetSession(xet_config(bounds.seconds)), installation)


class _ReportingXetSession:
    """A ``hf_xet.XetSession`` that also reports bytes to tinyrel's display: huggingface_hub asks
    hf_xet for progress only for its own bars (off while tinyrel runs), so each transfer group is
    given a callback that turns hf_xet's running totals into byte counts."""

    def __init__(self, inner, installation: _Installation) -> None:
        self._inner = inner
        self._installation = installation

    def new_file_download_group(self, **kwargs):
        from tinyrel.hub.guard import current_capture

        capture = current_capture()
        advance = capture.advance if capture is not None else None
        kwargs["progress_callback"] = _chained(kwargs.get("progress_callback"), advance)
        return self._inner.new_file_download_group(**kwargs)

    def new_upload_commit(self, **kwargs):
        advance = self._installation.xet_progress.get("upload")
        kwargs["progress_callback"] = _chained(kwargs.get("progress_callback"), advance)
        return self._inner.new_upload_commit(**kwargs)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


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
