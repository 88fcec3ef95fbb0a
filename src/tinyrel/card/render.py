"""Render the Hugging Face model card deterministically from the release spec.

Front matter is built with ``huggingface_hub.ModelCardData`` (never YAML assembled by string
templates); the body is a Jinja2 template rendered with ``StrictUndefined`` so a typo in a
workspace's template fails loudly instead of printing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tinyrel.findings import TinyrelError
from tinyrel.policy.spec import ReleaseSpec

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "card.md.j2"


def fmt_number(value: float | None, signed: bool = False) -> str:
    """0.58 → "0.58", 1.0 → "1.00", 0.596 → "0.596"; None → "-"."""
    if value is None:
        return "-"
    text = f"{value:.2f}" if round(value, 2) == round(value, 6) else f"{value:.3f}"
    return f"+{text}" if signed and value > 0 else text


@dataclass
class CardInputs:
    """Everything the card shows besides the spec: gate status, files, overrides."""

    blockers: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    source_uri: str = ""
    repo_id: str | None = None
    overrides: list[dict[str, str]] = field(default_factory=list)


def card_data(spec: ReleaseSpec):
    from huggingface_hub import EvalResult, ModelCardData

    results = [
        EvalResult(
            task_type=spec.pipeline_tag,
            dataset_type=f"local/{e.id}",
            dataset_name=e.name,
            metric_type=e.metric,
            metric_value=e.tuned,
            metric_name=f"{e.metric} ({e.kind})",
        )
        for e in spec.evals
    ]
    tags = ["mlx", "routed-only" if spec.routing.routed_only else "general", "tinyrel"]
    return ModelCardData(
        model_name=spec.name,
        base_model=spec.base_model,
        base_model_relation="finetune",
        library_name="mlx",
        license=spec.license,
        pipeline_tag=spec.pipeline_tag,
        tags=tags,
        eval_results=results or None,
    )


def headline(spec: ReleaseSpec) -> list[dict[str, str]]:
    """Headline numbers come only from the spec's own evals — never from context rows."""
    rows = []
    for e in spec.evals:
        value = fmt_number(e.tuned) if e.stock is None else f"{fmt_number(e.stock)} → {fmt_number(e.tuned)}"
        rows.append({"label": e.name, "value": value, "note": e.readout})
    if spec.artifact_size:
        rows.append({"label": "Artifact size", "value": spec.artifact_size, "note": ""})
    return rows


def render_card(spec: ReleaseSpec, inputs: CardInputs, template: Path | None = None) -> str:
    source = template or DEFAULT_TEMPLATE
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["num"] = fmt_number
    try:
        body = env.from_string(source.read_text(encoding="utf-8")).render(
            spec=spec,
            routing=spec.routing,
            headline=headline(spec),
            breadth=spec.evals_of("breadth"),
            blockers=inputs.blockers,
            overrides=inputs.overrides,
            files=inputs.files,
            source_uri=inputs.source_uri,
            repo_id=inputs.repo_id or spec.repo_id or f"ORG/{spec.name}",
        )
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{source}:{line}" if line else str(source)
        raise TinyrelError("card/template", f"{where}: {exc}", path=str(source)) from None
    return f"---\n{card_data(spec).to_yaml()}\n---\n\n{body}"
