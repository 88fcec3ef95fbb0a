"""Turn huggingface_hub / HTTP failures into one-line TinyrelErrors with stable codes.

Messages are scrubbed of the token: an exception text may echo request headers or URLs.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from tinyrel.findings import TinyrelError, first_line


def scrub(text: str, token: str | None = None) -> str:
    names = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SIGSTORE_ID_TOKEN")
    for secret in {token, *(os.environ.get(name) for name in names)}:
        if secret:
            text = text.replace(secret, "***")
    return text


def classify(exc: BaseException, what: str, token: str | None = None) -> TinyrelError | None:
    """The TinyrelError for a Hub failure, looking through wrapping exceptions (huggingface_hub
    re-raises upload failures as ``RuntimeError(...) from HfHubHTTPError``, and a failed metadata
    request as "not found locally" from the HTTP error); ``None`` if unknown."""
    from huggingface_hub import errors

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    # The most specific cause wins: an HTTP status or an untrusted answer beats a generic wrapper.
    for item in chain:
        found = _classify_cause(item, what, token, errors)
        if found is not None:
            return found
    for item in chain:
        found = _classify_one(item, what, token, errors)
        if found is not None:
            return found
    return None


def _classify_cause(exc: BaseException, what: str, token: str | None, errors) -> TinyrelError | None:
    from tinyrel.hub.guard import Cancelled, HubTimeout, UntrustedHubResponse

    if isinstance(exc, TinyrelError):
        return exc
    if isinstance(exc, Cancelled):
        return TinyrelError("hub/interrupted", f"{what}: stopped: its tinyrel call was interrupted or has ended")
    if isinstance(exc, HubTimeout):
        return TinyrelError("hub/timeout", scrub(f"{what}: the Hub did not answer in time: {exc}", token))
    if isinstance(exc, UntrustedHubResponse):
        return TinyrelError("hub/untrusted-response", scrub(f"{what}: {exc}", token))
    if isinstance(exc, errors.HfHubHTTPError) and not isinstance(
        exc, (errors.RepositoryNotFoundError, errors.RevisionNotFoundError, errors.EntryNotFoundError)
    ):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is not None and status >= 500:
            return TinyrelError("hub/server-error", scrub(f"{what}: the Hub failed (HTTP {status}): "
                                f"{first_line(exc)}", token))  # fmt: skip
    return None


def _classify_one(exc: BaseException, what: str, token: str | None, errors) -> TinyrelError | None:
    if isinstance(exc, errors.RepositoryNotFoundError):
        return TinyrelError("hub/not-found", f"{what}: repository not found (or no access with this token)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return TinyrelError("hub/revision-not-found", f"{what}: revision not found")
    if isinstance(exc, errors.FileMetadataError):
        return TinyrelError("hub/untrusted-response", scrub(f"{what}: the server's answer for a file lacks what a Hub "
                            f"sends (a commit id, an ETag, a size): {first_line(exc)}", token))  # fmt: skip
    if isinstance(exc, errors.LocalEntryNotFoundError):
        return None  # huggingface_hub's wrapper of a failed request: the cause says what happened
    if isinstance(exc, (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError)):
        return TinyrelError("hub/file-not-found", f"{what}: file not found on the Hub")
    if isinstance(exc, errors.GatedRepoError):
        return TinyrelError("hub/gated", f"{what}: gated repository; request access first")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return TinyrelError("hub/auth", f"{what}: the Hub rejected the token (HTTP {status}); check HF_TOKEN")
        return TinyrelError("hub/http", scrub(f"{what}: {first_line(exc)}", token))
    if isinstance(exc, errors.LocalTokenNotFoundError):
        return TinyrelError("hub/no-token", "no Hub token: set HF_TOKEN or run `hf auth login`")
    found = _classify_xet(exc, what, token)
    if found is not None:
        return found
    # The HTTP stack differs across huggingface_hub releases (requests, httpx, httpx2), so
    # transport failures are recognised by their class hierarchy's names, not imported types.
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TooManyRedirects" in names:
        return TinyrelError("hub/untrusted-response", scrub(f"{what}: the server redirects without end "
                            f"({first_line(exc)})", token))  # fmt: skip
    if names & {"TimeoutException", "ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout"}:
        return TinyrelError("hub/timeout", scrub(f"{what}: the Hub did not answer in time ({first_line(exc)})", token))
    if names & {"ConnectError", "TransportError", "NetworkError", "RemoteProtocolError", "ConnectionError"}:
        return TinyrelError("hub/unreachable", scrub(f"{what}: cannot reach the Hub ({first_line(exc)})", token))
    return None


# hf_xet (Rust) reports transfer failures as RuntimeError: recognised by where it was raised (a
# huggingface_hub function driving hf_xet, e.g. ``xet_get``) or by the layer its message names.
_XET_MARKERS = ("CAS Client Error", "File reconstruction error", "Task error", "Upload task error")
_XET_STATUS = re.compile(r"HTTP status (?:client|server) error \((\d{3})")


def _raised_by_xet(exc: BaseException) -> bool:
    """Raised on the way through a huggingface_hub function that drives hf_xet (``xet_get``,
    ``_upload_xet_files``) or through tinyrel's own Xet session (``tinyrel.hub.session``)."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if ("huggingface_hub" in code.co_filename and "xet" in code.co_name) or (
            code.co_filename.endswith(("tinyrel/hub/session.py", "tinyrel\\hub\\session.py"))
        ):
            return True
        tb = tb.tb_next
    return any(marker in str(exc) for marker in _XET_MARKERS)


def _classify_xet(exc: BaseException, what: str, token: str | None) -> TinyrelError | None:
    """Failures of the Xet storage (its CAS), which hf_xet reaches without tinyrel's HTTP client."""
    names = {(cls.__module__, cls.__name__) for cls in type(exc).__mro__}
    if ("hf_xet", "XetAuthenticationError") in names:
        return TinyrelError("hub/auth", scrub(f"{what}: the Xet storage rejected the access token: {first_line(exc)}",
                                              token))  # fmt: skip
    if ("hf_xet", "XetObjectNotFoundError") in names:
        return TinyrelError("hub/file-not-found", scrub(f"{what}: the Xet storage does not hold this file: "
                                                        f"{first_line(exc)}", token))  # fmt: skip
    # hf_xet raises plain builtins (RuntimeError, ConnectionError, ...), never an HTTP client's type.
    if type(exc).__module__ != "builtins" or not _raised_by_xet(exc):
        return None
    text = scrub(first_line(exc), token)
    status = _XET_STATUS.search(text)
    code = int(status.group(1)) if status else None
    if code == 404 and "xet-write-token" in text:
        return TinyrelError("hub/xet-unavailable", f"{what}: this Hub offers no Xet storage (HTTP 404 from its Xet "
                            "token route); upload over LFS with HF_HUB_DISABLE_XET=1")  # fmt: skip
    if code in (401, 403):
        return TinyrelError("hub/auth", f"{what}: the Hub refused Xet access (HTTP {code}); check HF_TOKEN")
    if code is not None and code >= 500:
        return TinyrelError("hub/server-error", f"{what}: the Hub's Xet service failed (HTTP {code}): {text}")
    return TinyrelError("hub/xet-storage", f"{what}: the Hub's Xet storage failed (no answer within the bound, or "
                        f"an error): {text}")  # fmt: skip


@contextlib.contextmanager
def hub_errors(what: str, token: str | None = None) -> Iterator[None]:
    """Map Hub errors raised inside the block to ``hub/...`` codes."""
    try:
        yield
    except Exception as exc:
        found = classify(exc, what, token)
        if found is None:
            raise
        raise found from None
