"""Render the Hugging Face model card deterministically from the release spec and the facts of
this release (published where, signed or not, tagged or not).

Front matter is built with ``huggingface_hub.ModelCardData`` (never YAML assembled by string
templates).  The body is a Jinja2 template rendered in ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``: a workspace template is data, not code, and a typo fails loudly.  Every value
printed by the template is escaped for Markdown and HTML unless a filter marks it as already safe
(``num``, ``code``), so no spec string can open a table cell, a section, an HTML comment or a link.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from tinyrel.findings import TinyrelError
from tinyrel.workspace.spec import ReleaseSpec

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "card.md.j2"
_MD_SPECIAL = re.compile(r"([\\`\[\]|*_])")
_LINE_START = re.compile(r"^(\d*)([#+=~.)-])")


def md_escape(value: object) -> str:
    """Spec text as literal Markdown: one line, HTML-escaped, structure characters escaped."""
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _LINE_START.sub(r"\1\\\2", text)


def code(value: object) -> Markup:
    """A code span holding ``value`` verbatim: one line, with a backtick fence longer than any run
    inside it, so the span cannot close early.  Its content is not HTML-escaped: Markdown shows a
    code span's characters literally (an entity such as ``&lt;`` would show as those four
    characters), and a span that opens first is never read as HTML.  ``|`` is escaped for tables."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def shell(value: object) -> Markup:
    """A shell word for a command in a code block: one line, quoted when it needs quoting."""
    import shlex

    return Markup(shlex.quote(" ".join(str(value).split())))


def fmt_number(value: float | None, signed: bool = False) -> Markup:
    """0.58 → "0.58", 1.0 → "1.00", 0.596 → "0.596"; None → "-"."""
    if value is None:
        return Markup("-")
    text = f"{value:.2f}" if round(value, 2) == round(value, 6) else f"{value:.3f}"
    return Markup(f"+{text}" if signed and value > 0 else text)


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool) or value is None:
        return Markup(md_escape(value))
    if isinstance(value, int | float):
        return Markup(str(value))
    return Markup(md_escape(value))


@dataclass
class ReleaseFacts:
    """What is true of this release as it will be (or is) published; the card states only these."""

    destination: str = "preview"  # preview | local | hub | oci
    mode: str = "check"  # check | metadata | weights
    repo_id: str | None = None
    tag: str | None = None
    private: bool = False  # a hosted release in a private repo (``publish --private``)
    signing: str | None = None  # None: unsigned; key | certificate | sigstore
    sigstore_identity: str | None = None
    sigstore_issuer: str | None = None
    weights_location: str = ""  # a sentence: where the weights can be obtained, or that they cannot
    oci_repo: str | None = None  # HOST[:PORT]/PATH of an OCI release (destination "oci")

    @property
    def hosted(self) -> bool:
        return self.destination == "hub"


@dataclass
class CardInputs:
    """Everything the card shows besides the spec: gate status, files, overrides, release facts."""

    blockers: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, str]] = field(default_factory=list)
    facts: ReleaseFacts = field(default_factory=ReleaseFacts)
    evidence: dict[str, Any] = field(default_factory=dict)  # eval id -> tinyrel.evidence EvalEvidence
    weights_format: str = ""  # a sentence: quantization or float dtype, from the manifest (weights_format())
    base: Any = None  # tinyrel.policy.base_pin.BaseFacts: the [base] and its pin (None: the spec declares none)
    variants: dict[str, Any] = field(default_factory=dict)  # the tree's variants (tinyrel.policy.variant_card)


_FLOAT_NAMES = {"BF16": "bf16", "F16": "fp16", "F32": "fp32", "F64": "fp64", "F8_E4M3": "fp8 (e4m3)",
                "F8_E5M2": "fp8 (e5m2)"}  # fmt: skip


def weights_format(manifest: dict[str, Any] | None) -> str:
    """What the weights are, as the manifest records them: quantized (bits, group size and mode from
    config.json's ``quantization``, and whether some layers differ) or not (the tensors' float dtypes)."""
    if not isinstance(manifest, dict):
        return "not recorded (no manifest: run tinyrel manifest on the weights)."
    model = manifest.get("model") if isinstance(manifest.get("model"), dict) else {}
    tensors = [t for t in manifest.get("tensors") or [] if isinstance(t, dict)]
    names = {t.get("name") for t in tensors}
    scales = {n.removesuffix(".weight") + ".scales" for n in names if isinstance(n, str) and n.endswith(".weight")}
    floats = sorted({_FLOAT_NAMES[t["dtype"]] for t in tensors if t.get("dtype") in _FLOAT_NAMES
                     and not str(t.get("name", "")).endswith((".scales", ".biases"))})  # fmt: skip
    float_text = " and ".join(floats) if floats else "of no float dtype"
    quant = model.get("quantization")
    if not isinstance(quant, dict) or not isinstance(quant.get("bits"), int):
        return f"{float_text}, not quantized." if floats else "not recorded in the manifest."
    bits, group, mode = quant.get("bits"), quant.get("group_size"), quant.get("mode") or "affine"
    sentence = f"{bits}-bit quantized (mlx {mode} mode, group size {group}), as config.json records"
    if _layers_differ(tensors, scales & names, bits, group):
        sentence += "; some layers use other quantization settings (per-layer entries in config.json)"
    if floats:
        sentence += f"; the tensors left unquantized are {float_text}"
    return sentence + "."


def _layers_differ(tensors: list[dict[str, Any]], scales: set[Any], bits: int, group: object) -> bool:
    """Does any quantized layer's packing differ from ``bits`` and ``group``?  A packed weight holds
    ``in * bits / 32`` words per row and its scales ``in / group_size`` values, so the ratio of their
    last dimensions is ``bits * group_size / 32`` for a layer at the model's settings."""
    if not isinstance(group, int) or group <= 0:
        return False
    shapes = {t.get("name"): t.get("shape") for t in tensors}
    for name in scales:
        weight, scale = shapes.get(name[: -len(".scales")] + ".weight"), shapes.get(name)
        if not (isinstance(weight, list) and isinstance(scale, list) and weight and scale):
            continue
        if isinstance(weight[-1], int) and isinstance(scale[-1], int) and weight[-1] * 32 != scale[-1] * bits * group:
            return True
    return False


def records_url(facts: ReleaseFacts, release_path: str) -> str | None:
    """Where a reader finds a records file of this release on the Hub (hosted releases only)."""
    if not facts.hosted or not facts.repo_id or not facts.tag:
        return None
    return f"https://huggingface.co/{facts.repo_id}/blob/{facts.tag}/{release_path}"


def card_data(spec: ReleaseSpec, evidence: dict[str, Any] | None = None, facts: ReleaseFacts | None = None,
              variants: dict[str, Any] | None = None):  # fmt: skip
    from huggingface_hub import EvalResult, ModelCardData

    evidence, facts = evidence or {}, facts or ReleaseFacts()
    if spec.variant is not None:  # a variant's own release: its parent in the Hub's model tree, its own results
        parent_repo = spec.variant.parent_repo
        return ModelCardData(model_name=spec.name, base_model=parent_repo or spec.base_model,
                             base_model_relation="quantized" if parent_repo else "finetune", library_name="mlx",
                             license=spec.license, pipeline_tag=spec.pipeline_tag, tags=["mlx", "routed-only" if
                             spec.routing.routed_only else "general", "tinyrel", "quantized"],
                             eval_results=(variants or {}).get("model_index") or None)  # fmt: skip

    def source(e) -> dict[str, Any]:
        ev = evidence.get(e.id)
        files = ev.release_files() if ev is not None and ev.tuned is not None else []
        if not files:
            return {}
        url = records_url(facts, files[0][1])
        if url is None:  # huggingface_hub needs a URL with a source name: local releases name none
            return {"verified": False}
        return {"verified": False, "source_name": f"per-item records (n={ev.tuned.n})", "source_url": url}

    results = [
        EvalResult(
            task_type=spec.pipeline_tag,
            dataset_type=e.dataset_id or f"local/{e.id}",
            dataset_name=e.name,
            dataset_split=e.dataset_split,
            dataset_config=e.dataset_config,
            dataset_revision=e.dataset_revision,
            metric_type=e.metric,
            metric_value=e.tuned,
            metric_name=f"{e.metric} ({e.kind})",
            **source(e),
        )
        for e in spec.evals
    ]
    tags = ["mlx", "routed-only" if spec.routing.routed_only else "general", "tinyrel"]
    return ModelCardData(
        model_name=spec.name,
        base_model=spec.base_model,
        base_model_relation=spec.base.relation if spec.base is not None else "finetune",
        library_name="mlx",
        license=spec.license,
        pipeline_tag=spec.pipeline_tag,
        tags=tags,
        eval_results=results or None,
    )


def headline(spec: ReleaseSpec) -> list[dict[str, Any]]:
    """Headline numbers come only from the spec's own evals — never from context rows."""
    rows = []
    for e in spec.evals:
        value = fmt_number(e.tuned) if e.stock is None else Markup(f"{fmt_number(e.stock)} → {fmt_number(e.tuned)}")
        rows.append({"label": e.name, "value": value, "note": e.readout})
    if spec.artifact_size:
        rows.append({"label": "Artifact size", "value": spec.artifact_size, "note": ""})
    return rows


def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=True, finalize=_finalize
    )
    env.filters["num"] = fmt_number
    env.filters["code"] = code
    env.filters["shell"] = shell
    return env


MAX_TEMPLATE_BYTES = 1024 * 1024


def render_card(spec: ReleaseSpec, inputs: CardInputs, template: Path | None = None, label: str | None = None) -> str:
    from tinyrel.safe_io import read_small

    source = template or DEFAULT_TEMPLATE
    facts = inputs.facts
    try:
        text = read_small(source, MAX_TEMPLATE_BYTES)  # a FIFO or a device is refused, never waited on
    except (TinyrelError, OSError, UnicodeDecodeError) as exc:
        raise TinyrelError("card/template", f"the card template cannot be read: {getattr(exc, 'message', exc)}",
                           path=label) from None  # fmt: skip
    try:
        body = (
            environment()
            .from_string(text)
            .render(
                spec=spec,
                routing=spec.routing,
                headline=headline(spec),
                breadth=spec.evals_of("breadth"),
                blockers=inputs.blockers,
                overrides=inputs.overrides,
                files=inputs.files,
                release=facts,
                repo_id=facts.repo_id or spec.repo_id or "",
                ev=_evidence_cells(spec, inputs.evidence),
                weights_format=inputs.weights_format,
                base=inputs.base,
                variants=inputs.variants or {"rows": [], "cost": [], "transfer": [], "banner": ""},
            )
        )
    except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise TinyrelError("card/template", str(exc), path=label or str(source), line=line) from None
    return f"---\n{card_data(spec, inputs.evidence, facts, inputs.variants).to_yaml()}\n---\n\n{body}"


def _evidence_cells(spec: ReleaseSpec, evidence: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per eval: items, interval, paired regression and record links, as safe Markdown."""
    from urllib.parse import quote

    from tinyrel.evidence.collect import fmt_interval, fmt_paired

    cells = {}
    for e in spec.evals:
        ev = evidence.get(e.id)
        tuned = ev.tuned if ev is not None else None
        links = [Markup(f"[{md_escape(dest)}]({quote(dest)})") for _, dest in (ev.release_files() if ev else [])]
        cells[e.id] = {
            "n": Markup(f"{tuned.n:,}") if tuned else Markup("-"),
            "interval": Markup(fmt_interval(tuned)),
            "paired": Markup(fmt_paired(ev.stock, ev.tuned, ev.paired) if ev else fmt_paired(None, None, None)),
            "records": Markup(", ".join(links)) if links else Markup("none"),
        }
    return cells
