"""``verify --require provenance,evals,gate,sbom``: a release's signed statements, checked.

After the release itself verified against ``model.sig`` (``verifying.local`` / ``verifying.hub``),
each statement under ``attestations/`` is checked on its own, with the same trust options:

1. its Sigstore bundle's signature — by model_signing's verifier for the method (key, certificate
   chain, Sigstore identity), the same that checks ``model.sig`` — so a statement re-signed by
   another key, or edited after signing, fails here, named;
2. its DSSE payload type and its in-toto Statement v1 (parsed and validated by the in-toto library);
3. its predicate type (the kind's, from its file name) and its predicate against the kind's schema;
4. every subject's SHA-256 against the verified release: the files ``model.sig`` signs, or — for
   weights a metadata-only release does not carry — the signed ``manifest.json``'s entries.

Each required kind must be there and pass: ``evals`` means one statement for every eval the signed
``release.toml`` gives records.  Every statement found is listed in ``report.data["attestations"]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyrel.attesting.kinds import (
    BOM_FILE,
    KINDS,
    PAYLOAD_TYPE,
    PREDICATE_TYPES,
    RESULTS,
    bundle_path,
    kind_of,
)
from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.release_files import ATTESTATIONS_DIR, MANIFEST, SPEC_SNAPSHOT
from tinyrel.signing import _oms
from tinyrel.verifying.bundle import MAX_BUNDLE_BYTES, SignedManifest, VerifierConfig, check_signature


class _Failed(Exception):
    """One statement failed a check: ``code`` and ``message`` become its finding."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check_attestations(root: Path, signature: Path, trust: VerifierConfig, require: Sequence[str],
                       report: Report) -> None:  # fmt: skip
    """Check every statement of the release at ``root`` and that each ``require``d kind is there."""
    report.data["attestations"] = []
    signed = check_signature(signature, trust, Report())
    if signed is None:
        report.error("attest/not-checked", "the release's model.sig does not verify, so no statement was checked")
        return
    verified = _verified_digests(root, signed)
    listed = _manifest_digests(root, verified)
    on_disk = {f"{ATTESTATIONS_DIR}/{p.name}" for p in (root / ATTESTATIONS_DIR).glob("*")} if (
        root / ATTESTATIONS_DIR).is_dir() else set()  # fmt: skip
    paths = sorted(p for p in set(signed.resources) | on_disk if kind_of(p) is not None)
    verifier = trust.verifier()
    rows = []
    for path in paths:
        kind, eval_id = kind_of(path)  # type: ignore[misc]
        row: dict[str, Any] = {"path": path, "kind": kind, "verified": False}
        if eval_id is not None:
            row["eval"] = eval_id
        try:
            statement = _verified_statement(root / path, trust, verifier)
            row |= _check_statement(path, kind, statement, verified, listed, root)
            row["verified"] = True
        except _Failed as failed:
            report.error(failed.code, f"{_label(kind, eval_id)} ({path}): {failed.message}", path)
        rows.append(row)
    report.data["attestations"] = rows
    _require(require, rows, root, verified, report)
    good = [r for r in rows if r["verified"]]
    if good:
        report.info("attest/verified", f"{len(good)} signed statement(s) verified: " +
                    ", ".join(_label(r["kind"], r.get("eval")) for r in good))  # fmt: skip


def _label(kind: str, eval_id: str | None) -> str:
    return f"the eval statement for {eval_id!r}" if kind == "evals" else f"the {kind} statement"


def _sha256_file(path: Path, cap: int) -> str | None:
    from tinyrel.safe_io import read_bytes_capped

    try:
        return hashlib.sha256(read_bytes_capped(path, cap)).hexdigest()
    except (OSError, TinyrelError):
        return None


def _verified_digests(root: Path, signed: SignedManifest) -> dict[str, str]:
    """SHA-256 per file as the verified bundle signs it (the release verification compared each with
    the bytes); for another serialization, of the files themselves, which that comparison checked."""
    if signed.plain_sha256_files:
        return signed.digests
    from tinyrel.signing.files import sha256_digests

    names = {name.rsplit(":", 2)[0] if signed.serialization.get("method") == "shards" else name
             for name in signed.resources}  # fmt: skip
    present = sorted(name for name in names if (root / name).is_file() and not (root / name).is_symlink())
    return sha256_digests(root, present, progress=False)


def _verified_file(root: Path, name: str, verified: dict[str, str], cap: int) -> Path | None:
    """``root/name`` if it holds the bytes the release signs for ``name``."""
    path = root / name
    if name in verified and path.is_file() and _sha256_file(path, cap) == verified[name]:
        return path
    return None


def _manifest_digests(root: Path, verified: dict[str, str]) -> dict[str, str]:
    """The files the signed ``manifest.json`` lists (a metadata-only release's weights), by SHA-256."""
    from tinyrel.weights import manifest as mf

    path = _verified_file(root, MANIFEST, verified, mf.MAX_MANIFEST_BYTES)
    if path is None:
        return {}
    try:
        files = mf.load(path)["files"]
    except TinyrelError:
        return {}
    return {f["path"]: f["sha256"] for f in files if f.get("sha256")}


def _verified_statement(path: Path, trust: VerifierConfig, verifier) -> dict[str, Any]:
    """The statement a bundle carries, once its signature verifies with ``trust`` (as a JSON object)."""
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    from tinyrel.safe_io import read_bytes_capped

    if not path.is_file():
        raise _Failed("attest/missing", "model.sig signs it, but it was not there to check")
    reader = _oms.sigstore.Signature if trust.method == "sigstore" else _oms.sigstore_pb.Signature
    try:
        read_bytes_capped(path, MAX_BUNDLE_BYTES)  # a regular file of a bundle's size, before the reader
        signature = reader.read(path)
    except (TinyrelError, OSError, *_oms.verification_errors()) as exc:
        why = getattr(exc, "message", None) or first_line(exc)
        raise _Failed("attest/bundle", f"not a readable Sigstore bundle: {why}") from None
    if trust.method == "key":  # model_signing prints (on stdout) about a bundle naming no key: refuse it first
        key = signature.bundle.verification_material.public_key
        if key is None or not key.hint:
            raise _Failed("attest/signature", "the bundle names no public key; tinyrel signs with a key hint")
    try:
        payload_type, payload = _oms.verified_payload(verifier, signature)
    except _oms.verification_errors() as exc:
        why = first_line(exc)
        raise _Failed("attest/signature", f"the signature does not verify ({trust.method}): {why}") from None
    if payload_type != PAYLOAD_TYPE:
        raise _Failed("attest/invalid", f"the envelope carries {payload_type!r}, not an in-toto statement")
    try:
        message = json_format.Parse(payload, statement_pb2.Statement(), ignore_unknown_fields=True)  # type: ignore[attr-defined]
        Statement.copy_from_pb(message).validate()
    except (json_format.ParseError, ValueError, RecursionError) as exc:
        raise _Failed("attest/invalid", f"not a valid in-toto Statement v1: {first_line(exc)}") from None
    return json_format.MessageToDict(message)


def _check_statement(path: str, kind: str, statement: dict[str, Any], verified: dict[str, str],
                     listed: dict[str, str], root: Path) -> dict[str, Any]:  # fmt: skip
    """Predicate type, predicate and subjects of a statement whose signature verified."""
    from tinyrel.attesting.statements import check_predicate

    found = statement.get("predicateType")
    if found != PREDICATE_TYPES[kind]:
        raise _Failed("attest/predicate-type", f"predicate type {found!r}, not {PREDICATE_TYPES[kind]!r}")
    predicate = statement.get("predicate") or {}
    try:
        check_predicate(kind, predicate)
    except ValueError as exc:
        raise _Failed("attest/invalid", str(exc)) from None
    row: dict[str, Any] = {"predicate_type": found, "subjects": len(statement.get("subject", []))}
    if kind == "evals":
        if predicate.get("result") not in RESULTS:
            raise _Failed("attest/invalid", f"result {predicate.get('result')!r} is not one of {', '.join(RESULTS)}")
        row["result"] = predicate["result"]
    elif kind == "gate":
        row["result"] = predicate.get("verificationResult")
    elif kind == "sbom":
        _check_bom(predicate, root, verified)
    for subject in statement.get("subject", []):
        name, digest = subject.get("name", ""), (subject.get("digest") or {}).get("sha256")
        expected = verified.get(name, listed.get(name))
        if expected is None:
            raise _Failed("attest/subject", f"its subject {name!r} is neither a signed file of the release nor listed "
                          "in its signed manifest.json")  # fmt: skip
        if digest != expected:
            raise _Failed("attest/subject", f"its subject {name!r} has SHA-256 {str(digest)[:12]}…, the verified file "
                          f"{expected[:12]}…")  # fmt: skip
    return row


def _check_bom(predicate: dict[str, Any], root: Path, verified: dict[str, str]) -> None:
    """The attested BOM is CycloneDX 1.6, and the same document as the release's ``sbom.cdx.json``."""
    if predicate.get("bomFormat") != "CycloneDX" or predicate.get("specVersion") != "1.6":
        raise _Failed("attest/invalid", "the predicate is not a CycloneDX 1.6 BOM")
    path = _verified_file(root, BOM_FILE, verified, MAX_BUNDLE_BYTES)
    if path is None:
        return
    try:
        shipped = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        shipped = None
    if shipped != predicate:  # numbers compare by value: the statement's JSON writes 50 as 50.0
        raise _Failed("attest/sbom-differs", f"the attested BOM is not the release's {BOM_FILE}")


def _expected_evals(root: Path, verified: dict[str, str]) -> list[str] | None:
    """The evals the signed ``release.toml`` gives records (each must have a statement), or ``None``."""
    import tomllib

    from tinyrel.safe_io import read_small

    path = _verified_file(root, SPEC_SNAPSHOT, verified, 16 * 1024 * 1024)
    if path is None:
        return None
    try:
        evals = tomllib.loads(read_small(path, 16 * 1024 * 1024)).get("evals", [])
    except (OSError, UnicodeDecodeError, TinyrelError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(evals, list):
        return None
    return [e["id"] for e in evals if isinstance(e, dict) and isinstance(e.get("id"), str) and e.get("records")]


def _require(require: Sequence[str], rows: list[dict[str, Any]], root: Path, verified: dict[str, str],
             report: Report) -> None:  # fmt: skip
    """Each required kind is there and verified; a statement that failed has its own finding already."""
    present = {r["path"] for r in rows}
    for kind in require:
        if kind not in KINDS:
            raise TinyrelError("usage/require", f"unknown statement kind {kind!r}", usage=True)
        if kind == "evals":
            expected = _expected_evals(root, verified)
            if expected is None or not expected:
                if not any(r["kind"] == "evals" for r in rows):
                    report.error("attest/missing", "--require evals: the release has no eval statement "
                                 f"({bundle_path('evals', 'ID')})")  # fmt: skip
                continue
            paths = [(bundle_path("evals", eid), eid) for eid in expected]
        else:
            paths = [(bundle_path(kind), None)]
        for path, eval_id in paths:
            if path not in present:
                report.error("attest/missing", f"--require {kind}: {_label(kind, eval_id)} ({path}) is not in the "
                             "release", path)  # fmt: skip
