"""Create workspaces: for a real model directory, or the seed example with stand-in weights.

``init`` never destroys what it did not write: an existing spec, manifest or lock entry of the
same name is refused before anything is written; other releases' lock entries, an existing
CHANGELOG, ``.gitignore`` and card template are left byte-for-byte as they are; a failed or
interrupted run removes what it created (``tinyrel.scaffold.undo``).  ``init --example`` writes a
whole workspace, so its directory must be absent or empty.
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
from tinyrel.scaffold.license import LICENSE_PLACEHOLDER, base_license
from tinyrel.scaffold.undo import Undo, undo_on_failure
from tinyrel.sources.lock import lock_source, read_lock, update_lock
from tinyrel.sources.resolve import local_dir
from tinyrel.sources.uri import HUB, cache_uri, parse_source, portable_path
from tinyrel.weights import manifest as mf
from tinyrel.weights.validate import inspect_weights
from tinyrel.workspace.spec import is_slug

SEED_SPEC = Path(__file__).parent / "seed.toml"
SEED_RECORDS = Path(__file__).parent / "evals"
WEIGHTS_COMMENT = "# Where the weights live today: a local Hugging Face cache on the lab's Mac (not on this machine)."
EXAMPLE_WEIGHTS_COMMENT = "# The example's stand-in weights, in a Hugging Face cache in this workspace."
STAND_IN_NOTE = (
    "This example workspace carries a tiny Qwen3-architecture stand-in (2 layers, hidden size 64, "
    "written with mlx) in place of the real 7.5 GB specialist. Every number on this card is the real "
    "release's, except the 4bit variant's: that variant is the stand-in's own conversion (mlx's quantize) and "
    "its eval records are made up for the example. The files and digests below are the stand-in's."
)
STAND_IN_NOTE_ALONE = (  # the example without its variant (init_example(variants=False))
    "This example workspace carries a tiny Qwen3-architecture stand-in (2 layers, hidden size 64, "
    "written with mlx) in place of the real 7.5 GB specialist. Every number on this card is the real "
    "release's; the files and digests below are the stand-in's."
)
# The example's quantized variant: the stand-in converted with mlx's own quantization (standin.py).
EXAMPLE_VARIANT_DIR = "weights-4bit"
EXAMPLE_VARIANT = """
# A 4-bit conversion of the weights (as mlx_lm.convert -q writes one), released as its own repo
# (ORG/NAME-4bit) beside them; tinyrel compares it with these weights tensor by tensor.
[[variants]]
id = "4bit"
source = {source}

[[variants.evals]]
id = "fileops-hard"
tuned = 0.98
records = "evals/fileops-hard.4bit.jsonl"         # the same 50 items: paired with the bf16 records

[[variants.evals]]
id = "breadth"
tuned = 0.418
records = "evals/breadth.4bit.jsonl"
"""
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


def write_workspace(
    dest: Path, name: str, version: str, source_uri: str, spec_text: str, report: Report, undo: Undo
) -> None:
    """Spec, lock entry, manifest, CHANGELOG, .gitignore and card template (weights must exist).

    Everything is checked before the first byte is written; every path is registered with ``undo``
    first, so a failure or Ctrl-C half-way leaves the directory as it was.  Eval records the spec
    names (and that exist) are pinned in the lock entry too.
    """
    from tinyrel.evidence.collect import file_digest

    source, lock_report = lock_source(source_uri, name, base=dest)
    doc = tomllib.loads(spec_text)
    source.evidence = [{"path": p, **file_digest(dest / p)} for p in _records(doc) if (dest / p).is_file()]
    report.extend(lock_report)
    weights_dir = local_dir(parse_source(source_uri, dest))[0]
    inspection = inspect_weights(weights_dir, build_manifest=True)  # a bar on a terminal
    report.extend(inspection.report)
    if inspection.manifest is None or not lock_report.ok:
        raise TinyrelError("init/invalid-weights", f"the weights did not validate ({first_errors(report)}); "
                           "nothing was written", path=source_uri)  # fmt: skip
    targets = [dest / "release" / f"{name}.toml", dest / "manifests" / f"{name}.json", dest / "tinyrel.lock"]
    for path in targets:
        undo.file(path)
    write_text_atomic(targets[0], spec_text)
    mf.write(inspection.manifest, targets[1])
    update_lock(targets[2], source, replace=False)
    changelog = dest / "CHANGELOG.md"
    if not changelog.exists():
        undo.file(changelog)
        write_text_atomic(changelog, CHANGELOG.format(version=version, name=name))
    gitignore = dest / ".gitignore"
    if not gitignore.exists():
        ignored = GITIGNORE
        if weights_dir.resolve().is_relative_to(dest.resolve()) and weights_dir.resolve() != dest.resolve():
            ignored += f"# the weights themselves (gigabytes) stay out of git; the lock pins them\n/{source_uri}/\n"
        undo.file(gitignore)
        write_text_atomic(gitignore, ignored)
    template = dest / "templates" / "card.md.j2"
    if not template.exists():
        undo.file(template)
        write_text_atomic(template, DEFAULT_TEMPLATE.read_text(encoding="utf-8"))


def _records(doc: dict[str, Any]) -> list[str]:
    """Every records file the spec names, its variants' included: each release of the tree ships them all."""
    named = {p for e in doc.get("evals", []) for p in (e.get("records"), e.get("stock_records")) if p}
    named |= {e["records"] for v in doc.get("variants", []) for e in v.get("evals", []) if e.get("records")}
    return sorted(named)


def write_variants(dest: Path, name: str, spec_text: str, report: Report, undo: Undo) -> None:
    """Each ``[[variants]]`` of the spec: its manifest and its lock entry ``<name>.<id>`` (records pinned)."""
    from tinyrel.evidence.collect import file_digest

    doc = tomllib.loads(spec_text)
    for variant in doc.get("variants", []):
        entry_name = f"{name}.{variant['id']}"
        entry, lock_report = lock_source(variant["source"], entry_name, base=dest)
        entry.evidence = [{"path": p, **file_digest(dest / p)} for p in _records(doc) if (dest / p).is_file()]
        inspection = inspect_weights(local_dir(parse_source(variant["source"], dest))[0], build_manifest=True,
                                     progress=False)  # fmt: skip
        report.extend(lock_report)
        report.extend(inspection.report)
        if inspection.manifest is None or not lock_report.ok:
            raise TinyrelError("init/invalid-weights", f"variant {variant['id']} did not validate "
                               f"({first_errors(report)}); nothing was written", path=variant["source"])  # fmt: skip
        manifest = dest / "manifests" / f"{entry_name}.json"
        undo.file(manifest)
        mf.write(inspection.manifest, manifest)
        update_lock(dest / "tinyrel.lock", entry, replace=False)


def first_errors(report: Report, limit: int = 3) -> str:
    """The first errors of ``report`` as one line: what a user needs to see to fix the weights."""
    errors = report.errors
    shown = "; ".join(f"{f.code}: {f.path + ': ' if f.path else ''}{f.message}" for f in errors[:limit])
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return f"{len(errors)} error{'s' if len(errors) != 1 else ''}: {shown}{more}"


def _set_value(text: str, key: str, value: str, after: str | None = None) -> str:
    """Set the single-line ``key = …`` (or add it after the ``after`` key), keeping every comment."""
    line = f"{key} = {_toml(value)}"
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    if pattern.search(text):
        return pattern.sub(lambda _m: line, text, count=1)
    anchor = re.compile(rf"^{re.escape(after or '')} = .*$", re.M)
    return anchor.sub(lambda m: m.group(0) + "\n" + line, text, count=1)


def _refuse_non_empty(dest: Path) -> None:
    """The example is a whole workspace of its own: it goes into an absent or empty directory only."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise TinyrelError("init/not-empty", "is not a directory; init --example needs an absent or empty one",
                           usage=True, path=str(dest))  # fmt: skip
    if dest.is_dir() and any(dest.iterdir()):
        raise TinyrelError("init/not-empty", "is not empty; init --example writes a whole workspace and needs an "
                           "absent or empty directory (init WEIGHTS --dir adds a release to a workspace)",
                           usage=True, path=str(dest))  # fmt: skip


def init_example(dest: Path, *, variants: bool = True) -> Report:
    """The seed's spec (comments kept) with small stand-in weights in a workspace-local cache, and
    (``variants``) a 4-bit variant of them, released beside them."""
    from tinyrel.scaffold.standin import place_in_cache, write_standin, write_standin_variant

    seed = SEED_SPEC.read_text(encoding="utf-8")
    spec = tomllib.loads(seed)
    name, repo_id = spec["release"]["name"], spec["distribution"]["repo_id"]
    _refuse_non_empty(dest)
    report = Report()
    with undo_on_failure() as undo:
        undo.directory(dest)
        dest.mkdir(parents=True, exist_ok=True)
        undo.tree(dest / "hf-cache")
        staging = Path(tempfile.mkdtemp(prefix=".standin-", dir=dest))
        try:
            snapshot = place_in_cache(write_standin(staging / "model"), dest / "hf-cache", repo_id)
            if variants:  # where mlx_lm.convert --mlx-path weights-4bit -q would write it
                undo.tree(dest / EXAMPLE_VARIANT_DIR)
                write_standin_variant(snapshot, dest / EXAMPLE_VARIANT_DIR)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for records in sorted(SEED_RECORDS.glob("*.jsonl")):  # stand-in records that reproduce the seed's numbers
            if not variants and records.name.endswith(".4bit.jsonl"):
                continue
            target = dest / "evals" / records.name
            undo.file(target)
            write_text_atomic(target, records.read_text(encoding="utf-8"))
        source = snapshot.relative_to(dest).as_posix()
        text = seed.replace(WEIGHTS_COMMENT, EXAMPLE_WEIGHTS_COMMENT)
        text = _set_value(text, "stand_in", STAND_IN_NOTE if variants else STAND_IN_NOTE_ALONE, after="pipeline_tag")
        text = _set_value(text, "source", source)
        text = _set_value(text, "artifact_size", "7.5 GB (the real release; the stand-in is a few hundred KB)")
        if variants:
            text += EXAMPLE_VARIANT.format(source=_toml(EXAMPLE_VARIANT_DIR))
        write_workspace(dest, name, spec["release"]["version"], source, text, report, undo)
        write_variants(dest, name, text, report, undo)
        if variants:  # the example's new .gitignore: the variant's weights stay out of git like the release's
            gitignore = dest / ".gitignore"
            write_text_atomic(gitignore, gitignore.read_text(encoding="utf-8") + f"/{EXAMPLE_VARIANT_DIR}/\n")
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
license = {license_v}{license_comment}
pipeline_tag = "text-generation"
domain = "the domain this model was tuned for"
summary = {summary_v}

[weights]
source = {source_v}{kind_line}
# artifact_size = "7.5 GB MLX safetensors directory"

{base_table}
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

# Quantized conversions (mlx_lm.convert -q), each released as its own repo (ORG/NAME-<id>) and checked
# against these weights: tinyrel manifest DIR -o manifests/{name}.<id>.json, then tinyrel lock.
# [[variants]]
# id = "4bit"
# source = "path/to/the/4bit/directory"
# [[variants.evals]]            # optional: the same eval's items, run on the variant
# id = "domain-gate"
# tuned = 0.98
# records = "evals/domain-gate.4bit.jsonl"

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

    ``weights`` is a directory, a cache snapshot path or ``hf-cache://ORG/NAME[@REV]`` — a model, or
    an mlx-lm adapter directory (``kind = "adapter"``).  ``base_model`` is the base's Hub id, or a
    source that is pinned now (``tinyrel.policy.base_pin.base_argument``).
    """
    from tinyrel.policy.base_pin import base_argument, entry_name, resolve_pin
    from tinyrel.weights.adapter import is_adapter_dir
    from tinyrel.workspace.spec_base import BaseSpec, scaffold_base_table

    check_name(name)
    ref = parse_source(weights, Path.cwd())
    if ref.kind == HUB:
        raise TinyrelError("usage/init-source", "init needs the weights on this machine: download them first "
                           "(hf download ORG/NAME) and pass hf-cache://ORG/NAME", usage=True)  # fmt: skip
    weights_dir = local_dir(ref)[0]
    if not weights_dir.is_dir():
        raise TinyrelError("path/not-found", "no weights directory here", usage=True, path=weights)
    _refuse_existing(dest, name)
    if (dest / "tinyrel.lock").exists() and read_lock(dest / "tinyrel.lock").get(entry_name(name)) is not None:
        raise TinyrelError("init/exists", f"already has an entry named {entry_name(name)!r}; not overwriting",
                           usage=True, path=str(dest / "tinyrel.lock"))  # fmt: skip
    adapter = is_adapter_dir(weights_dir)
    base = base_argument(base_model, dest)
    relation = "adapter" if adapter else "finetune"
    base_pin = None
    if base.pin_now or adapter:  # an adapter is unusable without its base: pinned now, never later
        base_pin, pinned = resolve_pin(BaseSpec(base.source, relation), name, dest)
        if not pinned.ok:
            raise TinyrelError("init/base-unresolved", f"the base did not resolve ({first_errors(pinned)}); nothing "
                               "was written", path=base_model)  # fmt: skip
    base_model = base.repo_id or "ORG/base-model"
    source = weights if ref.path is None else cache_uri(ref.path) or portable_path(ref.path, dest)
    found = base_license(weights_dir, base_model)
    text = SCAFFOLD.format(
        name=name,
        name_v=_toml(name),
        base_v=_toml(base_model),
        license_v=_toml(found.license or LICENSE_PLACEHOLDER),
        license_comment=f"  # read from {found.where}" if found.license else "  # not found: replace it",
        summary_v=_toml(f"{name}: {'a LoRA adapter for' if adapter else 'a fine-tune of'} {base_model}."),
        source_v=_toml(source),
        kind_line='\nkind = "adapter"  # an mlx-lm adapter (LoRA/DoRA), loaded onto its [base]' if adapter else "",
        base_table=scaffold_base_table(base.source, relation),
        repo_v=_toml(f"ORG/{name}"),
    )
    report = Report()
    with undo_on_failure() as undo:
        undo.directory(dest)
        dest.mkdir(parents=True, exist_ok=True)
        write_workspace(dest, name, "0.1.0", source, text, report, undo)
        if base_pin is not None:
            update_lock(dest / "tinyrel.lock", base_pin, replace=False)
    if base_pin is not None:
        report.info("init/base", f"base {base.source} pinned as {base_pin.name}: {len(base_pin.files)} files"
                    + (f" at commit {base_pin.revision}" if base_pin.revision else ""), "tinyrel.lock")  # fmt: skip
    else:
        report.info("init/base-unpinned", f"the spec names the base {base.source}; pin it by commit with tinyrel "
                    "lock --base (it asks the Hub)", f"release/{name}.toml")  # fmt: skip
    spec_rel = f"release/{name}.toml"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("license = "))
    if found.license:
        report.info("init/license", f"license {found.license!r} read from {found.where}; check it", spec_rel, line)
    else:
        report.warning("init/license", f"no license found in {found.where}: the spec holds a placeholder; put the "
                       "base model's license there", spec_rel, line)  # fmt: skip
    report.data.update({"release": name, "workspace": str(dest)})
    return report
