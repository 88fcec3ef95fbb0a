"""The bounded, streaming OCI client: oras' ``Registry``, extended where it would not be safe.

oras (the OCI Registry As Storage Python SDK) gives tinyrel the distribution API's flows (blob
existence, the upload session and its ``Location``, blob and manifest URLs) and its registry
authentication (Basic, and the Bearer token exchange with the Docker config's credentials).  Read
in its source (``oras/provider.py``), three things in it are not fit for gigabyte weights from an
untrusted registry, and are replaced here:

- ``put_upload`` reads the whole blob into memory (``data=fd.read()``): here the file streams from
  disk in 1 MiB reads, with its declared ``Content-Length``, its progress counted, Ctrl-C honoured;
- ``download_blob`` writes whatever arrives, 8 KiB at a time, unchecked: here each blob streams
  into its file, hashed as it arrives, and stops at the first byte beyond its descriptor's size;
  a short or different body is an error and the file is removed;
- ``do_request`` has no timeout, reads every body whole, and retries any failure five times with
  sleeps of up to 83 s (re-sending a half-read body): here every request has a connect and a read
  timeout (``TINYREL_OCI_TIMEOUT`` seconds of silence, default 60), a body not streamed on purpose
  is capped (manifests: 4 MiB, as registries cap them), failures are one-line errors with stable
  codes, and a request is repeated only once, to answer an authentication challenge.

Every response is outside input: digests are recomputed from the bytes, never taken from headers.
The bounded session, the file body and the pipelined hash live in ``tinyrel.oci.transport``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import oras.provider
import oras.utils
import requests

from tinyrel.findings import Interrupted, TinyrelError
from tinyrel.oci.reference import OciRef
from tinyrel.oci.transport import (
    CHUNK,
    INDEX_TYPE,
    MANIFEST_TYPE,
    BoundedSession,
    FileBody,
    PipelinedSha256,
    short_reason,
    timeout_seconds,
)

__all__ = ["INDEX_TYPE", "MANIFEST_TYPE", "Fetched", "OciClient", "anonymously_readable"]

@dataclass(frozen=True)
class Fetched:
    """A manifest (or index) as the registry served it, with the digest of exactly these bytes."""

    body: bytes
    digest: str
    media_type: str | None


class OciClient(oras.provider.Registry):
    """One repository on one registry, as oras speaks to it, bounded (see the module docstring)."""

    def __init__(self, ref: OciRef, *, plain_http: bool = False, anonymous: bool = False) -> None:
        from tinyrel.oci.credentials import basic_credential

        self.ref = ref
        self.plain_http = plain_http or ref.is_loopback
        super().__init__(hostname=ref.registry, insecure=self.plain_http, auth_backend="token")
        self.cancelled = threading.Event()
        self.session = BoundedSession(timeout_seconds(), self.cancelled)
        self.auth.session = self.session
        self.repository = self.get_container(ref.repo)
        self._basic = None if anonymous else basic_credential(ref.registry, self.auth)
        if self._basic:
            self.auth._basic_auth = self._basic  # what oras' token exchange sends to the realm
        self._authorization: dict[str, str] = {}

    def url(self, path: str) -> str:
        return f"{self.prefix}://{self.ref.registry}/v2/{self.ref.repository}/{path}"

    # -- oras' request path, bounded ----------------------------------------------------------
    def do_request(self, url, method="GET", data=None, headers=None, json=None, stream=False):  # type: ignore[override]
        """One request, its authentication header attached; a 401 is answered once (Basic, or
        oras' Bearer token exchange), then the request is sent again (a file body rewound)."""
        sent = {**(headers or {}), **self._authorization}
        response = self.session.request(method, url, data=data, json=json, headers=sent, stream=stream,
                                        verify=self._tls_verify)  # fmt: skip
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        response.close()
        if not self._authenticate(challenge):
            return response
        if hasattr(data, "seek"):
            data.seek(0)
        sent = {**(headers or {}), **self._authorization}
        return self.session.request(method, url, data=data, json=json, headers=sent, stream=stream,
                                    verify=self._tls_verify)  # fmt: skip

    def _authenticate(self, challenge: str) -> bool:
        import oras.auth.utils as auth_utils

        scheme = challenge.split(" ", 1)[0].strip().lower()
        if scheme == "basic":
            if not self._basic or self._authorization.get("Authorization", "").startswith("Basic "):
                return False  # no credentials, or these were refused
            self._authorization = {"Authorization": f"Basic {self._basic}"}
            return True
        if scheme != "bearer":
            return False
        header = auth_utils.parse_auth_header(challenge)
        if not header.realm or not header.realm.startswith(("https://", "http://" if self.plain_http else "https://")):
            raise TinyrelError("oci/untrusted-response", f"{self.ref.registry} named a token service that is not "
                               "https; refusing to send credentials to it")  # fmt: skip
        try:
            token = self.auth.request_token(header) if self._basic else self.auth.request_anonymous_token(header)
        except ValueError:  # the token service's body is not JSON
            token = None
        if not token or not isinstance(token, str):
            return False
        self._authorization = {"Authorization": f"Bearer {token}"}
        return True

    # -- checks -----------------------------------------------------------------------------
    def check(self, response: requests.Response, what: str, ok: tuple[int, ...] = (200, 201, 202)) -> None:
        """A status outside ``ok`` as a one-line error naming the registry's own error code."""
        if response.status_code in ok:
            return
        status = response.status_code
        detail = _registry_error(response)
        where = self.ref.repo
        if status == 401:
            given = "the credentials were refused" if self._basic else "it needs credentials (set "
            if not self._basic:
                given += "TINYREL_OCI_USERNAME and TINYREL_OCI_PASSWORD, or log in with docker/oras)"
            raise TinyrelError("oci/auth", f"{where}: {what}: {given}")
        if status == 403:
            raise TinyrelError("oci/denied", f"{where}: {what}: access denied{detail}")
        if status == 404:
            raise TinyrelError("oci/not-found", f"{where}: {what}: not found{detail}")
        code = "oci/server-error" if status >= 500 else "oci/registry-error"
        raise TinyrelError(code, f"{where}: {what}: HTTP {status}{detail}")

    # -- blobs --------------------------------------------------------------------------------
    def has_blob(self, digest: str, size: int) -> bool:
        """HEAD first: does the repository hold this blob (of this size)?"""
        response = self.do_request(self.url(f"blobs/{digest}"), "HEAD")
        if response.status_code == 404:
            return False
        self.check(response, f"HEAD blob {digest[:19]}")
        length = response.headers.get("Content-Length")
        return length is None or length == str(size)

    def push_file(self, path: Path, digest: str, size: int, advance: Callable[[int], None]) -> bool:
        """Send a blob unless the registry has it (oras' ``upload_blob``: HEAD, then an upload
        session); ``True`` if it was sent."""
        layer = {"digest": digest, "size": size, "mediaType": "application/octet-stream"}
        if self.has_blob(digest, size):
            return False
        self.check(self._upload(path, layer, advance), f"upload of blob {digest[:19]}")
        return True

    def push_bytes(self, data: bytes, scratch: Path) -> tuple[str, int]:
        """A small generated blob (config, signature): written to ``scratch``, then pushed like a file."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = scratch / digest.replace(":", "-")
        path.write_bytes(data)
        self.push_file(path, digest, len(data), lambda _n: None)
        return digest, len(data)

    def put_upload(self, blob, container, layer):  # type: ignore[override]
        """oras' monolithic upload, streaming (oras' own ``upload_blob`` calls it)."""
        return self._upload(Path(blob), layer, lambda _n: None)

    def _upload(self, blob: Path, layer: dict, advance: Callable[[int], None]) -> requests.Response:
        """POST an upload session, then PUT the file's bytes to its ``Location`` with ``?digest=``."""
        container = self.repository
        start = self.do_request(self.url("blobs/uploads/"), "POST", headers={"Content-Length": "0"})
        self.check(start, f"upload session for blob {layer['digest'][:19]}")
        session_url = self._get_location(start, container)
        if not session_url or not session_url.startswith(f"{self.prefix}://{self.ref.registry}/"):
            raise TinyrelError("oci/untrusted-response", f"{self.ref.repo}: the upload session's Location is not on "
                               "this registry")  # fmt: skip
        target = oras.utils.append_url_params(session_url, {"digest": layer["digest"]})
        headers = {"Content-Length": str(layer["size"]), "Content-Type": "application/octet-stream"}
        with open(blob, "rb") as handle:
            body = FileBody(handle, layer["size"], advance, self.cancelled)
            return self.do_request(target, "PUT", data=body, headers=headers)

    def fetch_blob(self, digest: str, size: int, dest: Path, advance: Callable[[int], None]) -> None:
        """Stream one blob into ``dest`` (a new file), hashed as it arrives, never more than
        ``size`` bytes; a short, long or different body removes the file and is an error."""
        response = self.do_request(self.url(f"blobs/{digest}"), "GET", stream=True)
        hasher = None
        try:
            self.check(response, f"blob {digest[:19]}", ok=(200,))
            hasher, got = PipelinedSha256(), 0
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as out:
                try:
                    for piece in response.iter_content(CHUNK):
                        if self.cancelled.is_set():
                            raise Interrupted("interrupted")
                        got += len(piece)
                        if got > size:
                            raise TinyrelError("oci/size-mismatch", f"blob {digest[:19]} is larger than the "
                                               f"{size:,} bytes its descriptor declares")  # fmt: skip
                        hasher.update(piece)
                        out.write(piece)
                        advance(len(piece))
                except requests.RequestException as exc:
                    raise TinyrelError("oci/unreachable", f"{self.ref.repo}: blob {digest[:19]} broke off "
                                       f"({short_reason(exc)})") from None  # fmt: skip
            digest_found = "sha256:" + hasher.hexdigest()
            if got != size:
                raise TinyrelError("oci/size-mismatch", f"blob {digest[:19]}: {got:,} bytes arrived, its "
                                   f"descriptor declares {size:,}")  # fmt: skip
            if digest_found != digest:
                raise TinyrelError("oci/digest-mismatch", f"blob {digest[:19]}: the bytes that arrived do not "
                                   "have the digest the manifest names (a corrupted or substituted blob)")  # fmt: skip
        except BaseException:
            Path(dest).unlink(missing_ok=True)
            raise
        finally:
            response.close()
            if hasher is not None:
                hasher.close()

    def fetch_small_blob(self, digest: str, size: int, cap: int) -> bytes:
        """A small blob (config, signature bundle) into memory, capped before it is asked for."""
        if size > cap:
            raise TinyrelError("oci/untrusted-response", f"blob {digest[:19]} declares {size:,} bytes; at most "
                               f"{cap:,} are expected here")  # fmt: skip
        response = self.do_request(self.url(f"blobs/{digest}"), "GET")
        self.check(response, f"blob {digest[:19]}", ok=(200,))
        body = response.content
        if len(body) != size or "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise TinyrelError("oci/digest-mismatch", f"blob {digest[:19]}: the bytes that arrived are not the ones "
                               "its descriptor names")  # fmt: skip
        return body

    # -- manifests ----------------------------------------------------------------------------
    def fetch_manifest(self, reference: str, accept: tuple[str, ...] = (MANIFEST_TYPE,)) -> Fetched | None:
        """The manifest at a tag or digest (``None`` if there is none), its digest computed here."""
        response = self.do_request(self.url(f"manifests/{reference}"), "GET", headers={"Accept": ", ".join(accept)})
        if response.status_code == 404:
            return None
        self.check(response, f"manifest {reference[:19]}", ok=(200,))
        body = response.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise TinyrelError("oci/digest-mismatch", f"{self.ref.repo}: the registry served other bytes for "
                               f"manifest {reference[:19]}")  # fmt: skip
        return Fetched(body, digest, response.headers.get("Content-Type"))

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> requests.Response:
        """PUT exactly these bytes (their digest is what the subject and the tag name)."""
        response = self.do_request(self.url(f"manifests/{reference}"), "PUT", data=body,
                                   headers={"Content-Type": media_type})  # fmt: skip
        self.check(response, f"manifest {reference[:19]}", ok=(200, 201))
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            raise TinyrelError("oci/digest-mismatch", f"{self.ref.repo}: the registry stored manifest {digest[:19]} "
                               f"as {echoed[:19]}")  # fmt: skip
        return response

    def interrupt(self) -> None:
        """Ctrl-C: every transfer of this client stops at its next 1 MiB piece."""
        self.cancelled.set()


def anonymously_readable(ref: OciRef, plain_http: bool = False) -> bool:
    """Does the registry serve this manifest to a client without credentials?"""
    try:
        return OciClient(ref, plain_http=plain_http, anonymous=True).fetch_manifest(ref.reference or "") is not None
    except TinyrelError as exc:
        if exc.code in ("oci/auth", "oci/denied"):
            return False
        raise


def _registry_error(response: requests.Response) -> str:
    """The registry's own error code and message (``{"errors": [...]}``), on one short line."""
    import json

    try:
        if getattr(response, "_content_consumed", False):
            body = response.content or b"{}"
        else:  # a streamed response (a blob): read no more than an error body
            body = response.raw.read(64 * 1024, decode_content=True) or b"{}"
        errors = json.loads(body).get("errors")
    except Exception:  # noqa: BLE001 - an unreadable error body adds no detail
        return ""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    code, message = str(errors[0].get("code", ""))[:40], " ".join(str(errors[0].get("message", "")).split())[:160]
    return f" ({code}: {message})" if code or message else ""
