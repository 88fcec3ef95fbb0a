"""Create workspaces: for a real model directory, or the seed example with stand-in weights.

``init`` never destroys what it did not write: an existing spec, manifest or lock entry of the
same name is refused before anything is written; other releases' lock entries, an existing
CHANGELOG, ``.gitignore`` and card template are left byte-for-byte as they are.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from tinyrel.atomic import write_text_atomic
from tinyrel.card.render import DEFAULT_TEMPLATE
from tinyrel.findings import Report, TinyrelError
from tinyrel.policy.spec import is_slug
from tinyrel.sources.lock import lock_source, read_lock, update_lock
from tinyrel.sources.resolve import local_dir
from tinyrel.sources.uri import HUB, parse_source, portable_path
from tinyrel.weights import manifest as mf
from tinyrel.weights.validate import inspect_weights

SEED_SPEC = Path(__file__).parent / "seed.toml"
SEED_RECORDS = Path(__file__).parent / "evals"
WEIGHTS_COMMENT = "# Where the weights live today: a local Hugging Face cache on the lab's Mac (not on this machine)."
STAND_IN_NOTE = (
    "This example workspace carries a tiny Qwen3-architecture stand-in (2 layers, hidden size 64, "
    "written with mlx) in place of the real 7.5 GB specialist. Every number on this card is the real "
    "release's; the files and digests below are the stand-in's."
)
CHANGELOG = """# Changelog

All notable changes to this release are documented here (Keep a Changelog).

## [{version}]

### Added
- First release of {name}.
"""
GITIGNORE = """# tinyrel workspace: local outputs and leftovers of interrupted runs are not release sources
/dist/
.*.tinyrel.tmp
.*.tinyrel.staging
.*.tinyrel.old
"""


def _toml(value: Any) -> str:
    """One TOML value, escaped by tomli_w (never by hand)."""
    return tomli_w.dumps({"v": value})[len("v = ") :].strip()


def check_name(name: str) -> None:
    if not is_slug(name):
        raise TinyrelError(
            "usage/name", f"--name {name!r} must be a file-name-safe slug: [a-z0-9][a-z0-9._-]*", usage=True
        )


def _refuse_existing(dest: Path, name: str) -> None:
    """Everything ``init`` would create for ``name`` must be absent (nothing is overwritten)."""
    for path in (dest / "release" / f"{name}.toml", dest / "manifests" / f"{name}.json"):
        if path.exists() or path.is_symlink():
            raise TinyrelError("init/exists", "already exists; not overwriting", usage=True, path=str(path))
    lock = dest / "tinyrel.lock"
    if lock.exists() and read_lock(lock).get(name) is not None:
        raise TinyrelError("init/exists", f"already has an entry named {name!r}; not overwriting", usage=True,
                           path=str(lock))  # fmt: skip


def write_workspace(dest: Path, name: str, version: str, source_uri: str, spec_text: str, report: Report) -> None:
    """Spec, lock entry, manifest, CHANGELOG, .gitignore and card template (weights must exist).

    Eval records the spec names (and that exist) are pinned in the lock entry too.
    """
    from tinyrel.evidence.collect import file_digest

    source, lock_report = lock_source(source_uri, name, base=dest)
    doc = tomllib.loads(spec_text)
    records = sorted({p for e in doc.get("evals", []) for p in (e.get("records"), e.get("stock_records")) if p})
    source.evidence = [{"path": p, **file_digest(dest / p)} for p in records if (dest / p).is_file()]
    report.extend(lock_report)
    weights_dir = local_dir(parse_source(source_uri, dest))[0]
    inspection = inspect_weights(weights_dir, build_manifest=True, progress=False)
    report.extend(inspection.report)
    if inspection.manifest is None or not lock_report.ok:
        raise TinyrelError("init/invalid-weights", "the weights did not validate; nothing was written",
                           path=source_uri)  # fmt: skip
    write_text_atomic(dest / "release" / f"{name}.toml", spec_text)
    mf.write(inspection.manifest, dest / "manifests" / f"{name}.json")
    update_lock(dest / "tinyrel.lock", source, replace=False)
    changelog = dest / "CHANGELOG.md"
    if not changelog.exists():
        write_text_atomic(changelog, CHANGELOG.format(version=version, name=name))
    gitignore = dest / ".gitignore"
    if not gitignore.exists():
        ignored = GITIGNORE
        if weights_dir.resolve().is_relative_to(dest.resolve()) and weights_dir.resolve() != dest.resolve():
            ignored += f"# the weights themselves (gigabytes) stay out of git; the lock pins them\n/{source_uri}/\n"
        write_text_atomic(gitignore, ignored)
    template = dest / "templates" / "card.md.j2"
    if not template.exists():
        write_text_atomic(template, DEFAULT_TEMPLATE.read_text(encoding="utf-8"))


def _set_value(text: str, key: str, value: str, after: str | None = None) -> str:
    """Set the single-line ``key = …`` (or add it after the ``after`` key), keeping every comment."""
    line = f"{key} = {_toml(value)}"
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    if pattern.search(text):
        return pattern.sub(lambda _m: line, text, count=1)
    anchor = re.compile(rf"^{re.escape(after or '')} = .*$", re.M)
    return anchor.sub(lambda m: m.group(0) + "\n" + line, text, count=1)


def init_example(dest: Path) -> Report:
    """The seed's spec (comments kept) with small stand-in weights in a workspace-local cache."""
    from tinyrel.scaffold.standin import place_in_cache, write_standin

    seed = SEED_SPEC.read_text(encoding="utf-8")
    spec = tomllib.loads(seed)
    name, repo_id = spec["release"]["name"], spec["distribution"]["repo_id"]
    _refuse_existing(dest, name)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".standin-", dir=dest))
    try:
        snapshot = place_in_cache(write_standin(staging / "model"), dest / "hf-cache", repo_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for records in sorted(SEED_RECORDS.glob("*.jsonl")):  # stand-in records that reproduce the seed's numbers
        target = dest / "evals" / records.name
        if not target.exists():
            write_text_atomic(target, records.read_text(encoding="utf-8"))
    source = snapshot.relative_to(dest).as_posix()
    text = seed.replace(WEIGHTS_COMMENT, "# The example's stand-in weights, in a Hugging Face cache in this workspace.")
    text = _set_value(text, "stand_in", STAND_IN_NOTE, after="pipeline_tag")
    text = _set_value(text, "source", source)
    text = _set_value(text, "artifact_size", "7.5 GB (the real release; the stand-in is a few hundred KB)")
    report = Report()
    write_workspace(dest, name, spec["release"]["version"], source, text, report)
    report.data.update({"release": name, "workspace": str(dest)})
    return report


SCAFFOLD = """\
# Release spec for {name} (tinyrel.release/1).
# Replace every placeholder below: `tinyrel check` names each one (key and line) until it is gone.
schema = "tinyrel.release/1"

[release]
name = {name_v}
version = "0.1.0"
base_model = {base_v}
license = "apache-2.0"
pipeline_tag = "text-generation"
domain = "the domain this model was tuned for"
summary = {summary_v}

[weights]
source = {source_v}
# artifact_size = "7.5 GB MLX safetensors directory"

[distribution]
mode = "undecided"              # undecided | metadata | weights
repo_id = {repo_v}

[routing]
routed_only = true
domain = "the domain this model was tuned for"
router_guidance = "Describe which requests a router should send to this model."
not_for = ["requests outside the tuned domain"]

# One [[evals]] table per eval; the card's numbers come only from here. Breadth evals
# (kind = "breadth", with a stock score) make the negative-transfer table.
# [[evals]]
# id = "domain-gate"
# name = "Domain hard gate"
# kind = "in-domain"            # in-domain | heldout | breadth
# stock = 0.58                  # fractions between 0 and 1
# tuned = 1.00
# dataset = "What the eval is and where it comes from."
# dataset_id = "org/dataset"    # optional: a Hub dataset id for the model-index
# readout = "Domain win"

# Competitive context: direct rows share this eval setup; directional rows are market context.
# [[context]]
# system = "Stock base model"
# metric = "same domain hard gate"
# score = "58%"
# size = "4B"
# comparability = "direct"      # direct | directional
# readout = "Before/after on the same gate."

[[blockers]]
id = "weight-distribution"
title = "Weight distribution undecided"
why = "The package lock points to a local path, not a public artifact host."
unblock = "Publish metadata-only or a durable hosted weight release."
checks = ["weight-distribution"]

[[blockers]]
id = "honest-card"
title = "Card claims"
why = "Public copy must match the eval data and the routing decision."
unblock = "Keep the card routed-only, with the negative-transfer table and labelled context rows."
checks = ["routed-only-copy", "negative-transfer-table", "claims-comparability"]
"""


def init_real(weights: str, name: str, base_model: str, dest: Path) -> Report:
    """A starting spec for a real model: fill in summary, routing, evals and blockers, then check.

    ``weights`` is a directory, a cache snapshot path or ``hf-cache://ORG/NAME[@REV]``.
    """
    check_name(name)
    ref = parse_source(weights, Path.cwd())
    if ref.kind == HUB:
        raise TinyrelError("usage/init-source", "init needs the weights on this machine: download them first "
                           "(hf download ORG/NAME) and pass hf-cache://ORG/NAME", usage=True)  # fmt: skip
    if not local_dir(ref)[0].is_dir():
        raise TinyrelError("path/not-found", "no weights directory here", usage=True, path=weights)
    _refuse_existing(dest, name)
    dest.mkdir(parents=True, exist_ok=True)
    source = weights if ref.path is None else portable_path(ref.path, dest)
    text = SCAFFOLD.format(
        name=name,
        name_v=_toml(name),
        base_v=_toml(base_model),
        summary_v=_toml(f"{name}: a fine-tune of {base_model}."),
        source_v=_toml(source),
        repo_v=_toml(f"ORG/{name}"),
    )
    report = Report()
    write_workspace(dest, name, "0.1.0", source, text, report)
    report.data.update({"release": name, "workspace": str(dest)})
    return report
