"""Assemble a release's attestations from its gate result, and sign them with its signer.

Building and signing are two steps: the statements are built (and checked) where the release's
other files are, before anything is uploaded or a dry run reports its plan; they are signed with
``model.sig``, at publish time, by the same signer — each in its own DSSE envelope inside a
Sigstore bundle, through model_signing's signers (``tinyrel.signing._oms.StatementPayload``), so a
key, a certificate or Sigstore keyless signs them exactly as it signs the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tinyrel.attesting.inputs import AttestationInputs
from tinyrel.attesting.kinds import BOM_FILE, PREDICATE_TYPES, bundle_path
from tinyrel.attesting.statements import make_statement, now, payload
from tinyrel.findings import TinyrelError, first_line
from tinyrel.policy.gate import GateResult


@dataclass
class Attestations:
    """The statements (bundle path → in-toto Statement, and the JSON its envelope will carry) and the
    ML-BOM, not yet signed."""

    statements: dict[str, Any]
    payloads: dict[str, bytes]
    bom: bytes
    summary: list[dict[str, Any]]  # per statement: path, kind, predicate type, and its verdict if it has one

    @property
    def paths(self) -> list[str]:
        """Every file the attestations add to a release."""
        return sorted([*self.statements, BOM_FILE])

    def unsigned(self) -> dict[str, bytes]:
        """Each statement's JSON (what the envelope will carry) and the BOM: for checks before signing."""
        return {**self.payloads, BOM_FILE: self.bom}

    def sign(self, config) -> dict[str, bytes]:
        """Every statement as a signed Sigstore bundle (JSON), and the BOM, by ``config``'s signer."""
        from tinyrel.signing._oms import StatementPayload

        signer = config.signer()
        signed = {BOM_FILE: self.bom}
        for path, statement in sorted(self.statements.items()):
            try:
                signature = signer.sign(StatementPayload(statement))
            except Exception as exc:  # noqa: BLE001 - signer backends raise many types (crypto, OIDC, HTTP)
                raise TinyrelError("sign/failed", f"signing {path} failed ({config.method}): {first_line(exc)}",
                                   path=path) from None  # fmt: skip
            signed[path] = signature.bundle.to_json().encode("utf-8")
        return signed


def build_attestations(result: GateResult, digests: Mapping[str, str], spec_file: str) -> Attestations:
    """The statements about the release the gate has just checked.  ``digests``: SHA-256 of every
    release file a statement names (the card, the spec at ``spec_file``, the eval records)."""
    from tinyrel.attesting.eval_results import eval_ids, eval_predicate
    from tinyrel.attesting.gate_summary import gate_predicate
    from tinyrel.attesting.mlbom import ml_bom
    from tinyrel.attesting.provenance import provenance_predicate

    inputs = AttestationInputs(result, dict(digests), spec_file, now())
    subjects = inputs.subjects()
    bom = ml_bom(inputs)
    predicates: list[tuple[str, str | None, dict[str, Any]]] = [("provenance", None, provenance_predicate(inputs))]
    predicates += [("evals", eid, eval_predicate(inputs, eid)) for eid in eval_ids(inputs)]
    predicates += [("gate", None, gate_predicate(inputs)), ("sbom", None, bom)]
    statements, payloads, summary = {}, {}, []
    for kind, eval_id, predicate in predicates:
        path = bundle_path(kind, eval_id)
        statements[path] = make_statement(kind, subjects, predicate)
        payloads[path] = payload(statements[path])  # refused here when too large for a bundle
        row: dict[str, Any] = {"path": path, "kind": kind, "predicate_type": PREDICATE_TYPES[kind]}
        if eval_id is not None:
            row |= {"eval": eval_id, "result": predicate["result"]}
        if kind == "gate":
            row["result"] = predicate["verificationResult"]
        summary.append(row)
    text = json.dumps(bom, indent=2, ensure_ascii=False) + "\n"
    return Attestations(statements, payloads, text.encode("utf-8"), summary)
