"""Create workspaces: for a real model directory, or the seed example with stand-in weights."""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from tinyrel.atomic import write_text_atomic
from tinyrel.card.render import DEFAULT_TEMPLATE
from tinyrel.findings import Report, TinyrelError
from tinyrel.sources.lock import Lock, lock_source, write_lock
from tinyrel.weights import manifest as mf
from tinyrel.weights.validate import inspect_weights

SEED_SPEC = Path(__file__).parent / "seed.toml"
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


def _refuse_existing(dest: Path, name: str) -> None:
    if (dest / "release" / f"{name}.toml").exists():
        raise TinyrelError("init/exists", f"{dest}/release/{name}.toml already exists; not overwriting", usage=True)


def write_workspace(dest: Path, spec: dict[str, Any], report: Report) -> None:
    """Spec, lock, manifest, CHANGELOG entry and card template for ``spec`` (weights must exist)."""
    name, version = spec["release"]["name"], spec["release"]["version"]
    source, lock_report = lock_source(spec["weights"]["source"], name, base=dest)
    report.extend(lock_report)
    inspection = inspect_weights(Path(source.path or ""), build_manifest=True, progress=False)
    report.extend(inspection.report)
    if inspection.manifest is None:
        raise TinyrelError("init/invalid-weights", f"{source.path} did not validate; nothing was written")
    write_text_atomic(dest / "release" / f"{name}.toml", tomli_w.dumps(spec))
    mf.write(inspection.manifest, dest / "manifests" / f"{name}.json")
    write_lock(dest / "tinyrel.lock", Lock([source]))
    changelog = dest / "CHANGELOG.md"
    if not changelog.exists():
        write_text_atomic(changelog, CHANGELOG.format(version=version, name=name))
    template = dest / "templates" / "card.md.j2"
    if not template.exists():
        template.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEFAULT_TEMPLATE, template)


def init_example(dest: Path) -> Report:
    """The seed's spec with small stand-in weights in a workspace-local Hugging Face cache."""
    from tinyrel.scaffold.standin import place_in_cache, write_standin

    spec = tomllib.loads(SEED_SPEC.read_text(encoding="utf-8"))
    name, repo_id = spec["release"]["name"], spec["distribution"]["repo_id"]
    _refuse_existing(dest, name)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".standin-", dir=dest))
    snapshot = place_in_cache(write_standin(staging / "model"), dest / "hf-cache", repo_id)
    shutil.rmtree(staging, ignore_errors=True)
    spec["release"]["stand_in"] = STAND_IN_NOTE
    spec["weights"]["source"] = snapshot.relative_to(dest).as_posix()
    spec["weights"]["artifact_size"] = "7.5 GB (the real release; the stand-in is a few hundred KB)"
    report = Report()
    write_workspace(dest, spec, report)
    report.data["_headline"] = f"example workspace for {name} in {dest}"
    return report


def init_real(weights: Path, name: str, base_model: str, dest: Path) -> Report:
    """A starting spec for a real model: fill in summary, routing, evals and blockers, then check."""
    _refuse_existing(dest, name)
    spec: dict[str, Any] = {
        "schema": "tinyrel.release/1",
        "release": {
            "name": name,
            "version": "0.1.0",
            "base_model": base_model,
            "license": "apache-2.0",
            "pipeline_tag": "text-generation",
            "domain": "the domain this model was tuned for",
            "summary": f"{name}: a fine-tune of {base_model}.",
        },
        "weights": {"source": str(weights.resolve())},
        "distribution": {"mode": "undecided", "repo_id": f"ORG/{name}"},
        "routing": {
            "routed_only": True,
            "domain": "the domain this model was tuned for",
            "router_guidance": "Describe which requests a router should send to this model.",
            "not_for": ["requests outside the tuned domain"],
        },
        "blockers": [
            {
                "id": "weight-distribution",
                "title": "Weight distribution undecided",
                "why": "The package lock points to a local path, not a public artifact host.",
                "unblock": "Publish metadata-only or a durable hosted weight release.",
                "checks": ["weight-distribution"],
            },
            {
                "id": "honest-card",
                "title": "Card claims",
                "why": "Public copy must match the eval data and the routing decision.",
                "unblock": "Keep the card routed-only, with the negative-transfer table and labelled context rows.",
                "checks": ["routed-only-copy", "negative-transfer-table", "claims-comparability"],
            },
        ],
    }
    dest.mkdir(parents=True, exist_ok=True)
    report = Report()
    write_workspace(dest, spec, report)
    report.data["_headline"] = f"workspace for {name} in {dest}; edit release/{name}.toml, then run tinyrel check"
    return report
