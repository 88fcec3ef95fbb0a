"""The signature as an OCI referrer: attached to, and found for, a model manifest.

A registry that implements the Referrers API (OCI distribution 1.1) indexes a manifest by its
``subject`` and says so with an ``OCI-Subject`` response header; one that does not (CNCF
Distribution 2.x, many mirrors) answers ``404`` on ``/referrers/<digest>``, and the client keeps the
index itself under the referrers tag schema: an image index tagged ``sha256-<hex>``.  Both are
written and read here, as the distribution specification prescribes.  What a referrer *says* is
checked by its reader: a referrer whose ``subject`` is another manifest is never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinyrel.findings import TinyrelError
from tinyrel.oci.client import INDEX_TYPE, MANIFEST_TYPE, OciClient
from tinyrel.oci.modelpack import SIGNATURE_TYPE, descriptor, dumps, parse_json, referrer_descriptors

MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # a bundle is kilobytes
MAX_PAGES = 20
MAX_SIGNATURES = 16


def tag_schema_tag(digest: str) -> str:
    """``sha256:<hex>`` → ``sha256-<hex>``: the referrers tag of a subject."""
    algorithm, _, hex_digest = digest.partition(":")
    return f"{algorithm}-{hex_digest}"


@dataclass(frozen=True)
class SignatureReferrer:
    """One signature referrer of a manifest: its own digest and the bundle it carries."""

    digest: str
    bundle: bytes


def list_referrers(client: OciClient, subject: str) -> tuple[list[dict[str, Any]], str]:
    """The descriptors of ``subject``'s referrers, and how they were found (``referrers-api`` or
    ``tag-schema``)."""
    url = client.url(f"referrers/{subject}?artifactType={SIGNATURE_TYPE}")
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        response = client.do_request(url, "GET", headers={"Accept": INDEX_TYPE})
        if response.status_code == 404 and not found:
            return _from_tag(client, subject), "tag-schema"
        client.check(response, f"referrers of {subject[:19]}", ok=(200,))
        found += referrer_descriptors(response.content, client.ref.repo)
        following = response.links.get("next", {}).get("url")
        if not following:
            return found, "referrers-api"
        from urllib.parse import urljoin

        url = urljoin(url, following)
        if not url.startswith(f"{client.prefix}://{client.ref.registry}/"):
            raise TinyrelError("oci/untrusted-response", f"{client.ref.repo}: the referrers list links off the "
                               "registry")  # fmt: skip
    raise TinyrelError("oci/untrusted-response", f"{client.ref.repo}: the referrers list has more than {MAX_PAGES} "
                       "pages")  # fmt: skip


def _from_tag(client: OciClient, subject: str) -> list[dict[str, Any]]:
    fetched = client.fetch_manifest(tag_schema_tag(subject), accept=(INDEX_TYPE,))
    return [] if fetched is None else referrer_descriptors(fetched.body, client.ref.repo)


def signatures(client: OciClient, subject: str) -> tuple[list[SignatureReferrer], str]:
    """Every signature referrer of ``subject`` whose manifest names ``subject`` and carries one
    Sigstore bundle, bundles fetched (bounded, digest-checked); and how they were found."""
    listed, how = list_referrers(client, subject)
    candidates = [d for d in listed if d.get("artifactType") in (SIGNATURE_TYPE, None)][:MAX_SIGNATURES]
    found = []
    for entry in candidates:
        fetched = client.fetch_manifest(entry["digest"], accept=(MANIFEST_TYPE,))
        if fetched is None:
            continue
        doc = parse_json(fetched.body, f"{client.ref.repo}: referrer {entry['digest'][:19]}")
        subject_of = doc.get("subject")
        if doc.get("artifactType") != SIGNATURE_TYPE or not isinstance(subject_of, dict):
            continue
        if descriptor(subject_of, client.ref.repo)["digest"] != subject:
            continue  # a referrer of another manifest, listed here: never this release's signature
        layers = [descriptor(d, client.ref.repo) for d in doc.get("layers") or []]
        bundles = [d for d in layers if d["mediaType"] == SIGNATURE_TYPE]
        if len(bundles) != 1:
            continue
        body = client.fetch_small_blob(bundles[0]["digest"], bundles[0]["size"], MAX_BUNDLE_BYTES)
        found.append(SignatureReferrer(fetched.digest, body))
    return found, how


def attach(client: OciClient, manifest: bytes, digest: str, subject: str) -> str:
    """Push the referrer ``manifest`` (its blobs already pushed) and make it findable: the registry
    indexes it (``OCI-Subject``), or the referrers tag's index gains it.  Returns which."""
    response = client.put_manifest(digest, manifest, MANIFEST_TYPE)
    if response.headers.get("OCI-Subject") == subject:
        return "referrers-api"
    tag = tag_schema_tag(subject)
    existing = client.fetch_manifest(tag, accept=(INDEX_TYPE,))
    listed = [] if existing is None else referrer_descriptors(existing.body, client.ref.repo)
    if any(d["digest"] == digest for d in listed):
        return "tag-schema"
    entry = {"mediaType": MANIFEST_TYPE, "digest": digest, "size": len(manifest), "artifactType": SIGNATURE_TYPE}
    index = dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [*listed, entry]})
    client.put_manifest(tag, index, INDEX_TYPE)
    return "tag-schema"
