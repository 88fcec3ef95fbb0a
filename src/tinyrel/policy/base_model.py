"""The ``base-model`` gate check: the base is pinned by commit and the weights are shaped like it.

1. **The pin** (``tinyrel.policy.base_pin``): the lock's ``<release>.base`` entry must name a Hub
   commit (``base/unpinned`` otherwise: an error for an adapter, which is unusable without its base,
   a warning for a fine-tune, whose weights stand alone).  Online, the Hub is asked, as for the
   weights' own pin: the commit exists in that repo and holds every pinned file with its size and
   SHA-256 (metadata; small files are fetched), else ``base/pin-refuted``; the repo is public or
   the spec allows a restricted base (``base/not-public``).  The lock is outside input: a
   hand-edited pin must not reach the card.
2. **The shape** (``tinyrel.weights.base_compat``): the release's manifest against the base's
   safetensors headers — read by HTTP range reads at the pinned commit
   (``tinyrel.hub.safetensors_headers``) or from the pinned local directory — and its
   ``config.json`` (fetched, and checked against its pin).  No base weight is downloaded.

Offline nothing is asked and nothing read: the check is "not checked", and the card says what the
lock records (a commit "not confirmed by this run"), or that the pin is unresolved.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tinyrel.findings import Finding, Report, TinyrelError, first_line
from tinyrel.policy.base_pin import BaseFacts, entry_name, pinned_commit, read_pin
from tinyrel.sources.resolve import LockedSource
from tinyrel.weights.base_compat import Tensors, compare_with_base, manifest_tensors

CHECK = "base-model"
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def base_model(ctx: Any) -> list[Finding]:
    """The check (``ctx``: ``tinyrel.policy.checks.GateContext``); sets ``ctx.base`` for the card."""
    spec = ctx.spec
    ctx.base = None
    if spec.base is None:
        ctx.skipped.add(CHECK)
        return []
    facts = BaseFacts(spec.base, spec.base_model, read_pin(ctx.ws.lock_path, spec.name))
    ctx.base = facts
    repo, commit = pinned_commit(facts.entry)
    if facts.entry is not None:
        facts.pin = "unconfirmed" if commit else "local"
    if ctx.offline:
        ctx.skipped.add(CHECK)
        return []
    strict = "error" if spec.base.relation == "adapter" else "warning"
    need = " (an adapter is unusable without its base)" if strict == "error" else ""
    spec_rel, line = ctx.rel(spec.path), spec.base.line
    found: list[Finding] = []
    if facts.entry is None:
        ctx.skipped.add(CHECK)
        return [Finding("base/unpinned", strict, f"no pin of the base {spec.base.source} (entry "
                        f"{entry_name(spec.name)}){need}: run tinyrel lock --base, which resolves it to a commit",
                        "tinyrel.lock")]  # fmt: skip
    if commit is None:
        found.append(Finding("base/unpinned", strict, f"the base is pinned from a directory ({facts.entry.uri}), not "
                             f"at a commit on the Hub: a consumer cannot fetch it{need}; point [base] source at "
                             "hf://ORG/NAME@REV and run tinyrel lock --base", spec_rel, line))  # fmt: skip
    else:
        found += _confirm(facts, repo, commit)
        if facts.pin == "refuted":
            ctx.skipped.add(CHECK)
            return found
        if not facts.public and not spec.base.allow_restricted:
            found.append(Finding("base/not-public", "error", f"hf://{repo} is private or gated: its consumers may not "
                                 "be able to fetch it; set allow_restricted = true in [base] if that is meant",
                                 spec_rel, line))  # fmt: skip
    found += _shape(ctx, facts, repo, commit, strict)
    return found


def _shape(ctx: Any, facts: BaseFacts, repo: str | None, commit: str | None, strict: str) -> list[Finding]:
    """The release's tensors and architecture against the base's (errors name tensors or modules)."""
    manifest = ctx.manifest
    if manifest is None:
        ctx.skipped.add(CHECK)
        return [Finding("base/not-compared", strict, "no manifest: the weights were not compared with the base "
                        "(tinyrel manifest)", ctx.rel(ctx.ws.manifest_path(ctx.spec.name)))]  # fmt: skip
    is_adapter = isinstance(manifest.get("model"), dict) and "adapter" in manifest["model"]
    if is_adapter != (facts.relation == "adapter"):
        what = "an mlx-lm adapter" if is_adapter else "a model directory"
        return [Finding("base/relation", "error", f"the manifest describes {what}, but [base] relation is "
                        f"{facts.relation!r}", ctx.rel(ctx.spec.path), facts.spec.line)]  # fmt: skip
    reading = Report()
    try:
        base, config = _base_tables(ctx, facts.entry, repo, commit, reading)
    except TinyrelError as exc:
        ctx.skipped.add(CHECK)
        return [Finding("base/unreachable", strict, f"the base's headers could not be read ({exc.code}: "
                        f"{exc.message})", "tinyrel.lock")]  # fmt: skip
    found = [f if f.code.startswith("base/") else Finding("base/unreadable", "error", f"{f.code}: {f.message}", f.path)
             for f in reading.errors]  # fmt: skip
    if found or base is None:
        ctx.skipped.add(CHECK)
        return found
    from tinyrel.weights.base_compat import base_layer_count

    facts.layers = base_layer_count(base, config)
    report = Report()
    compare_with_base(facts.relation, manifest_tensors(manifest), manifest.get("model") or {}, base, config, report,
                      ctx.rel(ctx.ws.manifest_path(ctx.spec.name)))  # fmt: skip
    return report.findings


def _confirm(facts: BaseFacts, repo: str | None, commit: str) -> list[Finding]:
    """Ask the Hub about the pinned commit: every pinned file there with its size and SHA-256."""
    from tinyrel.sources.resolve import resolve_hub
    from tinyrel.sources.uri import hub_ref

    assert facts.entry is not None
    where = f"hf://{repo}@{commit}"
    found = Report()
    try:
        hub = resolve_hub(hub_ref(where), facts.entry.name, found)
    except TinyrelError as exc:
        facts.pin = "refuted" if exc.code in ("hub/not-found", "hub/revision-not-found") else facts.pin
        code = "base/pin-refuted" if facts.pin == "refuted" else "base/unreachable"
        return [Finding(code, "error", f"the lock pins the base at {where}, which could not be confirmed with the Hub "
                        f"({exc.code}: {exc.message})", "tinyrel.lock")]  # fmt: skip
    problems = [f"{f.path or where}: {f.code}: {f.message}" for f in found.errors]
    if hub.revision != commit:
        problems.append(f"the Hub resolved it to commit {hub.revision}")
    got = {f["path"]: f for f in hub.files}
    for pinned in sorted(facts.entry.files, key=lambda f: f["path"]):
        there = got.get(pinned["path"])
        if there is None:
            problems.append(f"{pinned['path']}: not in the commit")
        elif (there["size"], there["sha256"]) != (pinned["size"], pinned["sha256"]):
            problems.append(f"{pinned['path']}: {there['size']} bytes, sha256 {there['sha256'][:12]}… on the Hub; "
                            f"{pinned['size']} bytes, sha256 {pinned['sha256'][:12]}… pinned")  # fmt: skip
    if problems:
        facts.pin = "refuted"
        return [Finding("base/pin-refuted", "error", f"the lock pins the base at {where}, but {problem}",
                        "tinyrel.lock") for problem in problems[:8]]  # fmt: skip
    facts.pin, facts.public = "confirmed", hub.public
    return []


def _base_tables(ctx: Any, entry: LockedSource | None, repo: str | None, commit: str | None,
                 reading: Report) -> tuple[Tensors | None, dict[str, Any] | None]:  # fmt: skip
    """The base's tensor table and ``config.json``: over the Hub for an ``hf://`` pin, else from the
    pinned directory (a cache snapshot or a directory), each file held to its pinned size."""
    from tinyrel.sources.uri import HUB

    assert entry is not None
    pinned = {f["path"]: f for f in entry.files}
    shards = sorted(p for p in pinned if p.endswith(".safetensors"))
    if not shards:
        reading.error("base/no-safetensors", "the base pin holds no *.safetensors file", "tinyrel.lock")
        return None, None
    headers = []
    if entry.kind == HUB and repo and commit:
        from tinyrel.hub.errors import hub_errors
        from tinyrel.hub.safetensors_headers import read_remote_header

        with hub_errors(f"hf://{repo}@{commit}"):
            headers = [read_remote_header(repo, rel, commit, pinned[rel]["size"], reading) for rel in shards]
            config = _hub_config(repo, commit, pinned.get("config.json"), reading)
    else:
        root = _local_root(ctx, entry)
        headers = [_local_header(root, rel, pinned[rel]["size"], reading) for rel in shards]
        config = _local_config(root, pinned.get("config.json"), reading)
    tensors: Tensors = {}
    for header in headers:
        for t in header.tensors if header is not None else []:
            tensors.setdefault(t.name, (t.dtype, t.shape))
    return (tensors if reading.ok else None), config


def _local_root(ctx: Any, entry: LockedSource) -> Path:
    from tinyrel.sources.resolve import local_dir
    from tinyrel.sources.uri import parse_source

    repo, commit = pinned_commit(entry)
    uri = f"hf-cache://{repo}@{commit}" if repo and commit else entry.uri  # the pinned snapshot, not today's main
    root = local_dir(parse_source(uri, base=ctx.ws.root))[0]
    if not root.is_dir():
        raise TinyrelError("base/not-here", f"the pinned base directory {entry.uri} is not on this machine")
    return root


def _local_header(root: Path, rel: str, size: int, reading: Report):
    from tinyrel.weights.safetensors_format import read_header

    path = root / rel
    if not path.is_file() or path.stat().st_size != size:
        reading.error("base/changed", f"{rel}: not the pinned file ({size:,} bytes pinned); re-pin with tinyrel lock "
                      "--base", rel)  # fmt: skip
        return None
    return read_header(path, rel, reading)


def _checked_config(data: bytes, pin: dict[str, Any], reading: Report) -> dict[str, Any] | None:
    """``config.json``'s bytes, if they are the pinned ones, as a sane config."""
    from tinyrel.weights.config import config_problems

    if hashlib.sha256(data).hexdigest() != pin["sha256"]:
        reading.error("base/changed", "config.json: not the pinned bytes (SHA-256 differs)", "config.json")
        return None
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as exc:
        reading.error("base/config-invalid", f"config.json does not parse: {first_line(exc)}", "config.json")
        return None
    if not isinstance(config, dict) or config_problems(config):
        reading.error("base/config-invalid", "config.json is not a usable model config", "config.json")
        return None
    return config


def _local_config(root: Path, pin: dict[str, Any] | None, reading: Report) -> dict[str, Any] | None:
    from tinyrel.safe_io import read_bytes_capped

    if pin is None:
        return None
    try:
        data = read_bytes_capped(root / "config.json", MAX_CONFIG_BYTES)
    except (OSError, TinyrelError) as exc:
        reading.error("base/changed", f"config.json: {getattr(exc, 'message', None) or first_line(exc)}", "config.json")
        return None
    return _checked_config(data, pin, reading)


def _hub_config(repo: str, commit: str, pin: dict[str, Any] | None, reading: Report) -> dict[str, Any] | None:
    """The base's ``config.json`` at the commit, fetched into a private scratch directory (bounded by
    its pinned size) and checked against its pinned SHA-256."""
    import tempfile

    from tinyrel.hub.client import download
    from tinyrel.safe_io import read_bytes_capped

    if pin is None or pin["size"] > MAX_CONFIG_BYTES:
        return None
    with tempfile.TemporaryDirectory(prefix="tinyrel-base-") as scratch:
        got = download(repo, "config.json", commit, local_dir=Path(scratch), expected_size=pin["size"])
        data = read_bytes_capped(got.path, MAX_CONFIG_BYTES)
    return _checked_config(data, pin, reading)


def passed(ctx: Any) -> str:
    """What is true when the check passes, for the card."""
    facts = ctx.base
    if facts is None:
        return "the spec declares no base"
    where = facts.pinned_uri or "the base directory pinned in tinyrel.lock"
    if facts.relation == "adapter":
        return (f"every module the adapter adapts exists in {where} with the input and output dimensions its lora_a "
                f"and lora_b need, within the last num_layers of the base's {facts.layers} layers")  # fmt: skip
    if facts.relation == "quantized":
        return f"the weights dequantize to the tensor shapes of {where}, with its architecture in config.json"
    return (f"the weights have the tensor names, shapes and dtypes of {where} and its architecture in config.json, as "
            "the base's safetensors headers state")  # fmt: skip
