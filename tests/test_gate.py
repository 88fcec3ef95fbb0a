"""The release gate on the seed workspace (repo root) and on `init --example` workspaces."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json

REPO = Path(__file__).resolve().parents[1]


def test_repo_root_gate_fails_only_on_weight_distribution():
    exit_code, doc = run_json("check", cwd=REPO)
    assert exit_code == 1
    errors = codes(doc)
    assert "blocker/weight-distribution" in errors
    assert not errors & {"blocker/routed-only-copy", "blocker/negative-transfer-table", "blocker/claims-comparability"}
    status = {b["id"]: b["status"] for b in doc["blockers"]}
    assert status == {"weight-distribution": "open", "breadth-regression": "resolved"}


def test_the_seed_spec_and_card_template_exist_once():
    packaged = REPO / "src" / "tinyrel" / "scaffold" / "seed.toml"
    root_spec = REPO / "release" / "qwen3-4b-fileops.toml"
    assert root_spec.is_symlink() and root_spec.resolve() == packaged.resolve()
    assert not (REPO / "templates").exists()  # the root workspace renders with the packaged template
    assert len(list((REPO / "src").rglob("card.md.j2"))) == 1


def test_card_loads_with_huggingface_hub(tmp_path):
    from huggingface_hub import ModelCard

    out = tmp_path / "card.md"
    assert run("card", "-o", out, cwd=REPO).exit_code == 0
    card = ModelCard.load(out)
    assert card.data.library_name == "mlx"
    assert card.data.base_model == "Qwen/Qwen3-4B"
    assert "routed-only" in card.data.tags
    for number in ("0.58", "1.00", "0.95", "0.596", "0.423"):
        assert number in card.text
    assert "routed-only" in card.text.lower()
    index = json.dumps(card.data.to_dict()["model-index"])
    assert "BFCL" not in index
    # deterministic
    again = tmp_path / "again.md"
    run("card", "-o", again, cwd=REPO)
    assert again.read_bytes() == out.read_bytes()


def test_example_fails_only_on_weight_distribution(example):
    exit_code, doc = run_json("check", cwd=example)
    assert exit_code == 1
    assert codes(doc) == {"blocker/weight-distribution"}
    assert doc["checks"]["weights"] == "pass" and doc["checks"]["manifest-lock"] == "pass"
    assert run_json("validate", next((example / "hf-cache").rglob("snapshots/*")), "--mlx-lm")[0] == 0


def test_publish_metadata(example):
    exit_code, doc = run_json("publish", "--mode", "metadata", "--out", "dist", cwd=example)
    assert exit_code == 0, doc
    dist = example / "dist"
    assert {"README.md", "manifest.json", "release.toml", "tinyrel.lock"} <= {p.name for p in dist.iterdir()}
    assert not list(dist.rglob("*.safetensors"))
    assert "Stand-in weights" in (dist / "README.md").read_text()


def _edit_template(ws: Path, old: str, new: str) -> None:
    path = ws / "templates" / "card.md.j2"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("## Negative transfer", "## Other results", "blocker/negative-transfer-table"),
        ("{{ e.tuned | num }} | {{ e.delta", "0.5 | {{ e.delta", "blocker/negative-transfer-table"),
        ("{{ spec.summary }}", "{{ spec.summary }} Also a great general-purpose planner.", "blocker/routed-only-copy"),
        ("**Routed-only release.**", "**Release.**", "blocker/routed-only-copy"),
        (
            "{% for h in headline %}",
            "- BFCL V4 public leader: 75.0%\n{% for h in headline %}",
            "blocker/claims-comparability",
        ),
        ("{{ row.comparability | title }}", "Comparable", "blocker/claims-comparability"),
    ],
)
def test_template_edits_trip_blockers(example, old, new, code):
    _edit_template(example, old, new)
    exit_code, doc = run_json("check", cwd=example)
    assert exit_code == 1 and code in codes(doc)
    # publishing is refused and writes nothing
    assert run_json("publish", "--mode", "metadata", "--out", "dist", cwd=example)[0] == 1
    assert not (example / "dist").exists()


def test_drifted_spec_number_in_card_fails(example):
    """A card that hard-codes 0.423 stops matching the moment the eval data moves."""
    _edit_template(example, "{{ e.tuned | num }} | {{ e.delta", "0.423 | {{ e.delta")
    assert run_json("check", cwd=example)[1]["checks"]["negative-transfer-table"] == "pass"
    spec = example / "release" / "qwen3-4b-fileops.toml"
    spec.write_text(spec.read_text().replace("tuned = 0.423", "tuned = 0.43"))
    assert "blocker/negative-transfer-table" in codes(run_json("check", cwd=example)[1])


def test_allow_override_is_printed(example):
    _edit_template(example, "## Negative transfer", "## Other results")
    result = run("publish", "--mode", "metadata", "--out", "dist", "--allow", "breadth-regression", cwd=example)
    assert result.exit_code == 2
    exit_code, doc = run_json(
        "publish", "--mode", "metadata", "--out", "dist", "--allow", "breadth-regression",
        "--reason", "internal preview only", cwd=example,
    )  # fmt: skip
    assert exit_code == 0, doc
    assert "internal preview only" in (example / "dist" / "README.md").read_text()


def test_changelog_entry_required(example):
    (example / "CHANGELOG.md").write_text("# Changelog\n\n## [0.0.9]\n")
    assert "blocker/changelog-entry" in codes(run_json("check", cwd=example)[1])


def test_missing_weights_warn_unless_required(example):
    shutil.rmtree(example / "hf-cache")
    exit_code, doc = run_json("check", cwd=example)
    assert "blocker/weights" in codes(doc, "warning") and "blocker/weights" not in codes(doc)
    assert "blocker/weights" in codes(run_json("check", "--require-weights", cwd=example)[1])


def test_tampered_weights_fail_gate(example):
    blob = next((example / "hf-cache").rglob("snapshots/*/model.safetensors")).resolve()
    data = bytearray(blob.read_bytes())
    data[-5] ^= 1
    blob.write_bytes(bytes(data))
    assert "blocker/weights" in codes(run_json("check", cwd=example)[1])


def test_metadata_mode_in_spec_resolves_distribution(example):
    spec = example / "release" / "qwen3-4b-fileops.toml"
    spec.write_text(spec.read_text().replace('mode = "undecided"', 'mode = "metadata"'))
    exit_code, doc = run_json("check", cwd=example)
    assert exit_code == 0, doc["findings"]


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        (lambda t: t.replace('kind = "breadth"', 'kind = "sideways"'), "spec/invalid"),
        (lambda t: t.replace("[routing]", "[routing\n"), "spec/syntax"),
        (lambda t: re.sub(r'checks = \[\s*"weight-distribution"', 'checks = ["nope"', t), "spec/invalid"),
    ],
)
def test_malformed_spec_names_file_and_line(example, mutation, code):
    spec = example / "release" / "qwen3-4b-fileops.toml"
    spec.write_text(mutation(spec.read_text()))
    result = run("check", cwd=example)
    assert result.exit_code == 1 and f"error[{code}]" in result.output
    assert "qwen3-4b-fileops.toml:" in result.output and "Traceback" not in result.output


def test_no_workspace_is_usage_error(tmp_path):
    result = run("check", cwd=tmp_path)
    assert result.exit_code == 2 and "workspace/not-found" in result.output


def test_init_real_model(model_store, tmp_path):
    dest = tmp_path / "rel"
    exit_code, doc = run_json(
        "init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", dest
    )
    assert exit_code == 0, doc
    lock = tomllib.loads((dest / "tinyrel.lock").read_text())
    assert lock["sources"][0]["name"] == "tiny"
    exit_code, doc = run_json("check", cwd=dest)
    # a fresh scaffold has no breadth evals yet, and placeholders to replace: the gate says so
    assert codes(doc) == {"blocker/weight-distribution", "blocker/negative-transfer-table", "spec/placeholder"}
    again = run("init", model_store["q4"], "--name", "tiny", "--base-model", "x/y", "--dir", dest)
    assert again.exit_code == 2 and "init/exists" in again.output
