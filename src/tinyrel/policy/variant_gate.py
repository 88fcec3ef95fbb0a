"""Check ``variants``: each ``[[variants]]`` entry is a quantization of this release's weights, pinned,
described by a manifest, and its evals are what its records say.

For every variant (or, in the gate of a variant's own release, for that one):

1. its manifest (``manifests/<release>.<id>.json``) and lock entry (``<release>.<id>``) exist and
   list the same files; its weights, when on this machine, validate against that manifest;
2. ``tinyrel.weights.variant_check`` compares the manifests with the parent's (modules, encodings
   against ``config.json``, unquantized tensors by digest);
3. ``tinyrel.weights.variant_deep`` reads the quantized values (unless ``--offline``, or the
   weights are not here: a warning, an error when weights are required);
4. each ``[[variants.evals]]`` is recomputed from its records and paired item by item with the
   parent's records (what the quantization cost) and with the stock records.

The results go to ``ctx.variants`` for the card (``tinyrel.policy.variant_card``).  Findings carry
their own codes (``variant/...``): a variant of another checkpoint is ``variant/not-from-parent``, a
config that lies about its quantization ``variant/encoding``, each naming the tensor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyrel.evidence.records import read_records
from tinyrel.evidence.stats import Paired, Summary, paired, summarize
from tinyrel.findings import Finding, Report, TinyrelError
from tinyrel.safe_io import read_bytes_capped
from tinyrel.sources.resolve import local_weights_dir
from tinyrel.weights import manifest as mf
from tinyrel.weights.variant_check import Comparison, compare
from tinyrel.weights.variant_deep import DeepResult, deep_check

ROUNDING = 0.0005  # as eval-evidence: a spec score may differ from its records by rounding, no more
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass
class VariantEvidence:
    """One ``[[variants.evals]]``: the variant's records, paired with the parent's and the stock's."""

    eval: Any  # the parent's Eval
    tuned: float  # the spec's score for the variant
    release_path: str | None
    summary: Summary | None = None
    vs_parent: Paired | None = None
    vs_stock: Paired | None = None
    parent: Summary | None = None
    stock: Summary | None = None


@dataclass
class VariantState:
    """What the gate found for one variant: everything the card states about it."""

    variant: Any  # spec_variants.Variant
    manifest: dict[str, Any] | None = None
    lock: Any = None  # its LockedSource
    comparison: Comparison | None = None
    deep: DeepResult | None = None
    deep_skipped: str = ""  # why the values were not read
    evidence: list[VariantEvidence] = field(default_factory=list)
    records: list[tuple[str, str]] = field(default_factory=list)  # (workspace path, release path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.variant.id,
            "bytes": (self.manifest or {}).get("totals", {}).get("bytes"),
            "encodings": self.comparison.encodings() if self.comparison else None,
            "deep": self.deep.to_dict() if self.deep else None, "deep_skipped": self.deep_skipped or None,
            "evals": [{"id": e.eval.id, "tuned": e.summary.to_dict() if e.summary else None,
                       "vs_parent": e.vs_parent.to_dict() if e.vs_parent else None,
                       "vs_stock": e.vs_stock.to_dict() if e.vs_stock else None} for e in self.evidence],
        }  # fmt: skip


def tree(ctx: Any) -> tuple[Any, list[Any]]:
    """(the parent spec, the variants this gate checks): all of them, or a variant release's own."""
    spec = ctx.spec
    if spec.variant is not None:
        return spec.variant.parent, [spec.variant.variant]
    return spec, list(spec.variants)




def _manifest(ctx: Any, name: str, found: list[Finding]) -> dict[str, Any] | None:
    path = ctx.ws.manifest_path(name)
    rel = ctx.rel(path)
    if not path.is_file():
        found.append(Finding("variant/manifest", "error", f"no manifest at {rel}: run tinyrel manifest on the weights "
                             f"(-o {rel})", rel))  # fmt: skip
        return None
    try:
        return mf.load(path)
    except TinyrelError as exc:
        found.append(Finding(exc.code, "error", exc.message, rel, exc.line))
        return None


def _config(ctx: Any, state: VariantState, local: Path | None, found: list[Finding]) -> dict[str, Any] | None:
    """The variant's config.json — the one its manifest pins (SHA-256) — from this machine or its Hub repo."""
    import hashlib

    pinned = next((f for f in state.manifest["files"] if f["path"] == "config.json"), None) if state.manifest else None
    if pinned is None:
        return None
    label = f"variant {state.variant.id}"
    data: bytes | None = None
    try:
        if local is not None:
            data = read_bytes_capped(local / "config.json", MAX_CONFIG_BYTES)
        elif not ctx.offline and state.lock is not None and state.lock.kind == "hub":
            data = _hub_config(state, pinned["size"])
    except (OSError, TinyrelError) as exc:
        found.append(Finding("variant/config", "error", f"{label}: config.json cannot be read: "
                             f"{getattr(exc, 'message', exc)}"))  # fmt: skip
        return None
    if data is None:
        return None
    if pinned.get("sha256") and hashlib.sha256(data).hexdigest() != pinned["sha256"]:
        found.append(Finding("variant/config", "error", f"{label}: config.json is not the one its manifest pins"))
        return None
    from tinyrel.weights.config import config_problems

    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        found.append(Finding("variant/config", "error", f"{label}: config.json is not readable JSON"))
        return None
    problems = config_problems(config) if isinstance(config, dict) else ["it is not a JSON object"]
    if problems:
        found.append(Finding("variant/config", "error", f"{label}: config.json: {problems[0]}"))
        return None
    return config


def _hub_config(state: VariantState, size: int) -> bytes:
    import tempfile

    from tinyrel.hub.client import download
    from tinyrel.hub.errors import hub_errors
    from tinyrel.sources.uri import hub_ref

    ref = hub_ref(state.lock.uri)
    with tempfile.TemporaryDirectory(prefix="tinyrel-variant-") as scratch, hub_errors(state.lock.uri):
        got = download(ref.repo_id, "config.json", state.lock.revision, local_dir=Path(scratch), expected_size=size)
        return read_bytes_capped(got.path, MAX_CONFIG_BYTES)


def _lock(ctx: Any, state: VariantState, name: str, found: list[Finding]) -> None:
    """The variant's lock entry, and the same files as its manifest."""
    from tinyrel.release_files import is_release_metadata
    from tinyrel.signing.files import GIT_PATHS
    from tinyrel.sources.lock import read_lock

    try:
        state.lock = read_lock(ctx.ws.lock_path).get(name) if ctx.ws.lock_path.is_file() else None
    except TinyrelError:
        return  # the gate reports a malformed lock once, for the release
    if state.lock is None:
        found.append(Finding("variant/lock", "error", f"tinyrel.lock has no entry {name!r} pinning variant "
                             f"{state.variant.id}: run tinyrel lock", "tinyrel.lock"))  # fmt: skip
        return
    if state.manifest is None:
        return

    def files(rows):
        return {(f["path"], f["size"], f.get("sha256")) for f in rows
                if not is_release_metadata(f["path"]) and f["path"] not in GIT_PATHS}  # fmt: skip

    differ = sorted({p for p, _, _ in files(state.manifest["files"]) ^ files(state.lock.files)})
    if differ:
        found.append(Finding("variant/lock", "error", f"variant {state.variant.id}: its manifest and lock entry "
                             f"disagree on {', '.join(differ[:5])}", "tinyrel.lock"))  # fmt: skip


def _validate(local: Path, state: VariantState, found: list[Finding]) -> bool:
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(local, expected=state.manifest, progress=False)
    problems = [f for f in inspection.report.findings if f.severity != "info"]
    for f in problems:
        found.append(Finding("variant/weights", f.severity, f"variant {state.variant.id}: {f.code}: {f.message}",
                             f.path))  # fmt: skip
    return not any(f.severity == "error" for f in problems)


def _evidence(ctx: Any, parent: Any, state: VariantState, found: list[Finding]) -> None:
    """The variant's eval records, their spec scores and pins, and the per-item pairings."""
    from tinyrel.evidence.collect import file_digest

    spec_rel = ctx.rel(ctx.spec.path)
    pinned = {f["path"]: f for f in (ctx.lock.evidence if ctx.lock is not None else [])}
    reading = Report()
    by_id = {e.id: e for e in parent.evals}
    for veval in state.variant.evals:
        e = by_id[veval.id]
        ev = VariantEvidence(e, veval.tuned, veval.release_path(state.variant.id))
        parent_ev = ctx.evidence.get(e.id)
        records = read_records(ctx.ws.root, veval.records, reading) if veval.records else None
        if records is not None:
            ev.summary = summarize(records.scores)
            state.records.append((veval.records, ev.release_path))
            for side, other in (("parent", parent_ev.tuned_records if parent_ev else None),
                                ("stock", parent_ev.stock_records if parent_ev else None)):  # fmt: skip
                if other is None:
                    continue
                if set(other.scores) != set(records.scores):
                    found.append(Finding("variant/item-mismatch", "error", f"variant {state.variant.id}: {e.id}: its "
                                         f"records and the {side}'s cover different items; a paired claim needs the "
                                         "same items", veval.records))  # fmt: skip
                    continue
                setattr(ev, f"vs_{side}", paired(other.scores, records.scores))
                setattr(ev, side, summarize(other.scores))
            if abs(ev.summary.score - veval.tuned) > ROUNDING:
                found.append(Finding("variant/eval-evidence", "error", f"variant {state.variant.id}: {e.id}: the spec "
                                     f"says tuned {veval.tuned}, its records give {ev.summary.score:.4f} on "
                                     f"n={ev.summary.n}", spec_rel, veval.lines.get("tuned") or None))  # fmt: skip
            if veval.records not in pinned:
                found.append(Finding("variant/eval-evidence", "warning", f"variant {state.variant.id}: "
                                     f"{veval.records} is not pinned in the lock (tinyrel evals --lock)", spec_rel))
            elif file_digest(ctx.ws.root / veval.records) != {k: pinned[veval.records][k] for k in ("size", "sha256")}:
                found.append(Finding("variant/eval-evidence", "error", f"variant {state.variant.id}: {veval.records} "
                                     "changed since it was pinned in the lock", veval.records))  # fmt: skip
        else:
            found.append(Finding("variant/eval-evidence", "error" if ctx.spec.require_records else "warning",
                                 f"variant {state.variant.id}: {e.id}: no per-item records; its score cannot be "
                                 "recomputed", spec_rel, veval.lines.get("id") or None))  # fmt: skip
        state.evidence.append(ev)
    found.extend(reading.findings)


def _values(ctx: Any, parent: Any, state: VariantState, local: Path | None, found: list[Finding]) -> None:
    """The deep check, when both weights are on this machine and this run reads weights."""
    strict = ctx.require_weights or ctx.mode == "weights"
    parent_dir = local_weights_dir(parent.weights_source, ctx.ws.root)
    if ctx.offline:
        state.deep_skipped = "offline: no weight was read"
        ctx.skipped.add("variants")
        return
    if local is None or parent_dir is None:
        missing = "the variant's" if local is None else "the parent's"
        state.deep_skipped = f"{missing} weights are not on this machine"
        found.append(Finding("variant/not-checked", "error" if strict else "warning", f"variant {state.variant.id}: "
                             f"{state.deep_skipped}; its values were not compared with the parent's"))  # fmt: skip
        return
    try:
        state.deep = deep_check(parent_dir, local, state.comparison, f"variant {state.variant.id}")
    except OSError as exc:  # a file shorter than its manifest, unreadable, replaced by a special file
        state.deep_skipped = f"the weights could not be read ({exc.strerror or exc})"
        found.append(Finding("variant/not-checked", "error", f"variant {state.variant.id}: {state.deep_skipped}"))
        return
    found.extend(state.deep.findings)


def _check_one(ctx: Any, parent: Any, parent_manifest: dict[str, Any] | None, state: VariantState, full: bool,
               found: list[Finding]) -> None:  # fmt: skip
    """One variant: manifest, lock, records, then (``full``) its files, the comparison and the values."""
    variant = state.variant
    name = variant.entry(parent.name)
    state.manifest = _manifest(ctx, name, found)
    _lock(ctx, state, name, found)
    _evidence(ctx, parent, state, found)
    local = local_weights_dir(variant.source, ctx.ws.root)
    if state.manifest is None or parent_manifest is None:
        return
    if full and local is not None and not ctx.offline and not _validate(local, state, found):
        return
    config = _config(ctx, state, local, found)
    if config is None:
        state.deep_skipped = "its config.json is not on this machine"
        found.append(Finding("variant/not-checked", "warning", f"variant {variant.id}: config.json is not on this "
                             "machine: the variant was not compared with the parent"))  # fmt: skip
        return
    state.comparison = compare(parent_manifest, state.manifest, config, f"variant {variant.id}",
                               ctx.rel(ctx.ws.manifest_path(name)))  # fmt: skip
    found.extend(state.comparison.findings)
    if full and state.comparison.ok:
        _values(ctx, parent, state, local, found)
    elif not full:
        state.deep_skipped = "checked when it is published"


def variants_check(ctx: Any) -> list[Finding]:
    """The ``variants`` gate check (registered in ``tinyrel.policy.checks.CHECKS``).

    The gate of a variant's own release checks that variant in full; the others of the tree are read
    only as far as its card needs them (their manifests, comparisons and records), and their findings
    are left to the parent's gate, which checks every variant in full."""
    parent, own = tree(ctx)
    if not parent.variants:
        return []
    found: list[Finding] = []
    parent_manifest = ctx.manifest if ctx.spec.variant is None else _manifest(ctx, parent.name, found)
    states = []
    for variant in parent.variants:
        state = VariantState(variant)
        states.append(state)
        _check_one(ctx, parent, parent_manifest, state, variant in own, found if variant in own else [])
    ctx.variants["states"] = states
    return found


def variant_evals(ctx: Any) -> tuple[list[Finding], list[dict[str, Any]]]:
    """``tinyrel evals``: every variant's evals recomputed and paired (no weights read)."""
    parent, _ = tree(ctx)
    found: list[Finding] = []
    states = []
    for variant in parent.variants:
        state = VariantState(variant)
        _evidence(ctx, parent, state, found)
        states.append(state)
    return found, [{"id": s.variant.id, "evals": s.to_dict()["evals"]} for s in states]
