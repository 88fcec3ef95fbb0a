"""Registry credentials: ``TINYREL_OCI_USERNAME``/``TINYREL_OCI_PASSWORD``, else the Docker config.

The Docker config is ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` — its inline
``auths`` and its credential helpers (``credHelpers``, ``credsStore``), read by oras' own loader.
A credential is only ever handed to the registry's authentication exchange: never printed, never
in a finding, never in a file tinyrel writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tinyrel.findings import TinyrelError

USERNAME_VARIABLE = "TINYREL_OCI_USERNAME"
PASSWORD_VARIABLE = "TINYREL_OCI_PASSWORD"
MAX_CONFIG_BYTES = 1024 * 1024


def docker_config_path() -> Path:
    """Where Docker (and oras, podman with ``--authfile`` unset) keep registry logins."""
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base).expanduser() / "config.json" if base else Path("~/.docker/config.json").expanduser()


def basic_credential(registry: str, auth_backend) -> str | None:
    """The base64 ``user:password`` for ``registry`` (``host[:port]``), or ``None`` (anonymous).

    ``auth_backend`` is the oras auth backend of the client: its loader resolves the Docker config's
    credential helpers exactly as oras and docker do.
    """
    import oras.auth.utils as auth_utils

    username, password = os.environ.get(USERNAME_VARIABLE), os.environ.get(PASSWORD_VARIABLE)
    if username or password:
        if not (username and password):
            raise TinyrelError("usage/oci-credentials", f"set both {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, or "
                               "neither (then the Docker config is used)", usage=True)  # fmt: skip
        return auth_utils.get_basic_auth(username, password)
    path = docker_config_path()
    if not path.is_file():
        return None
    config = _read_config(path)
    auth_backend._auth_config = {
        "auths": config.get("auths") if isinstance(config.get("auths"), dict) else {},
        "credsStore": config.get("credsStore") if isinstance(config.get("credsStore"), str) else None,
        "credHelpers": config.get("credHelpers") if isinstance(config.get("credHelpers"), dict) else {},
    }
    import logging

    import oras.utils

    oras_log = logging.getLogger("oras")  # a missing credential helper is "no credentials", not a stray line
    level = oras_log.level
    oras_log.setLevel(logging.CRITICAL)
    try:
        for name in oras.utils.iter_localhosts(registry):  # localhost and 127.0.0.1 name the same registry
            entry = auth_backend._auth_config["auths"].get(name)
            if isinstance(entry, dict) and not isinstance(entry.get("auth", ""), str):
                raise TinyrelError("oci/docker-config", f"{path}: the entry for {name} is malformed", path=str(path))
            try:
                found = auth_backend._load_auth(name)
            except (ValueError, KeyError, TypeError, OSError):  # a credential helper's answer that is not a credential
                raise TinyrelError("oci/docker-config", f"the Docker config's credential helper for {name} did not "
                                   "answer with a credential", path=str(path)) from None  # fmt: skip
            if found:
                return auth_backend._basic_auth
    finally:
        oras_log.setLevel(level)
    return None


def _read_config(path: Path) -> dict:
    from tinyrel.safe_io import read_small

    try:
        doc = json.loads(read_small(path, MAX_CONFIG_BYTES))
    except (OSError, UnicodeDecodeError, ValueError, TinyrelError) as exc:
        why = getattr(exc, "message", None) or type(exc).__name__
        raise TinyrelError("oci/docker-config", f"the Docker config cannot be read: {why}", path=str(path)) from None
    if not isinstance(doc, dict):
        raise TinyrelError("oci/docker-config", "the Docker config is not a JSON object", path=str(path))
    return doc
