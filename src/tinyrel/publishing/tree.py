"""Publish a release tree: the parent's weights and each ``[[variants]]`` conversion, each its own repo.

``publish --mode weights`` of a spec with variants releases the parent first (``publish_to_hub``),
then every variant through the same function with the spec ``variant_spec`` derives for it: its own
gate (its weights against its manifest, its values against the parent's, its card with
``base_model: ORG/NAME`` and ``base_model_relation: quantized``), its own signed commit and tag
``v<version>`` in ``ORG/NAME-<id>`` (or its ``repo_id``), its own lock entry ``<release>.<id>``
re-pinned to the Hub.  Each repo converges on a re-run exactly as a single release does, so a variant
that fails leaves the repos already published as they are and the next run finishes the rest; the
others are still attempted.  A parent that fails stops the run before any variant (their cards would
point at a release that is not there).  The dry run plans every repo.

``--variant ID`` publishes that variant alone, once its parent is released (tagged) on the Hub.
"""

from __future__ import annotations

import dataclasses

from tinyrel.findings import Finding, TinyrelError
from tinyrel.publishing.hosted import publish_to_hub
from tinyrel.publishing.release import PublishResult, publish_mode, publish_repo, spec_label
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec
from tinyrel.workspace.spec_variants import variant_spec

_KEPT = ("dry_run", "plan", "commit", "tag", "repo_id", "files")


def _parent_released(repo_id: str, tag: str) -> None:
    """``--variant`` alone: the parent's release must be on the Hub, tagged, for the variant's card to
    name it as its base model."""
    from huggingface_hub import get_token

    from tinyrel.hub.client import hub_api
    from tinyrel.hub.errors import hub_errors

    token = get_token()
    if token is None:
        raise TinyrelError("hub/no-token", "no Hub token: set HF_TOKEN or run `hf auth login`")
    with hub_errors(f"hf://{repo_id}", token):
        api = hub_api(token)
        tags = {t.name for t in api.list_repo_refs(repo_id).tags} if api.repo_exists(repo_id) else set()
    if tag not in tags:
        raise TinyrelError("publish/parent-missing", f"hf://{repo_id} has no tag {tag}: publish the release first "
                           "(publish --mode weights without --variant publishes it with every variant)")  # fmt: skip


def _merge(into: PublishResult, variant_id: str, outcome: PublishResult | None, error: TinyrelError | None) -> None:
    """A variant's findings (marked with its id) and its plan or commit, in the tree's report."""
    report = into.report
    entry: dict[str, object] = {"id": variant_id, "ok": outcome is not None and outcome.report.ok}
    if outcome is not None:
        entry |= {k: outcome.report.data[k] for k in _KEPT if k in outcome.report.data}
        entry["checks"] = outcome.report.data.get("checks", {})
        mark = f"variant {variant_id}: "
        report.findings += [f if f.message.startswith(mark) else dataclasses.replace(f, message=mark + f.message)
                            for f in outcome.report.findings]  # fmt: skip
    if error is not None:
        report.findings.append(Finding(error.code, "error", f"variant {variant_id}: {error.message}", error.path,
                                       error.line))  # fmt: skip
    report.data.setdefault("variants", []).append(entry)


def publish_tree(ws: Workspace, spec: ReleaseSpec, *, variant: str | None = None, mode: str | None = None,
                 repo_id: str | None = None, allow_other_repo: bool = False, dry_run: bool = False,
                 **options) -> PublishResult:  # fmt: skip
    """The release (and, in weights mode, its variants) to the Hub; ``options`` as ``publish_to_hub``."""
    label = spec_label(ws, spec)
    mode = publish_mode(spec, mode, label)
    if variant is not None and (mode != "weights" or not spec.variants):
        why = "the spec has no [[variants]]" if spec.variants == [] else "variants are published with --mode weights"
        raise TinyrelError("usage/variant", f"--variant {variant}: {why}", usage=True, path=label)
    if mode != "weights" or not spec.variants:
        return publish_to_hub(ws, spec, mode=mode, repo_id=repo_id, allow_other_repo=allow_other_repo,
                              dry_run=dry_run, **options)  # fmt: skip
    parent_repo = publish_repo(spec, repo_id, label, allow_other_repo)
    if variant is not None:
        derived = variant_spec(spec, variant, parent_repo)  # an unknown id is a usage error, before the Hub
        _parent_released(parent_repo, f"v{spec.version}")
        outcome = publish_to_hub(ws, derived, mode="weights", dry_run=dry_run, **options)
        outcome.report.data["variant"] = variant
        return outcome
    result = publish_to_hub(ws, spec, mode=mode, repo_id=repo_id, allow_other_repo=allow_other_repo,
                            dry_run=dry_run, **options)  # fmt: skip
    if not result.report.ok and not dry_run:
        result.report.warning("publish/variants-skipped", "the release was not published, so none of its variants "
                              f"was ({', '.join(v.id for v in spec.variants)})")  # fmt: skip
        return result
    for item in spec.variants:
        try:
            derived = variant_spec(spec, item.id, parent_repo)
            outcome = publish_to_hub(ws, derived, mode="weights", dry_run=dry_run, **options)
        except TinyrelError as exc:  # this repo failed; the others are still attempted (a re-run converges)
            _merge(result, item.id, None, exc)
            continue
        _merge(result, item.id, outcome, None)
    return result
