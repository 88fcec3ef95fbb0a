"""Which tinyrel call an upload belongs to, when the thread that sends it cannot say.

huggingface_hub sends LFS upload bodies (``PUT``) from its own thread pool, which no ContextVar
reaches, so the transport cannot tell a tinyrel call's upload from the host program's by the
thread.  It can by the URL: the LFS batch answer — requested in the call's own context — names
every URL its files are to be sent to (one per file, or one per part).  Those URLs are remembered
for the call; a ``PUT`` to one of them is that call's (its Ctrl-C stops it, its display counts it);
any other ``PUT`` without a call in its context is the host's, and left alone.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

BATCH_PATH_SUFFIX = "/info/lfs/objects/batch"


def is_batch_request(request) -> bool:
    return request.method == "POST" and request.url.path.endswith(BATCH_PATH_SUFFIX)


class UploadOwners:
    """Upload URL (scheme, host, path: a pre-signed query may be re-encoded) -> the call that asked
    the Hub where to send it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, Any] = {}

    def learn(self, call: Any, batch_answer: bytes) -> None:
        """Remember every upload URL of a batch answer as ``call``'s (an answer that is not the
        batch JSON teaches nothing: huggingface_hub will fail on it by itself)."""
        try:
            answer = json.loads(batch_answer)
        except (ValueError, RecursionError):
            return
        objects = answer.get("objects") if isinstance(answer, dict) else None
        from huggingface_hub.utils import fix_hf_endpoint_in_url

        endpoint = os.environ.get("HF_ENDPOINT")  # what tinyrel's HfApi is given (hub.client.endpoint)

        urls = []
        for item in objects if isinstance(objects, list) else []:
            actions = item.get("actions") if isinstance(item, dict) else None
            upload = actions.get("upload") if isinstance(actions, dict) else None
            if not isinstance(upload, dict):
                continue
            header = upload.get("header") if isinstance(upload.get("header"), dict) else {}
            urls += [upload.get("href"), *(url for part, url in header.items() if str(part).isdigit())]
        keys = set()
        for url in urls:
            if isinstance(url, str):  # as given, and as huggingface_hub rewrites it for a custom endpoint
                keys |= {_key(url), _key(fix_hf_endpoint_in_url(url, endpoint=endpoint))}
        with self._lock:
            self._owners.update(dict.fromkeys(keys, call))

    def owner(self, url) -> Any:
        with self._lock:
            return self._owners.get(_key(str(url)))

    def forget(self, call: Any) -> None:
        """The call has ended: its URLs are no longer its."""
        with self._lock:
            self._owners = {url: owner for url, owner in self._owners.items() if owner is not call}


def _key(url: str) -> str:
    import httpx2

    try:
        parsed = httpx2.URL(url)
    except Exception:  # noqa: BLE001 - a URL httpx cannot parse is sent nowhere by huggingface_hub either
        return url
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}{parsed.path}"
