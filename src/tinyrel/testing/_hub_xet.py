"""The emulator's Xet routes: connection info for hf_xet, and commits of files uploaded through Xet."""

from __future__ import annotations

import json
import time

from tinyrel.testing._hub_http import HubError
from tinyrel.testing._hub_store import entry_for_lfs


class XetRoutes:
    """Mixed into the emulator's request handler (``self.server``, ``self._auth`` and ``self._send``)."""

    def _uploaded(self, oid: str, size: int, path: str) -> dict:
        """The entry for a file uploaded over LFS (a blob) or Xet (a file in the CAS), else 422.

        ``blob_path`` refuses an ``oid`` that is not 64 hex digits: it names a file in the blob store."""
        hub, xet = self.server.hub, self.server.xet
        blob = hub.blob_path(oid)
        if blob.is_file() and blob.stat().st_size == size:
            return entry_for_lfs(oid, size)
        found = xet.lookup(oid) if xet is not None else None
        if found is not None and found[1] == size:
            return entry_for_lfs(oid, size, found[0])
        raise HubError(422, f"LFS object {oid} for {path} was never uploaded")

    def xet_token(self, repo_id: str, kind: str, revision: str, query) -> None:
        """Xet connection info (a ``local://`` CAS that hf_xet writes to): headers and JSON, like the Hub."""
        if kind == "write":
            self._auth(required=True)
            self.server.hub.repo(repo_id)
        else:  # a read token is a read of the repo: anonymous for a public one only, as on the Hub
            self._read_access(repo_id)
        if self.server.xet is None:
            raise HubError(404, "Xet storage is not enabled for this repository")
        hub = self.server.hub
        with hub.lock:
            hub.stats[f"xet_{kind}_tokens"] += 1
        # A slow CAS (Ctrl-C tests need a Xet transfer that takes a while), until the fault is cleared.
        deadline = time.monotonic() + float(hub.faults.get("slow_xet_token") or 0)
        while hub.faults.get("slow_xet_token") and time.monotonic() < deadline:
            time.sleep(0.05)
        expires = int(time.time()) + 3600
        endpoint = self.server.xet.endpoint
        headers = {"X-Xet-Cas-Url": endpoint, "X-Xet-Access-Token": f"xet-{kind}"}
        headers["X-Xet-Token-Expiration"] = str(expires)
        body = json.dumps({"accessToken": f"xet-{kind}", "exp": expires, "casUrl": endpoint}).encode()
        self._send(200, body, {"Content-Type": "application/json", **headers})
