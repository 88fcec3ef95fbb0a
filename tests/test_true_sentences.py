"""Issue 24 (items 6 and 8): what tinyrel prints or publishes is true of this release as it is —
signed or not, tagged or not, hosted or not, private or public — and ``publish`` does what the
reviewed spec says, not what a stray option says."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from support.fixtures import write_mlx_model
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN
from support.workspace import spec_path

NAME = "qwen3-4b-fileops"
SPEC_REPO = "tinygpt/qwen3-4b-fileops"  # the example spec's [distribution] repo_id
REPO = Path(__file__).resolve().parents[1]


def edit_spec(ws: Path, old: str, new: str) -> None:
    text = spec_path(ws).read_text()
    assert old in text, old
    spec_path(ws).write_text(text.replace(old, new, 1))


def line_of(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def hub_api():
    import os

    from huggingface_hub import HfApi

    return HfApi(endpoint=os.environ["HF_ENDPOINT"], token=HUB_TOKEN)


def bump_version(ws: Path, version: str) -> None:
    edit_spec(ws, 'version = "0.1.0"', f'version = "{version}"')
    (ws / "CHANGELOG.md").write_text((ws / "CHANGELOG.md").read_text() + f"\n## [{version}]\n")


# -- a dry run fails where the real run fails ------------------------------------------------------


def test_a_dry_run_without_a_token_fails_as_the_real_run_does(example, lfs_hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_TOKEN_PATH", str(example / "no-token"))
    for dry in (["--dry-run"], []):
        result = run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, *dry, cwd=example)
        assert result.exit_code == 1 and "error[hub/no-token]" in result.output, (dry, result.output)
        assert "ok:" not in result.output and "plan for" not in result.output
    assert not lfs_hub.hub.state["repos"]


# -- the plan before, what was done after ----------------------------------------------------------


def test_the_dry_run_says_what_will_happen_and_the_real_run_what_did(example, lfs_hub, keys):
    base = ["publish", "--mode", "weights", "--repo-id", SPEC_REPO, "--private-key", keys.private_key]
    dry = run(*base, "--dry-run", cwd=example)
    assert dry.exit_code == 0, dry.output
    assert "plan for hf://tinygpt/qwen3-4b-fileops (v0.1.0; repo will be created private and made public after " \
        "the tag): one new commit of" in dry.output  # fmt: skip
    assert "published" not in dry.output and "uploaded" not in dry.output

    real = run(*base, cwd=example)
    assert real.exit_code == 0, real.output
    assert "plan for" not in real.output and "will " not in real.output.split("checks:", 1)[1], real.output
    assert re.search(r"published hf://tinygpt/qwen3-4b-fileops@[0-9a-f]{12} \(v0\.1\.0\): one new commit of \d+ "
                     r"files \(signed\), then the tag", real.output), real.output  # fmt: skip
    assert re.search(r"uploaded +216,228 +model\.safetensors", real.output), real.output
    assert "signed and committed" in real.output and "made it public after the tag" in real.output

    again = run(*base, cwd=example)
    assert again.exit_code == 0 and "nothing to publish: hf://tinygpt/qwen3-4b-fileops@" in again.output
    assert "uploaded" not in again.output and "plan for" not in again.output


def test_every_count_of_the_release_is_the_same_fact(example, hub, keys):
    base = ["publish", "--mode", "weights", "--repo-id", SPEC_REPO, "--private-key", keys.private_key]
    counts, planned = [], []
    for _ in range(2):  # the first run commits (and signs); the re-run finds the release tagged
        code, doc = run_json(*base, cwd=example)
        assert code == 0, doc
        readback = next(f["message"] for f in doc["findings"] if f["code"] == "publish/readback")
        counts += [doc["files"], int(re.search(r"all (\d+) files", readback).group(1))]
        planned.append(doc["plan"].get("file_count"))
    on_the_hub = {s.rfilename for s in hub_api().model_info(SPEC_REPO, revision="v0.1.0").siblings} - {".gitattributes"}
    assert "model.sig" in on_the_hub and set(counts) == {len(on_the_hub)}, (counts, sorted(on_the_hub))
    assert planned == [len(on_the_hub)] * 2  # the plan (printed by the dry run) counts the same files


# -- private stays private, and says so ------------------------------------------------------------


def test_a_private_publish_says_it_stays_private_and_the_blocker_open(example, lfs_hub):
    base = ["publish", "--mode", "weights", "--repo-id", SPEC_REPO, "--private"]
    for dry in (["--dry-run"], []):
        refused = run(*base, *dry, cwd=example)
        assert refused.exit_code == 1 and "weight-distribution: resolved" not in refused.output
        assert "private until" not in refused.output and "--allow weight-distribution" in refused.output
    assert not lfs_hub.hub.state["repos"]

    allow = ["--allow", "weight-distribution", "--reason", "a preview for the team"]
    dry = run(*base, *allow, "--dry-run", cwd=example)
    assert dry.exit_code == 0, dry.output
    assert "repo will be created private and stay private (--private)" in dry.output
    assert "weight-distribution: overridden" in dry.output and "made public" not in dry.output
    real = run(*base, *allow, cwd=example)
    assert real.exit_code == 0, real.output
    assert "it stays private (--private)" in real.output and "made it public" not in real.output
    assert hub_api().model_info(SPEC_REPO).private is True
    card = Path(hub_api().hf_hub_download(SPEC_REPO, "README.md", revision="v0.1.0")).read_text()
    assert "**Overridden** (`weight-distribution`)" in card and "a preview for the team" in card
    assert "**Resolved** (`weight-distribution`" not in card
    assert codes(run_json("check", cwd=example)[1]) == {"blocker/weight-distribution"}


def test_a_private_publish_of_publicly_pinned_weights_does_not_call_the_blocker_open(example, lfs_hub):
    assert run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, cwd=example).exit_code == 0
    bump_version(example, "0.1.1")
    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/private", "--allow-other-repo", "--private",
                         cwd=example)  # fmt: skip
    assert code == 0, doc
    warning = next(f["message"] for f in doc["findings"] if f["code"] == "publish/lock-not-pinned")
    assert "stays open" not in warning and doc["checks"]["weight-distribution"] == "pass"
    card = Path(hub_api().hf_hub_download("org/private", "README.md", revision="v0.1.1")).read_text()
    assert "a public commit the Hub confirmed" in card  # the weights' public pin, not this private repo
    assert run("check", cwd=example).exit_code == 0


# -- the card after publishing ---------------------------------------------------------------------


def test_the_card_after_publishing_does_not_say_nothing_was_published(example, lfs_hub):
    preview = run("card", cwd=example).stdout
    assert "not published yet" not in preview and "has not been published" not in preview
    assert "Weights: the lock points to a local source on the publisher's machine, not to a public host." in preview
    assert run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, cwd=example).exit_code == 0
    card = run("card", cwd=example).stdout
    assert "a public commit the Hub confirmed" in card  # the blocker, resolved by the published pin
    assert "has not been published" not in card and "nothing to download" not in card
    assert "This card is a preview rendered by tinyrel from the workspace for review, not the card of a\npublished " \
        "release" in card  # fmt: skip


# -- pull says what it pulled ----------------------------------------------------------------------


def test_pull_of_a_metadata_release_does_not_offer_to_run_weights_it_lacks(example, lfs_hub, keys, tmp_path):
    published = run("publish", "--mode", "metadata", "--repo-id", SPEC_REPO, "--private-key", keys.private_key,
                    cwd=example)  # fmt: skip
    assert published.exit_code == 0, published.output
    target = tmp_path / "meta"
    result = run("pull", f"hf://{SPEC_REPO}@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    assert result.exit_code == 0, result.output
    assert "mlx_lm.generate" not in result.output
    assert "it holds no weights (a metadata-only release), and it does not say where the weights can be " \
        "obtained" in result.output  # fmt: skip  (its weights came from the publisher's local cache)


def test_pull_of_a_metadata_release_says_where_the_release_says_the_weights_are(example, lfs_hub, keys, tmp_path):
    from huggingface_hub import snapshot_download

    key = ["--private-key", keys.private_key]
    assert run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, *key, cwd=example).exit_code == 0
    commit = tomllib.loads((example / "tinyrel.lock").read_text())["sources"][0]["revision"]
    bump_version(example, "0.1.1")  # the same weights, now pinned publicly; this version is metadata only
    assert run("publish", "--mode", "metadata", "--repo-id", SPEC_REPO, *key, cwd=example).exit_code == 0
    target = tmp_path / "meta"
    result = run("pull", f"hf://{SPEC_REPO}@v0.1.1", "--public-key", keys.public_key, "--local-dir", target)
    assert result.exit_code == 0, result.output
    assert "mlx_lm.generate" not in result.output
    command = f"hf download {SPEC_REPO} --revision {commit} --local-dir WEIGHTS_DIR"
    assert f"its release.toml says they are at hf://{SPEC_REPO}@{commit}: get them with `{command}`" in result.output
    assert f"compare them with the sizes and SHA-256 that its signed {target / 'tinyrel.lock'} lists" in result.output
    # and that is so: what the command fetches has the sizes and digests the signed lock lists
    got = Path(snapshot_download(SPEC_REPO, revision=commit, local_dir=tmp_path / "weights", endpoint=lfs_hub.base_url))
    listed = tomllib.loads((target / "tinyrel.lock").read_text())["sources"][0]["files"]
    assert listed and all(
        (got / f["path"]).stat().st_size == f["size"]
        and hashlib.sha256((got / f["path"]).read_bytes()).hexdigest() == f["sha256"]
        for f in listed
    )


# -- the card states the quantization --------------------------------------------------------------


@pytest.mark.parametrize("bits", [4, None])
def test_the_card_states_what_the_weights_are(example, bits):
    write_mlx_model(example / "weights", bits=bits)
    source = re.search(r'(?m)^source = ".*"$', spec_path(example).read_text()).group(0)  # [weights] comes first
    edit_spec(example, source, 'source = "weights"')
    assert run("manifest", "weights", "-o", f"manifests/{NAME}.json", cwd=example).exit_code == 0
    assert run("lock", "weights", "--name", NAME, cwd=example).exit_code == 0
    from tinyrel.card.reading import read_card

    card = run("card", "--offline", cwd=example).stdout
    [section] = read_card(card).find("Files")
    files = section.text  # as a reader sees it
    if bits:
        assert "Format: 4-bit quantized (mlx affine mode, group size 32), as config.json records; the tensors " \
            "left unquantized are bf16." in files  # fmt: skip
    else:
        assert "Format: bf16, not quantized." in files and "quantized (" not in card


# -- findings point where the text is --------------------------------------------------------------


def test_forbidden_copy_points_at_the_spec_field_that_carries_it(example):
    spec = spec_path(example)
    edit_spec(example, 'summary = """A Mac-built', 'summary = """A general-purpose, Mac-built')
    code, doc = run_json("check", "--offline", cwd=example)
    [finding] = [f for f in doc["findings"] if f["code"] == "blocker/routed-only-copy"]
    assert code == 1 and finding["path"] == f"release/{NAME}.toml" and finding["line"] == line_of(spec, "summary =")

    edit_spec(example, 'summary = """A general-purpose, Mac-built', 'summary = """A Mac-built')
    edit_spec(example, '  "general tool-calling', '  "all-purpose chat",\n  "general tool-calling')
    [finding] = [f for f in run_json("check", "--offline", cwd=example)[1]["findings"]
                 if f["code"] == "blocker/routed-only-copy"]  # fmt: skip
    assert finding["path"] == f"release/{NAME}.toml" and finding["line"] == line_of(spec, "not_for =")

    edit_spec(example, '  "all-purpose chat",\n', "")
    template = example / "templates" / "card.md.j2"
    template.write_text(template.read_text().replace("## Routing\n", "## Routing\n\nA drop-in replacement for "
                                                     "any model.\n"))  # fmt: skip
    [finding] = [f for f in run_json("check", "--offline", cwd=example)[1]["findings"]
                 if f["code"] == "blocker/routed-only-copy"]  # fmt: skip
    assert finding["path"] == "templates/card.md.j2" and finding["line"] == line_of(template, "A drop-in")


def test_a_code_span_shows_angle_brackets_as_written():
    from markdown_it import MarkdownIt

    from tinyrel.card.reading import read_card
    from tinyrel.card.render import code

    markdown = MarkdownIt("commonmark").enable("table")
    for value in ("a<b>c", "x < y & z", "`<i>`"):
        rendered = markdown.render(f"| f |\n|---|\n| {code(value)} |\n\n{code(value)}\n")  # a table cell, a paragraph
        shown = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # HTML for the text as written
        assert rendered.count(f"<code>{shown}</code>") == 2, rendered
        view = read_card(f"## Files\n\n| File |\n|---|\n| {code(value)} |\n")
        assert view.sections[0].tables[0][1] == [value]


def test_a_refuted_pin_is_not_published_as_public(example, lfs_hub):
    assert run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, cwd=example).exit_code == 0
    lock = tomllib.loads((example / "tinyrel.lock").read_text())["sources"][0]
    assert lock["public"] and lock["durable"]
    hub_api().update_repo_settings(SPEC_REPO, private=True)  # the Hub now refutes the lock's public pin
    bump_version(example, "0.1.1")
    result = run("publish", "--mode", "metadata", "--out", "dist", "--allow", "weight-distribution", "--reason",
                 "the weights repo was made private", cwd=example)  # fmt: skip
    assert result.exit_code == 0 and "not public" in result.output, result.output
    snapshot = tomllib.loads((example / "dist" / "release.toml").read_text())
    assert lock["revision"] not in snapshot["weights"]["source"]
    published = tomllib.loads((example / "dist" / "tinyrel.lock").read_text())["sources"][0]
    assert published["public"] is False and published["durable"] is False
    card = (example / "dist" / "README.md").read_text()
    assert "a public commit" not in card and "(public)" not in card


# -- publish does what the spec says ---------------------------------------------------------------


def test_publish_goes_to_the_spec_repo_and_refuses_another_unless_told(example, lfs_hub):
    code, doc = run_json("publish", "--mode", "weights", "--dry-run", cwd=example)
    assert code == 0 and doc["plan"]["repo_id"] == SPEC_REPO, doc
    other = run("publish", "--mode", "weights", "--repo-id", "org/other", "--dry-run", cwd=example)
    line = line_of(spec_path(example), "repo_id =")
    assert other.exit_code == 2 and f"error[usage/repo-id-mismatch]: release/{NAME}.toml:{line}: " in other.output
    assert "org/other" in other.output and SPEC_REPO in other.output and "--allow-other-repo" in other.output
    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/other", "--allow-other-repo", "--dry-run",
                         cwd=example)  # fmt: skip
    assert code == 0 and doc["plan"]["repo_id"] == "org/other"
    assert not lfs_hub.hub.state["repos"]


def test_publish_mode_must_agree_with_the_spec(example):
    undecided = run("publish", "--dry-run", cwd=example)
    assert undecided.exit_code == 2 and "error[usage/mode]" in undecided.output
    edit_spec(example, 'mode = "undecided"', 'mode = "metadata"')
    line = line_of(spec_path(example), "mode =")
    refused = run("publish", "--mode", "weights", "--dry-run", cwd=example)
    assert refused.exit_code == 2 and f"error[usage/mode-mismatch]: release/{NAME}.toml:{line}: " in refused.output
    assert run("publish", "--out", "dist", cwd=example).exit_code == 0  # the spec's mode is the default
    assert not any(p.suffix == ".safetensors" for p in (example / "dist").iterdir())
    edit_spec(example, 'mode = "metadata"', 'mode = "weights"')
    refused = run("publish", "--mode", "metadata", "--out", "dist2", cwd=example)
    assert refused.exit_code == 2 and "error[usage/mode-mismatch]" in refused.output
    assert not (example / "dist2").exists()


# -- every file the gate reads triggers the gate ---------------------------------------------------


def _github_glob(pattern: str) -> re.Pattern[str]:
    """A GitHub Actions ``paths`` filter as a regex (``**`` any depth, ``*`` within one name)."""
    out = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.compile(f"^{out}$")


def test_every_file_the_gate_reads_triggers_the_hook_and_the_workflow(example):
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    workflow = yaml.safe_load((REPO / "examples" / "release-gate.yml").read_text())
    triggers = workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as True
    inputs = sorted(p.relative_to(example).as_posix() for p in example.rglob("*")
                    if p.is_file() and p.relative_to(example).parts[0] not in ("hf-cache", ".gitignore"))  # fmt: skip
    assert any(path.startswith("evals/") for path in inputs), inputs
    for path in inputs:
        assert re.search(hook["files"], path), path
        assert any(_github_glob(glob).match(path) for glob in triggers), path


# -- verify explains huggingface_hub's download state ----------------------------------------------


def test_verify_of_an_hf_download_folder_names_its_download_state_once(example, lfs_hub, keys, tmp_path):
    from huggingface_hub import snapshot_download

    published = run("publish", "--mode", "weights", "--repo-id", SPEC_REPO, "--private-key", keys.private_key,
                    cwd=example)  # fmt: skip
    assert published.exit_code == 0, published.output
    folder = Path(snapshot_download(SPEC_REPO, revision="v0.1.0", local_dir=tmp_path / "dl", endpoint=lfs_hub.base_url))
    state = [p for p in (folder / ".cache" / "huggingface").rglob("*") if p.is_file()]
    assert len(state) > 5  # a .metadata (and a .lock) per downloaded file
    (folder / "notes.txt").write_text("added after signing")
    code, doc = run_json("verify", folder, "--public-key", keys.public_key)
    extra = [f for f in doc["findings"] if f["code"] == "verify/extra"]
    assert code == 1 and sorted(f["path"] for f in extra) == [".cache/huggingface", "notes.txt"], extra
    grouped = next(f for f in extra if f["path"] == ".cache/huggingface")
    assert f"{len(state)} files under .cache/huggingface/" in grouped["message"]
    assert "hf download --local-dir" in grouped["message"] and "--ignore-path .cache" in grouped["message"]
    (folder / "notes.txt").unlink()
    assert run("verify", folder, "--public-key", keys.public_key, "--ignore-path", ".cache").exit_code == 0


def test_an_override_of_a_resolved_blocker_is_not_printed_as_open(example):
    result = run("publish", "--mode", "metadata", "--out", "dist", "--allow", "breadth-regression", "--reason",
                 "just in case", cwd=example)  # fmt: skip
    assert result.exit_code == 0 and "info[gate/allow-unused]" in result.output, result.output
    card = (example / "dist" / "README.md").read_text()
    assert "**Resolved** (`breadth-regression`" in card
    assert "still open" not in card and "just in case" not in card and "### Overrides" not in card
