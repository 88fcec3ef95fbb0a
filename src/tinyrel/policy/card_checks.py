"""The checks that read the rendered card as a reader sees it (``tinyrel.card.reading``): routed-only
copy, the negative-transfer table, and what context rows may claim.  They run after the card is
rendered (``CARD_CHECKS`` in ``checks``), so what is verified is exactly what is published.
"""

from __future__ import annotations

from typing import Any

from tinyrel.card.reading import normalize, whole_name
from tinyrel.findings import Finding
from tinyrel.policy.context import GateContext
from tinyrel.policy.context import err as _err
from tinyrel.policy.spec_text import copy_carrier

REGEX_TIMEOUT = 1.0  # seconds per forbidden-copy pattern: a hostile regex must not hang the gate


def _one_section(ctx: GateContext, check: str, title: str) -> tuple[Any, list[Finding]]:
    sections = ctx.view.find(title)
    if len(sections) > 1:
        return None, [_err(check, f"the card has {len(sections)} '## {title}' sections; a reader cannot tell "
                                  "which is true", ctx.template_path)]  # fmt: skip
    return (sections[0] if sections else None), []


def _first_match(pattern: str, texts: tuple[str, ...]) -> Any:
    """The first match of a spec's (untrusted) pattern in ``texts``, each search time-bounded."""
    import regex

    for text in texts:
        match = regex.search(pattern, text, regex.I, timeout=REGEX_TIMEOUT)
        if match:
            return match
    return None


def routed_only_copy(ctx: GateContext) -> list[Finding]:
    """The statement must be in the card's own voice (intro or Routing section), not only quoted in
    a blocker's unblock text; forbidden copy is searched in everything a reader sees."""
    where = ctx.template_path
    routing, found = _one_section(ctx, "routed-only-copy", "Routing")
    statement = normalize(ctx.view.intro.text + " " + (routing.text if routing else "")).casefold()
    if ctx.spec.routing.routed_only and "routed-only" not in statement:
        found.append(_err("routed-only-copy", "the card's intro and Routing section do not state routed-only use",
                          where))  # fmt: skip
    if normalize(ctx.spec.routing.domain).casefold() not in statement:
        found.append(_err("routed-only-copy", f"the card does not name the domain ({ctx.spec.routing.domain})", where))
    # As rendered, and read past markup shown as text ("<b>general</b>-purpose" in escaped spec text).
    readings = (ctx.view.visible_text, ctx.view.skimmed_text)
    for pattern in ctx.spec.routing.forbidden_copy:
        try:
            match = _first_match(pattern, readings)
        except TimeoutError:
            found.append(_err("routed-only-copy", f"forbidden_copy pattern {pattern!r} took too long (over "
                              f"{REGEX_TIMEOUT:g} s); simplify it", ctx.rel(ctx.spec.path)))  # fmt: skip
            continue
        if match:
            try:
                path, line = copy_carrier(ctx, lambda text, p=pattern: _first_match(p, (text,)) is not None)
            except TimeoutError:  # the same pattern answered on the card in time; a field's text cannot be worse
                path, line = where, None
            found.append(_err("routed-only-copy", f"the card presents the model as general: {match.group(0)!r}",
                              path, line))  # fmt: skip
    return found


def _cell_number(cell: str) -> float | None:
    try:
        return float(cell.replace("+", "").replace("−", "-"))
    except ValueError:
        return None


def negative_transfer_table(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    breadth = ctx.spec.evals_of("breadth")
    if not breadth:
        message = "the spec has no breadth evals; measure out-of-domain performance for the negative-transfer table"
        return [_err("negative-transfer-table", message, ctx.rel(ctx.spec.path))]
    section, found = _one_section(ctx, "negative-transfer-table", "Negative transfer")
    if found:
        return found
    if section is None or not section.tables or len(section.tables[0]) < 2:
        return [_err("negative-transfer-table", "the card has no negative-transfer table (## Negative transfer)",
                     where)]  # fmt: skip
    rows: dict[str, list[list[str]]] = {}
    for row in section.tables[0][1:]:
        if row:
            rows.setdefault(row[0].casefold(), []).append(row[1:])
    for e in breadth:
        matches = rows.get(normalize(e.name).casefold(), [])
        if len(matches) != 1 or len(matches[0]) < 3:
            problem = (
                "has no row" if not matches else "has more than one row" if len(matches) > 1 else "has a short row"
            )
            found.append(
                _err("negative-transfer-table", f"the negative-transfer table {problem} for {e.name!r}", where)
            )
            continue
        evidence = ctx.evidence.get(e.id)
        if evidence is not None and evidence.paired is not None:
            shown = f"{evidence.paired.regressed:,} of {evidence.paired.n:,} items regressed"
            if not any(shown in cell for cell in matches[0][3:]):
                found.append(_err("negative-transfer-table", f"{e.name}: the per-item records show {shown}; the "
                                  "table must show the paired regression", where))  # fmt: skip
        for label, want, cell in zip(
            ("stock", "tuned", "delta"), (e.stock, e.tuned, e.delta), matches[0], strict=False
        ):
            got = _cell_number(cell)
            if want is None or got is None or abs(got - want) > 1e-9:
                found.append(_err("negative-transfer-table", f"{e.name}: card shows {label} {cell!r}, eval data says "
                                  f"{want}", where))  # fmt: skip
    return found


def _model_index_texts(front_matter: str) -> list[tuple[str, str]]:
    """(dataset name, metric name) of every model-index result in the card's front matter."""
    import yaml
    from huggingface_hub.repocard_data import model_index_to_eval_results

    try:
        data = yaml.safe_load(front_matter) or {}
        index = data.get("model-index") if isinstance(data, dict) else None
        if not index:
            return []
        _, results = model_index_to_eval_results(index)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError):  # malformed: judged as text below
        return [(front_matter, "")]
    return [(normalize(r.dataset_name or ""), normalize(r.metric_name or r.metric_type or "")) for r in results]


def claims_comparability(ctx: GateContext) -> list[Finding]:
    where = ctx.template_path
    index = _model_index_texts(ctx.view.front_matter)
    headline, found = _one_section(ctx, "claims-comparability", "Headline numbers")
    headline_text = headline.text if headline else ""
    eval_names = {normalize(e.name).casefold() for e in ctx.spec.evals}
    for row in (r for r in ctx.spec.context if r.comparability == "directional"):
        system = whole_name(row.system)
        in_index = any(system.search(name) for name, _ in index) or (
            normalize(row.system).casefold() not in eval_names
            and any(metric.casefold() == normalize(row.metric).casefold() for _, metric in index)
        )
        if in_index:
            found.append(_err("claims-comparability", f"directional row {row.system!r} appears in the model-index",
                              where))  # fmt: skip
        if system.search(headline_text) or whole_name(row.score).search(headline_text):
            found.append(_err("claims-comparability", f"directional row {row.system!r} appears in the headline "
                              "numbers", where))  # fmt: skip
    context, more = _one_section(ctx, "claims-comparability", "Competitive context")
    found += more
    table = context.tables[0] if context and context.tables else []
    header = [c.casefold() for c in table[0]] if table else []
    column = next((i for i, c in enumerate(header) if "compar" in c), None)
    for row in ctx.spec.context:
        label = row.comparability.lower()
        lines = [r for r in table[1:] if r and r[0].casefold() == normalize(row.system).casefold()]
        ok = column is not None and len(lines) == 1 and len(lines[0]) > column
        if not ok or lines[0][column].casefold() != label:
            found.append(_err("claims-comparability", f"context row {row.system!r} is not labelled {label.title()} "
                              "(exactly one row, in the Comparable? column)", where))  # fmt: skip
    return found
