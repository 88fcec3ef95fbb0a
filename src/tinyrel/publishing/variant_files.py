"""The files a release of a tree ships for its variants' evals (``evidence_files`` adds them).

Every release of the tree — the parent and each variant — shows every variant's scores on its card,
so each one ships every variant's per-item records, under ``evals/<eval>.<variant><suffix>``.  A
variant's own release also carries ``.eval_results/<eval>.yaml`` (Hugging Face's format) with *its*
scores for evals on a Hub benchmark dataset; the parent's scores are not the variant's results.
"""

from __future__ import annotations

from typing import Any


def variant_release_files(result: Any) -> list[tuple[str, bytes]]:
    """(release path, bytes) of the variants' records and of a variant release's own eval results."""
    import yaml
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    from tinyrel.card.render import records_url

    ctx = result.context
    files: dict[str, bytes] = {}
    own = ctx.spec.variant.variant.id if ctx.spec.variant is not None else None
    for state in ctx.variants.get("states") or []:
        for workspace_path, release_path in state.records:
            files[release_path] = (ctx.ws.root / workspace_path).read_bytes()
        if state.variant.id != own:
            continue
        for ev in state.evidence:
            e = ev.eval
            if not (e.dataset_id and e.task_id and ev.summary is not None):
                continue
            url = records_url(result.facts, ev.release_path) if ev.release_path else None
            entry = EvalResultEntry(
                dataset_id=e.dataset_id, task_id=e.task_id, value=round(ev.summary.score, 4),
                dataset_revision=e.dataset_revision, notes=f"n={ev.summary.n}, recomputed from per-item records",
                **({"source_url": url, "source_name": "per-item records"} if url else {}),
            )  # fmt: skip
            text = yaml.safe_dump(eval_result_entries_to_yaml([entry]), sort_keys=False)
            files[f".eval_results/{e.id}.yaml"] = text.encode("utf-8")
    return sorted(files.items())
