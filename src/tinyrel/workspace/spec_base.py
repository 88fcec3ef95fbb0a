"""The spec's ``[base]`` table and ``[weights] kind``: which base model a release derives from, how.

``[release] base_model`` stays the Hub id the card shows (``base_model`` in its front matter); the
``[base]`` table says where that base is, so that ``tinyrel lock --base`` can pin it by commit,
size and SHA-256 (the lock entry ``<release>.base``), the gate can check the weights against it
and ``pull`` can fetch it::

    [base]
    source = "hf://Qwen/Qwen3-4B@main"   # or hf-cache://ORG/NAME[@REV], or a directory
    relation = "finetune"                # finetune | adapter | quantized | merge
    allow_restricted = false             # true: the base may be private or gated

``relation`` is Hugging Face's ``base_model_relation``.  A LoRA (or DoRA) adapter release says
``[weights] kind = "adapter"`` and ``relation = "adapter"``: the two go together, because an
adapter is nothing without its base.  A spec without ``[base]`` is still valid (it names a base
it does not pin); the card then states the relation ``finetune``, as tinyrel always did.

Like the rest of the spec this is outside input: a source names a Hub repo only in the forms
``hf://`` and ``hf-cache://``, and that repo must be ``[release] base_model`` — a card that shows
one base while the lock pins another would state something untrue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinyrel.workspace._spec_reader import SpecNote

if TYPE_CHECKING:
    from tinyrel.workspace._spec_reader import _Reader

RELATIONS = ("finetune", "adapter", "quantized", "merge")
WEIGHT_KINDS = ("model", "adapter")
DEFAULT_RELATION = "finetune"  # what a card states when the spec has no [base] table
BASE_KEYS = {"source", "relation", "allow_restricted"}


@dataclass(frozen=True)
class BaseSpec:
    """The ``[base]`` table: where the base is (``source``) and how the release derives from it."""

    source: str
    relation: str
    allow_restricted: bool = False  # a private or gated base is accepted (its consumers need access)
    line: int | None = None  # the line of ``source``, for findings

    @property
    def repo_id(self) -> str | None:
        """ORG/NAME of an ``hf://`` or ``hf-cache://`` source; ``None`` for a directory."""
        for scheme in ("hf://", "hf-cache://"):
            if self.source.startswith(scheme):
                return self.source[len(scheme) :].partition("@")[0]
        return None


def _checked_source(r: _Reader, source: str) -> str:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not source.strip():
        raise r.fail("[base] source must name the base: hf://ORG/NAME@REV, hf-cache://ORG/NAME or a directory",
                     "source", "base")  # fmt: skip
    for scheme in ("hf://", "hf-cache://"):
        if source.startswith(scheme):
            repo, _, revision = source[len(scheme) :].partition("@")
            try:
                validate_repo_id(repo)
            except HFValidationError:
                repo = ""
            if repo.count("/") != 1 or (not revision and "@" in source):
                raise r.fail(f"[base] source {source!r} must be {scheme}ORG/NAME[@REVISION]", "source", "base")
            return source
    if "://" in source:
        raise r.fail(f"[base] source {source!r} has an unknown scheme (use hf://, hf-cache:// or a directory)",
                     "source", "base")  # fmt: skip
    return source


def read_base(r: _Reader, doc: dict[str, Any], base_model: str) -> tuple[BaseSpec | None, str]:
    """``[base]`` (or ``None``) and ``[weights] kind``, checked against each other and ``base_model``."""
    weights = doc.get("weights") if isinstance(doc.get("weights"), dict) else {}
    kind = r.get(weights, "kind", str, "weights", "model")
    if kind not in WEIGHT_KINDS:
        raise r.fail(f"'kind' in [weights] must be one of {', '.join(WEIGHT_KINDS)} (got {kind!r})", "kind", "weights")
    table = doc.get("base")
    if table is None:
        if kind == "adapter":
            raise r.fail('[weights] kind = "adapter" needs its base: add a [base] table with source and '
                         'relation = "adapter"', "kind", "weights")  # fmt: skip
        return None, kind
    if not isinstance(table, dict):
        raise r.fail("'base' must be a table ([base])", "base")
    base = BaseSpec(
        source=_checked_source(r, r.get(table, "source", str, "base")),
        relation=r.choice(table, "relation", RELATIONS, "base"),
        allow_restricted=r.get(table, "allow_restricted", bool, "base", False),
        line=r.line_of("source", "base"),
    )
    if (kind == "adapter") != (base.relation == "adapter"):
        raise r.fail(f'[weights] kind = "{kind}" and [base] relation = "{base.relation}" disagree: an adapter release '
                     'has kind = "adapter" and relation = "adapter", any other release neither', "relation",
                     "base")  # fmt: skip
    repo = base.repo_id
    if repo is not None and repo.casefold() != base_model.casefold():
        raise r.fail(f"[base] source names {repo}, but [release] base_model is {base_model}: the card would name "
                     "another base than the one pinned", "source", "base")  # fmt: skip
    return base, kind


def base_notes(r: _Reader, doc: dict[str, Any]) -> list[SpecNote]:
    """Unknown keys in ``[base]`` (typos such as ``relaton``), for the gate."""
    table = doc.get("base")
    return r.unknown_keys(table, "base") if isinstance(table, dict) else []


def scaffold_base_table(source: str, relation: str) -> str:
    """The ``[base]`` table ``tinyrel init`` writes (values escaped by tomli_w)."""
    import tomli_w

    body = tomli_w.dumps({"base": {"source": source, "relation": relation}}).strip()
    return (
        "# The base model, pinned by commit, size and SHA-256 in tinyrel.lock (tinyrel lock --base).\n"
        f"{body}\n"
    )
