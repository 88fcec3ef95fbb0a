"""One tinyrel call's way to the Hub — bounded, reporting its progress — and nothing left behind.

huggingface_hub keeps its settings process-wide: one shared HTTP client, one shared Xet session,
global progress bars, its logger.  tinyrel needs its own for its calls (every request bounded in
time and size, hf_xet held to the same bound, one progress display of its own, one-line errors)
and must leave a host program's huggingface_hub as it found it.  So:

- every API call (and every CLI command) runs inside a ``HubSession`` — cheap to enter: nothing of
  huggingface_hub is imported or changed until the call first reaches the Hub (``HubSession.bounds``);
- the first session of the process that reaches the Hub *installs* tinyrel's client
  (``guard.make_client``), its Xet session (``xet_session``, bounded, reporting progress), quiet
  progress bars and a quiet logger; sessions running at the same time share that installation;
- when the last of them ends, everything is put back exactly as it was — the host's client and
  factory, its Xet session, its progress-bar switch and its logger level.

While a tinyrel call runs, other huggingface_hub requests of the same process pass through
tinyrel's client too (huggingface_hub has one client): they get the same bound of silence, but keep
huggingface_hub's sizes (a download as long as it declares), and a Ctrl-C of a tinyrel call stops
that call's transfers only (``HubSession.interrupt``), never another call's or the host's.
"""

from __future__ import annotations

import logging
import os
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tinyrel.findings import TinyrelError

log = logging.getLogger(__name__)

_current: ContextVar[HubSession | None] = ContextVar("tinyrel_hub_session", default=None)
_lock = threading.Lock()
_users = 0
_installed: _Installation | None = None


def _call_of_thread():
    """The ``CallState`` of the tinyrel call this thread runs (``None``: a request of the host's)."""
    session = _current.get()
    return session.state if session is not None else None


@dataclass
class _Installation:
    """What tinyrel put into huggingface_hub, and what was there before."""

    bounds: Any  # guard.Bounds
    previous_client: tuple[Any, Any]
    previous_xet: tuple[Any, Any] | None
    bars_were_disabled: bool
    logger_level: int
    client: Any = None
    xet: Any = None  # tinyrel's Xet session, while it is huggingface_hub's
    pid: int = 0  # the process that installed it (a forked child makes its own, as huggingface_hub does)


def _keep_xet_session(installation: _Installation) -> None:
    """Put tinyrel's Xet session back if huggingface_hub dropped it: its own Ctrl-C handling
    (``abort_xet_session``, on a KeyboardInterrupt in a host's call) clears the shared session,
    and the next transfer would get a default one — unbounded, reporting to no call."""
    if installation.xet is not None and installation.pid == os.getpid():
        from tinyrel.hub import _hf_private

        _hf_private.keep_xet_session(installation.xet)


class HubSession:
    """The scope of one tinyrel call (see the module docstring); reentrant: a call inside a call
    shares the outer session.  Its ``CallState`` is its own part of the shared installation: its
    Ctrl-C flag, its upload display, its Xet transfers."""

    def __init__(self) -> None:
        from tinyrel.hub.guard import CallState

        self.state = CallState()
        self._token = None
        self._installed = False
        self._ended = False
        self._install_lock = threading.Lock()  # the call's threads may reach the Hub at once

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
        with self._install_lock:
            self._ended = True
            self.state.cancelled.set()  # a thread of this call still running stops at its next chunk
            if self._installed and _installed is not None:
                _installed.bounds.uploads.forget(self.state)
            if self._installed:
                self._installed = False
                _release()

    def bounds(self):
        """The installation's bounds (installing tinyrel into huggingface_hub on first use).

        After the call has ended, a thread of it that is still running (one abandoned on Ctrl-C)
        gets an error here, not a new installation that nothing would ever take back out."""
        with self._install_lock:
            if self._ended:
                raise TinyrelError("hub/interrupted", "this tinyrel call has ended; its transfers are stopped")
            if not self._installed:
                _acquire()
                self._installed = True
            assert _installed is not None
            _keep_xet_session(_installed)
            return _installed.bounds

    def interrupt(self) -> None:
        """Ctrl-C: this call's transfers stop at their next chunk and its Xet transfers are aborted;
        other calls (other sessions, the host's own huggingface_hub calls) go on."""
        from tinyrel.hub.xet_session import abort_transfers

        self.state.cancelled.set()
        transfers = list(self.state.xet_transfers)
        aborter = threading.Thread(target=abort_transfers, args=(transfers,), name="tinyrel-xet-abort", daemon=True)
        aborter.start()
        aborter.join(1.0)

    def report_upload(self, advance) -> None:
        """Send this call's upload byte counts (LFS PUT bodies and Xet uploads) to ``advance``
        (``None``: stop)."""
        from tinyrel.progress import no_progress

        self.bounds()
        self.state.upload_progress = None if advance is None or advance is no_progress else advance


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
    from tinyrel.hub.xet_session import make_xet_session

    # An unusable TINYREL_HUB_TIMEOUT fails here, before anything changes.
    bounds = Bounds(timeout_seconds(), _call_of_thread)
    hf_logger = logging.getLogger("huggingface_hub")
    installation = _Installation(bounds, (None, None), None, are_progress_bars_disabled(), hf_logger.level)
    client = make_client(bounds)
    installation.client = client
    installation.previous_client = _hf_private.swap_client(lambda: client, client)
    xet = make_xet_session(bounds.seconds, _call_of_thread)
    if xet is not None:
        installation.xet, installation.pid = xet, os.getpid()
        installation.previous_xet = _hf_private.swap_xet_session(xet)
    disable_progress_bars()  # tinyrel shows one display of its own
    hf_logger.setLevel(logging.ERROR)  # its retry chatter is not tinyrel's one-line error
    log.debug(
        "installed tinyrel's client%s into huggingface_hub (bound: %g s of silence)",
        " and Xet session" if xet is not None else "",
        bounds.seconds,
    )
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
