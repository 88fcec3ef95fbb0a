"""OCI references: ``HOST[:PORT]/PATH`` (a repository) and ``oci://HOST[:PORT]/PATH(:TAG|@sha256:HEX)``.

A reference is outside input (a command line, a lock, a spec): it is checked against the grammar
of the OCI distribution specification (repository path components, tags, digests) before any URL is
built from it, so nothing a user typed can reach another path of the registry.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tinyrel.findings import TinyrelError

SCHEME = "oci://"
# The OCI distribution specification's grammar (spec.md, "Pulling manifests").
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
MAX_REFERENCE = 255 + 1 + 255  # host and path (the distribution spec caps a repository name at 255 characters)


@dataclass(frozen=True)
class OciRef:
    """A repository on a registry, optionally at a tag or a manifest digest."""

    registry: str  # host[:port]
    repository: str  # path
    tag: str | None = None
    digest: str | None = None

    @property
    def repo(self) -> str:
        """``HOST[:PORT]/PATH``: the repository, as ``--oci-repo`` names it."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str | None:
        """What the manifest endpoint is asked for: the digest if pinned, else the tag."""
        return self.digest or self.tag

    @property
    def uri(self) -> str:
        tail = f"@{self.digest}" if self.digest else f":{self.tag}" if self.tag else ""
        return f"{SCHEME}{self.repo}{tail}"

    def at(self, *, tag: str | None = None, digest: str | None = None) -> OciRef:
        return OciRef(self.registry, self.repository, tag, digest)

    @property
    def is_loopback(self) -> bool:
        """A registry on this machine: spoken to in plain HTTP (as docker and oras do for localhost)."""
        host = host_of(self.registry)
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def host_of(registry: str) -> str:
    """The host of ``host[:port]`` (an IPv6 literal keeps no brackets)."""
    if registry.startswith("["):
        return registry[1 : registry.index("]")]
    return registry.rsplit(":", 1)[0] if ":" in registry else registry


def _check_registry(registry: str, text: str) -> None:
    host, port = registry, None
    if registry.startswith("["):
        close = registry.find("]")
        host, rest = registry[1:close], registry[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            raise _bad(text)
        port = rest[1:] or None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(text) from None
    else:
        if ":" in registry:
            host, port = registry.rsplit(":", 1)
        if not _HOST_RE.match(host):
            raise _bad(text)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise _bad(text)


def _bad(text: str) -> TinyrelError:
    return TinyrelError("usage/oci-ref", f"{text[:300]!r} is not an OCI reference: expected HOST[:PORT]/PATH with "
                        "a lowercase path (oci://HOST[:PORT]/PATH:TAG or @sha256:DIGEST)", usage=True)  # fmt: skip


def parse_repo(text: str) -> OciRef:
    """``HOST[:PORT]/PATH`` (``--oci-repo``), with no tag or digest."""
    ref = parse(SCHEME + text if not text.startswith(SCHEME) else text, text)
    if ref.tag or ref.digest:
        raise TinyrelError("usage/oci-repo", f"--oci-repo names a repository (HOST[:PORT]/PATH), not {text!r}: the tag "
                           "is the release's version", usage=True)  # fmt: skip
    return ref


def parse(uri: str, shown: str | None = None) -> OciRef:
    """``oci://HOST[:PORT]/PATH[:TAG|@sha256:HEX]``; anything else is ``usage/oci-ref``."""
    text = shown if shown is not None else uri
    if not isinstance(uri, str) or not uri.startswith(SCHEME) or len(uri) > len(SCHEME) + MAX_REFERENCE + 130:
        raise _bad(str(text))
    rest = uri[len(SCHEME) :]
    digest = tag = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise TinyrelError("usage/oci-ref", f"{text[:300]!r}: a pinned reference needs @sha256: and 64 "
                               "lowercase hex digits", usage=True)  # fmt: skip
    registry, slash, path = rest.partition("/")
    if not slash:
        raise _bad(text)
    if ":" in path:
        path, tag = path.rsplit(":", 1)
        if not TAG_RE.match(tag):
            raise TinyrelError("usage/oci-ref", f"{text[:300]!r}: {tag[:140]!r} is not a valid OCI tag", usage=True)
    _check_registry(registry, text)
    if not PATH_RE.match(path) or len(path) > 255:
        raise _bad(text)
    return OciRef(registry, path, tag, digest)
