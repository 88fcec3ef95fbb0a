"""The only code that touches huggingface_hub's private names, each with its reason.

huggingface_hub has no per-call client and no per-call Xet session: every request goes through
one process-wide ``httpx2.Client`` (made by a settable factory) and every Xet transfer through one
process-wide ``hf_xet.XetSession``.  tinyrel needs its own bounded client and Xet settings for its
own calls *and* must leave a host program's huggingface_hub exactly as it found it.  The public
``set_client_factory`` closes the host's client and cannot be undone (there is no getter), so the
swap — and its undoing — is done here, on the private globals, under huggingface_hub's own lock.
``tests/test_private_names.py`` imports every name used here, so an upgrade that renames one fails
the suite, not a user.
"""

from __future__ import annotations

from typing import Any

# huggingface_hub.utils._http: the shared client, its factory and the lock that guards them.
_HTTP = "huggingface_hub.utils._http"
# huggingface_hub.utils._xet: the holder of the shared Xet session.
_XET = "huggingface_hub.utils._xet"

PRIVATE_NAMES = {
    _HTTP: ("_CLIENT_LOCK", "_GLOBAL_CLIENT", "_GLOBAL_CLIENT_FACTORY", "hf_request_event_hook"),
    _XET: ("_GLOBAL_XET_HOLDER",),
}


def request_event_hook():
    """huggingface_hub's request hook (adds its user agent, redacts tokens in logs): a client
    tinyrel makes for huggingface_hub must carry it like the default client does."""
    from huggingface_hub.utils._http import hf_request_event_hook

    return hf_request_event_hook


def swap_client(factory, client) -> tuple[Any, Any]:
    """Make ``client`` (from ``factory``) huggingface_hub's shared client; return what it had."""
    from huggingface_hub.utils import _http

    with _http._CLIENT_LOCK:
        previous = (_http._GLOBAL_CLIENT_FACTORY, _http._GLOBAL_CLIENT)
        _http._GLOBAL_CLIENT_FACTORY, _http._GLOBAL_CLIENT = factory, client
    return previous


def restore_client(previous: tuple[Any, Any]) -> None:
    from huggingface_hub.utils import _http

    with _http._CLIENT_LOCK:
        _http._GLOBAL_CLIENT_FACTORY, _http._GLOBAL_CLIENT = previous


def swap_xet_session(session) -> tuple[Any, Any]:
    """Make ``session`` huggingface_hub's shared Xet session; return what the holder had."""
    import os

    from huggingface_hub.utils._xet import _GLOBAL_XET_HOLDER as holder

    with holder._lock:
        previous = (holder._session, holder._session_pid)
        holder._session, holder._session_pid = session, os.getpid()
    return previous


def restore_xet_session(previous: tuple[Any, Any]) -> None:
    from huggingface_hub.utils._xet import _GLOBAL_XET_HOLDER as holder

    with holder._lock:
        holder._session, holder._session_pid = previous


def keep_xet_session(session) -> None:
    """Make ``session`` the holder's again if something replaced or cleared it meanwhile."""
    import os

    from huggingface_hub.utils._xet import _GLOBAL_XET_HOLDER as holder

    with holder._lock:
        if holder._session is not session:
            holder._session, holder._session_pid = session, os.getpid()
