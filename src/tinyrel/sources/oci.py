"""Lock an OCI artifact: ``oci://HOST[:PORT]/PATH:TAG`` resolved to ``oci://HOST[:PORT]/PATH@sha256:…``.

A manifest digest names its content exactly (every layer by digest), so a digest pin is durable,
like a commit id on the Hub.  The lock entry lists the artifact's weight and weight-config layers —
the files the weights directory holds — by path, size and SHA-256 (a raw layer's digest is its
file's SHA-256), read from the manifest without fetching a blob.  ``public`` says whether the
registry serves the manifest to an anonymous client.
"""

from __future__ import annotations

from tinyrel.findings import Report, TinyrelError
from tinyrel.oci.reference import OciRef
from tinyrel.sources.resolve import LockedSource

OCI = "oci"


def resolve_oci(ref: OciRef, name: str, report: Report, *, plain_http: bool = False) -> LockedSource:
    """Pin ``ref`` (a tag or a digest) to its manifest digest, listing its weight files."""
    from tinyrel.oci.client import OciClient
    from tinyrel.oci.modelpack import WEIGHT, WEIGHT_CONFIG, read_model_manifest

    if ref.reference is None:
        raise TinyrelError("usage/oci-ref", f"{ref.uri}: name a tag (:TAG) or a manifest digest (@sha256:…)",
                           usage=True)  # fmt: skip
    client = OciClient(ref, plain_http=plain_http)
    fetched = client.fetch_manifest(ref.reference)
    if fetched is None:
        raise TinyrelError("source/not-found", f"{ref.uri}: no such manifest in the registry")
    manifest = read_model_manifest(fetched.body, fetched.digest, ref.uri)
    files = [{"path": layer.path, "size": layer.size, "sha256": layer.sha256}
             for layer in manifest.layers if layer.media_type in (WEIGHT, WEIGHT_CONFIG)]  # fmt: skip
    if not files:
        report.warning("lock/no-weights", f"{ref.uri} holds no weight layers (a metadata-only release?)")
    public = anonymously_readable(ref.at(digest=fetched.digest), plain_http)
    return LockedSource(name, ref.at(digest=fetched.digest).uri, OCI, files, fetched.digest, durable=True,
                        public=public)  # fmt: skip


def anonymously_readable(ref: OciRef, plain_http: bool) -> bool:
    """Does the registry serve this manifest to a client without credentials?"""
    from tinyrel.oci.client import OciClient

    client = OciClient(ref, plain_http=plain_http, anonymous=True)
    try:
        return client.fetch_manifest(ref.reference or "") is not None
    except TinyrelError as exc:
        if exc.code in ("oci/auth", "oci/denied"):
            return False
        raise
