"""One in-toto test result (``https://in-toto.io/attestation/test-result/v0.1``) per eval with records.

- ``result``: the gate's verdict on that eval (``AttestationInputs.eval_result``): PASSED, WARNED
  (e.g. records not pinned in the lock, or an error overridden with ``--allow``) or FAILED;
- ``configuration``: the records files (name, SHA-256) and the spec — each records file annotated
  with what tinyrel recomputed from it (score, n, Wilson 95% interval; the tuned file also with the
  paired per-item comparison against the stock records), the spec with what it claims;
- ``passedTests`` / ``failedTests``: the tuned records' item ids, passed at a score of at least
  ``tinyrel.evidence.stats.PASS`` (the mark the card's prose counts by); ``url``: the records on the
  Hub when the release is hosted.
"""

from __future__ import annotations

from typing import Any

from tinyrel.attesting.inputs import AttestationInputs
from tinyrel.evidence.stats import PASS


def eval_ids(inputs: AttestationInputs) -> list[str]:
    """The evals that get a statement: those with tuned records the gate could read."""
    return [eid for eid, evidence in inputs.ctx.evidence.items() if evidence.tuned_records is not None]


def eval_predicate(inputs: AttestationInputs, eval_id: str) -> dict[str, Any]:
    from tinyrel.card.render import records_url

    evidence = inputs.ctx.evidence[eval_id]
    e = evidence.eval
    summaries = {"tuned": evidence.tuned, "stock": evidence.stock}
    configuration = []
    for side, path in inputs.records(evidence):
        notes: dict[str, Any] = {"eval": e.id, "side": side}
        if summaries[side] is not None:
            notes["recomputed"] = summaries[side].to_dict() | {"interval": "wilson-95"}
        if side == "tuned" and evidence.paired is not None:
            notes["pairedWithStock"] = evidence.paired.to_dict() | {"test": "exact two-sided sign test (McNemar)"}
        configuration.append(inputs.file_descriptor(path, **notes))
    claims = {"eval": e.id, "name": e.name, "kind": e.kind, "metric": e.metric, "tuned": e.tuned}
    if e.stock is not None:
        claims["stock"] = e.stock
    if e.dataset_id:
        claims["datasetId"] = e.dataset_id + (f"@{e.dataset_revision}" if e.dataset_revision else "")
    spec = inputs.spec_descriptor()
    spec["annotations"] = {"claims": claims}
    configuration.append(spec)
    scores = evidence.tuned_records.scores
    predicate: dict[str, Any] = {
        "result": inputs.eval_result(eval_id),
        "configuration": configuration,
        "passedTests": sorted(item for item, score in scores.items() if score >= PASS),
        "failedTests": sorted(item for item, score in scores.items() if score < PASS),
    }
    url = records_url(inputs.facts, inputs.records(evidence)[0][1])
    if url:
        predicate["url"] = url
    return predicate
