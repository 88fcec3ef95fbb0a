"""What every card of a release tree says about its variants, and the check that it says it.

``card_rows`` turns the ``variants`` check's findings (``ctx.variants["states"]``) into Markdown-safe
cells for the card template: the variant table (id, bits, group size, size on disk, eval scores with
their intervals, what was checked, the repo), what the quantization cost (each variant eval paired
item by item with the parent's records and with the stock records), rows of the negative-transfer
table for the variants' breadth evals, and — on a variant's own card — the banner that says whose
conversion it is and that the numbers in the parent's sections are the parent's.

``variant_table`` (card check ``variant-table``) reads the rendered card back for a row per variant in
``## Variants``; ``with_variant_rows`` extends the ``negative-transfer-table`` check to a row per
variant breadth eval, with the spec's numbers and the paired regression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from tinyrel.card.reading import normalize
from tinyrel.card.render import code, fmt_number, md_escape, weights_format
from tinyrel.evidence.collect import fmt_interval, fmt_paired
from tinyrel.findings import Finding

CHECK = "variant-table"


def _bits(state: Any) -> tuple[str, str]:
    """(bits, group size) cells: what the comparison with the parent established, or that it did not."""
    if state.comparison is None or not state.comparison.ok or not state.comparison.converted:
        return "not verified", "not verified"
    rows = state.comparison.encodings()["quantized"]
    if len(rows) == 1:
        bits = f"{rows[0]['bits']} ({rows[0]['mode']})"
    else:
        bits = ", ".join(f"{r['bits']} ({r['mode']}, {r['modules']} modules)" for r in rows)
    groups = ", ".join(str(g) for g in sorted({r["group_size"] for r in rows}))
    return bits, groups


def _checked(state: Any) -> str:
    """One sentence: how far this run proved the variant is a quantization of the parent."""
    comparison, deep = state.comparison, state.deep
    if comparison is None or not comparison.ok:
        return "not verified against the parent" + (f" ({state.deep_skipped})" if state.deep_skipped else "")
    kept = len(comparison.kept)
    if deep is not None and not deep.findings:
        exact = len(deep.identical)
        near = f", {len(deep.at_ties)} differing from it only at rounding ties" if deep.at_ties else ""
        cast = f", {len(deep.cast_equal)} cast" if deep.cast_equal else ""
        return (f"{exact} of {len(comparison.converted)} quantized modules bit-identical to mlx's quantization of the "
                f"parent's tensors{near}; {kept} tensors the parent's by digest{cast}")  # fmt: skip
    if deep is not None:
        return "its values differ from the parent's (see the release blockers)"
    return f"shapes and digests match the parent's ({kept} tensors by digest); values not read: {state.deep_skipped}"


def _repo(repo_id: str | None, published: bool, private: bool = False) -> Markup:
    if repo_id is None:
        return Markup("none (no repo_id)")
    if published:
        return Markup(f"[{md_escape(repo_id)}](https://huggingface.co/{repo_id})" + (" (private)" if private else ""))
    return Markup(f"not published yet (planned: {code(repo_id)})")


def _repo_of(ctx: Any, facts: Any, state: Any, parent: Any) -> tuple[str | None, bool]:
    """The variant's repo, and whether it is where a reader finds the variant: a weights publish to the
    Hub names every variant's repo (the tree is released together, and a re-run must render the same
    card), otherwise the repo its lock entry pins, or the planned one, not published yet."""
    from tinyrel.workspace.spec_variants import variant_repo

    hosted = facts.hosted and facts.mode == "weights"
    parent_repo = ctx.spec.variant.parent_repo if ctx.spec.variant else (facts.repo_id if hosted else None)
    repo = variant_repo(parent, state.variant, parent_repo)
    if hosted:
        return repo, True
    lock = state.lock
    if lock is not None and lock.kind == "hub" and lock.durable:  # published: where its lock entry pins it
        return lock.uri.removeprefix("hf://").split("@")[0], True
    return repo, False


def _scores(state: Any) -> Markup:
    parts = []
    for ev in state.evidence:
        name = md_escape(ev.eval.name)
        if ev.summary is not None:
            parts.append(f"{name} {fmt_number(ev.tuned)} (n={ev.summary.n:,}, 95% {fmt_interval(ev.summary)})")
        else:
            parts.append(f"{name} {fmt_number(ev.tuned)} (no per-item records)")
    return Markup("; ".join(parts) or "not evaluated")


def _banner(ctx: Any, states: list[Any], parent: Any) -> Markup:
    variant = ctx.spec.variant
    state = next(s for s in states if s.variant.id == variant.variant.id)
    where = (f"[{md_escape(variant.parent_repo)}](https://huggingface.co/{variant.parent_repo}) at tag "
             f"{code('v' + parent.version)}") if variant.parent_repo else "no Hub repo"  # fmt: skip
    fmt = weights_format(state.manifest).rstrip(".")
    own = "its own scores are in the Variants section and in this card's model-index" if state.evidence else \
        "it has no eval results of its own"  # fmt: skip
    return Markup(
        f"> **Quantized variant {code(variant.variant.id)}** of {code(parent.name)} {md_escape(parent.version)}: "
        f"{md_escape(fmt)}. Its parent's weights are released in {where}. Checked against them by tinyrel: "
        f"{md_escape(_checked(state))}. The summary, headline numbers and results tables below are the parent's "
        f"measurements; {own}."
    )


def card_rows(ctx: Any, facts: Any) -> dict[str, Any]:
    """The template's ``variants``: ``rows``, ``cost``, ``transfer``, ``banner`` (empty without variants)."""
    states = ctx.variants.get("states") or []
    if not states:
        return {"rows": [], "cost": [], "transfer": [], "banner": "", "model_index": []}
    parent = ctx.spec.variant.parent if ctx.spec.variant else ctx.spec
    rows, cost, transfer = [], [], []
    for state in states:
        bits, groups = _bits(state)
        size = (state.manifest or {}).get("totals", {}).get("bytes")
        repo, published = _repo_of(ctx, facts, state, parent)
        private = bool(getattr(facts, "private", False)) and facts.hosted
        rows.append({"id": code(state.variant.id), "bits": bits, "group_size": groups,
                     "size": Markup(f"{size:,} bytes") if isinstance(size, int) else Markup("unknown"),
                     "scores": _scores(state), "checked": _checked(state),
                     "repo": _repo(repo, published, private)})  # fmt: skip
        for ev in state.evidence:
            cost.append({"variant": code(state.variant.id), "eval": ev.eval.name, "score": fmt_number(ev.tuned),
                         "vs_parent": Markup(fmt_paired(ev.parent, ev.summary, ev.vs_parent)),
                         "vs_stock": Markup(fmt_paired(ev.stock, ev.summary, ev.vs_stock))})  # fmt: skip
            if ev.eval.kind == "breadth":
                delta = None if ev.eval.stock is None else round(ev.tuned - ev.eval.stock, 3)
                transfer.append({"name": f"{ev.eval.name} ({state.variant.id})", "stock": ev.eval.stock,
                                 "tuned": ev.tuned, "delta": delta,
                                 "paired": Markup(fmt_paired(ev.stock, ev.summary, ev.vs_stock))})  # fmt: skip
    banner = _banner(ctx, states, parent) if ctx.spec.variant else Markup("")
    return {"rows": rows, "cost": cost, "transfer": transfer, "banner": banner, "model_index": _model_index(ctx, facts)}


def _model_index(ctx: Any, facts: Any) -> list[Any]:
    """A variant card's model-index: the variant's own measurements only (the parent's are not its)."""
    from huggingface_hub import EvalResult

    from tinyrel.card.render import records_url

    if ctx.spec.variant is None:
        return []
    spec, own = ctx.spec, ctx.spec.variant.variant.id
    state = next((s for s in ctx.variants.get("states") or [] if s.variant.id == own), None)
    results = []
    for ev in state.evidence if state is not None else []:
        e = ev.eval
        url = records_url(facts, ev.release_path) if ev.release_path and ev.summary is not None else None
        source = {"verified": False} if ev.summary is not None else {}
        if url is not None:
            source |= {"source_name": f"per-item records (n={ev.summary.n})", "source_url": url}
        results.append(EvalResult(task_type=spec.pipeline_tag, dataset_type=e.dataset_id or f"local/{e.id}",
                                  dataset_name=e.name, dataset_split=e.dataset_split, dataset_config=e.dataset_config,
                                  dataset_revision=e.dataset_revision, metric_type=e.metric, metric_value=ev.tuned,
                                  metric_name=f"{e.metric} ({e.kind})", **source))  # fmt: skip
    return results


def variants_statement(ctx: Any) -> str:
    """What is true when the ``variants`` check passes, for a resolved blocker that names it."""
    states = ctx.variants.get("states") or []
    if not states:
        return "this release has no variants"
    read = sum(1 for s in states if s.deep is not None)
    if read == len(states):
        return "every variant was compared with these weights tensor by tensor, values included"
    return (f"every variant's manifest was compared with these weights' tensor by tensor; the values of {read} of "
            f"{len(states)} were read (see the Variants section)")  # fmt: skip


def _err(message: str, where: str, check: str = CHECK) -> Finding:
    return Finding(f"blocker/{check}", "error", message, where)


def _number(cell: str) -> float | None:
    try:
        return float(cell.replace("+", "").replace("−", "-"))
    except ValueError:
        return None


def variant_table(ctx: Any) -> list[Finding]:
    """Card check ``variant-table``: the card's ``## Variants`` table has one row per variant."""
    states = ctx.variants.get("states") or []
    if not states:
        return []
    where, found = ctx.template_path, []
    sections = ctx.view.find("Variants")
    table = sections[0].tables[0] if len(sections) == 1 and sections[0].tables else []
    shown = [row[0].casefold() for row in table[1:] if row]
    for state in states:
        if shown.count(state.variant.id.casefold()) != 1:
            found.append(_err(f"the card's '## Variants' table needs exactly one row for variant {state.variant.id!r}",
                              where))  # fmt: skip
    return found


def with_variant_rows(check: Callable[[Any], list[Finding]]) -> Callable[[Any], list[Finding]]:
    """The ``negative-transfer-table`` check, extended to the variants' breadth evals: a variant's breadth
    regression counts like the parent's (the same blocker, the same ``--allow``)."""

    def negative_transfer_table(ctx: Any) -> list[Finding]:
        found = check(ctx)
        sections = ctx.view.find("Negative transfer")
        if not (ctx.variants.get("states") and len(sections) == 1 and sections[0].tables):
            return found  # no variants, or no table: the parent's check has said so
        rows = sections[0].tables[0][1:]
        where, name = ctx.template_path, "negative-transfer-table"
        for want in card_rows(ctx, _NoFacts())["transfer"]:
            matches = [r for r in rows if r and r[0].casefold() == normalize(want["name"]).casefold()]
            if len(matches) != 1 or len(matches[0]) < 4:
                found.append(_err(f"the negative-transfer table needs exactly one row for {want['name']!r}", where,
                                  name))  # fmt: skip
                continue
            for label, value, cell in zip(("stock", "score", "delta"), (want["stock"], want["tuned"], want["delta"]),
                                          matches[0][1:4], strict=False):  # fmt: skip
                got = _number(cell)
                if value is None or got is None or abs(got - value) > 1e-9:
                    found.append(_err(f"{want['name']}: the card shows {label} {cell!r}, the spec says {value}", where,
                                      name))  # fmt: skip
            paired = normalize(str(want["paired"]))
            if "regressed" in paired and not any(paired in normalize(c) for c in matches[0][4:]):
                found.append(_err(f"{want['name']}: the table must show the paired regression ({paired})", where, name))
        return found

    return negative_transfer_table


class _NoFacts:
    """Facts for re-deriving the rows' numbers in the check (the repo cells are not compared)."""

    hosted = False
    private = False
    mode = "check"
    repo_id = None
