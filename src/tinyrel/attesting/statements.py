"""in-toto Statement v1 through the reference library (``in_toto_attestation``): subjects, resource
descriptors, predicates checked against the predicate's own protobuf schema, and the exact bytes
a signer signs.

A predicate is built as plain JSON (lowerCamelCase, as the specs write it) and parsed into the
in-toto project's protobuf message for its type (provenance v1, test-result v0.1, VSA v1) before it
goes into a statement: a misspelt field or a wrong type fails here, at build time, instead of
shipping in a signed statement.  Extension fields (the specs allow URI-named ones) are kept.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import Any

from tinyrel.attesting.kinds import MAX_STATEMENT_BYTES, PREDICATE_TYPES
from tinyrel.findings import TinyrelError


def descriptor(name: str | None = None, *, uri: str | None = None, digest: Mapping[str, str] | None = None,
               annotations: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """An in-toto ResourceDescriptor as JSON: only the fields given."""
    found = {"name": name, "uri": uri, "digest": dict(digest) if digest else None,
             "annotations": dict(annotations) if annotations else None}  # fmt: skip
    return {key: value for key, value in found.items() if value is not None}


def sha256(digest: str) -> dict[str, str]:
    return {"sha256": digest}


def now() -> str:
    """An RFC 3339 timestamp (UTC, seconds), as the specs' Timestamp fields take it."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _predicate_message(kind: str):
    """The in-toto project's protobuf message for a predicate kind (``None``: no schema in the library)."""
    if kind == "provenance":
        from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

        return provenance_pb2.Provenance()  # type: ignore[attr-defined]
    if kind == "evals":
        from in_toto_attestation.predicates.test_result.v0 import test_result_pb2

        return test_result_pb2.TestResult()  # type: ignore[attr-defined]
    if kind == "gate":
        from in_toto_attestation.predicates.vsa.v1 import vsa_pb2

        return vsa_pb2.VerificationSummary()  # type: ignore[attr-defined]
    return None


# Where the library's protobuf disagrees with the spec it implements, the spec wins: SLSA's VSA v1
# has ``verifiedLevels`` as an array of strings, the in-toto proto a single string
# (in-toto/attestation#425, fixed by the open #429).  Such fields are checked here, by the spec.
_SPEC_OVER_PROTO = {"gate": ("verifiedLevels",)}


def check_predicate(kind: str, predicate: Mapping[str, Any]) -> None:
    """Parse ``predicate`` into its protobuf schema (``ValueError`` if it does not fit).  Fields the
    schema does not know — the specs' URI-named extensions, VSA's ``verifier.version`` — are allowed."""
    from google.protobuf import json_format

    message = _predicate_message(kind)
    if message is None:
        return
    checked = dict(predicate)
    for name in _SPEC_OVER_PROTO.get(kind, ()):
        value = checked.pop(name, None)
        if not (isinstance(value, list) and value and all(isinstance(item, str) for item in value)):
            raise ValueError(f"the {kind} predicate's {name} must be a non-empty array of strings")
    try:
        json_format.ParseDict(checked, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(f"the {kind} predicate does not fit its schema: {exc}") from None


def make_statement(kind: str, subjects: list[dict[str, Any]], predicate: dict[str, Any]):
    """An ``in_toto_attestation`` Statement of ``kind`` about ``subjects`` (name + digest each),
    validated by the library."""
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    try:
        check_predicate(kind, predicate)
        statement = Statement([ResourceDescriptor(name=s["name"], digest=s["digest"]).pb for s in subjects],
                              PREDICATE_TYPES[kind], predicate)  # fmt: skip
        statement.validate()
    except ValueError as exc:  # a bug in the builder, not the user's input: say which statement
        raise TinyrelError("attest/invalid", f"the {kind} statement is not valid in-toto: {exc}") from None
    return statement


def payload(statement) -> bytes:
    """The statement's JSON exactly as model_signing's signers serialise it into the envelope."""
    from google.protobuf import json_format

    data = json_format.MessageToJson(statement.pb).encode("utf-8")
    if len(data) > MAX_STATEMENT_BYTES:
        raise TinyrelError("attest/too-large", f"a {statement.pb.predicate_type} statement would be {len(data):,} "
                           f"bytes, over the {MAX_STATEMENT_BYTES:,} a bundle may carry")  # fmt: skip
    return data


def builder_identity() -> dict[str, Any]:
    """Who built the statements: the GitHub Actions workflow (``GITHUB_WORKFLOW_REF``) when run
    there, as GitHub's own artifact attestations name it, else tinyrel itself at its version."""
    from tinyrel import __version__
    from tinyrel.attesting.kinds import TINYREL_URI

    version = {"tinyrel": __version__}
    env = {key: os.environ.get(key, "") for key in ("GITHUB_ACTIONS", "GITHUB_SERVER_URL", "GITHUB_WORKFLOW_REF",
                                                    "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT")}
    if env["GITHUB_ACTIONS"] == "true" and all(_plain(env[k]) for k in ("GITHUB_SERVER_URL", "GITHUB_WORKFLOW_REF")):
        server = env["GITHUB_SERVER_URL"].rstrip("/")
        builder: dict[str, Any] = {"builder": {"id": f"{server}/{env['GITHUB_WORKFLOW_REF']}", "version": version}}
        if _plain(env["GITHUB_REPOSITORY"]) and env["GITHUB_RUN_ID"].isdigit():
            attempt = env["GITHUB_RUN_ATTEMPT"] if env["GITHUB_RUN_ATTEMPT"].isdigit() else "1"
            run = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}/attempts/{attempt}"
            builder["metadata"] = {"invocationId": run}
        return builder
    return {"builder": {"id": f"{TINYREL_URI}@{__version__}", "version": version}}  # fmt: skip


def _plain(value: str) -> bool:
    """An environment value fit for a URI: short, printable, no spaces."""
    return 0 < len(value) <= 512 and value.isprintable() and " " not in value
