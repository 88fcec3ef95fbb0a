"""Turn huggingface_hub / HTTP failures into one-line TinyrelErrors with stable codes.

Messages are scrubbed of the token: an exception text may echo request headers or URLs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from tinyrel.findings import TinyrelError


def scrub(text: str, token: str | None = None) -> str:
    for secret in {token, os.environ.get("HF_TOKEN"), os.environ.get("HUGGING_FACE_HUB_TOKEN")}:
        if secret:
            text = text.replace(secret, "***")
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def hub_errors(what: str, token: str | None = None) -> Iterator[None]:
    """Map Hub errors raised inside the block to ``hub/...`` codes."""
    from huggingface_hub import errors

    try:
        yield
    except TinyrelError:
        raise
    except errors.RepositoryNotFoundError:
        raise TinyrelError("hub/not-found", f"{what}: repository not found (or no access with this token)") from None
    except errors.RevisionNotFoundError:
        raise TinyrelError("hub/revision-not-found", f"{what}: revision not found") from None
    except (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError):
        raise TinyrelError("hub/file-not-found", f"{what}: file not found on the Hub") from None
    except errors.GatedRepoError:
        raise TinyrelError("hub/gated", f"{what}: gated repository; request access first") from None
    except errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401 or status == 403:
            raise TinyrelError(
                "hub/auth", f"{what}: the Hub rejected the token (HTTP {status}); check HF_TOKEN"
            ) from None
        raise TinyrelError("hub/http", scrub(f"{what}: {_first_line(exc)}", token)) from None
    except errors.LocalTokenNotFoundError:
        raise TinyrelError("hub/no-token", "no Hub token: set HF_TOKEN or run `hf auth login`") from None
    except Exception as exc:
        # The HTTP stack differs across huggingface_hub releases (requests, httpx, httpx2), so
        # transport failures are recognised by their class hierarchy's names, not imported types.
        names = {cls.__name__ for cls in type(exc).__mro__}
        if names & {"OSError", "ConnectError", "TransportError", "TimeoutException", "NetworkError", "HTTPError"}:
            message = f"{what}: cannot reach the Hub ({_first_line(exc)})"
            raise TinyrelError("hub/unreachable", scrub(message, token)) from None
        raise
