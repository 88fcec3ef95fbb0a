"""The emulator's LFS routes: the batch API (basic transfer), pre-signed uploads, and verify."""

from __future__ import annotations

import hmac

from tinyrel.testing._hub_http import HubError
from tinyrel.testing._hub_names import sha256_oid, size


class LfsRoutes:
    """Mixed into the emulator's request handler (``self.server``, ``self._auth`` and ``self._send``)."""

    def lfs_batch(self, repo_id: str, query) -> None:
        self._auth(required=True)
        self.server.hub.repo(repo_id)
        objects, hub, xet = [], self.server.hub, self.server.xet
        wanted = self._json_object().get("objects")
        if not isinstance(wanted, list) or not all(isinstance(obj, dict) for obj in wanted):
            raise HubError(400, "objects must be a list of {oid, size}")
        for obj in wanted:
            oid, length = sha256_oid(obj.get("oid")), size(obj.get("size"))
            entry = {"oid": oid, "size": length, "authenticated": True}
            if not hub.has_blob(oid) and (xet is None or xet.lookup(oid) is None):
                base = f"{self.server.base_url}/_lfs/{repo_id}/{oid}"
                upload = f"{base}?sig={self.server.presign(oid)}"
                entry["actions"] = {"upload": {"href": upload, "header": {}}, "verify": {"href": base + "/verify"}}
            objects.append(entry)
        self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def lfs_upload(self, repo_id: str, oid: str, query) -> None:
        """The PUT of a pre-signed upload URL (like S3's): its signature, not a token, authorises it."""
        hub = self.server.hub
        if not hmac.compare_digest(query.get("sig", [""])[0], self.server.presign(oid)):
            raise HubError(403, "upload URL signature does not match")
        length = self._length()
        with hub.lock:
            hub.stats["uploads"] += 1
            number = hub.stats["uploads"]
            fail, drop = hub.faults["fail_upload"], hub.faults["drop_upload"]
        slow = hub.faults.get("slow_upload")
        if drop == number:
            self.rfile.read(min(length, 1024))
            self.close_connection = True
            hub.stats["failed_uploads"] += 1
            raise ConnectionError("injected connection drop")
        # else stream to disk while hashing: a 5 GB shard never sits in memory
        staged = hub.stage_bytes(self._slow_body(float(slow))) if slow else hub.stage_stream(self.rfile, length)
        if fail == number:
            staged.path.unlink(missing_ok=True)
            hub.stats["failed_uploads"] += 1
            raise HubError(507, f"injected failure of upload #{number}")
        if staged.sha256 != oid:
            staged.path.unlink(missing_ok=True)
            raise HubError(400, "uploaded content does not match its oid")
        with hub.lock:
            hub.commit_staged(staged)
            hub.stats["uploaded_bytes"] += staged.size
        self._send(200)

    def lfs_verify(self, repo_id: str, oid: str, query) -> None:
        self._auth(required=True)
        expected = size(self._json_object().get("size"))
        path = self.server.hub.blob_path(oid)
        if not path.is_file() or path.stat().st_size != expected:
            raise HubError(404, "object not found or size mismatch")
        self._json({"success": True})
