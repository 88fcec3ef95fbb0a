"""Models as mlx-lm writes them and caches as huggingface_hub writes them (issue 24, items 1, 3, 7).

- ``mlx_lm.utils.save`` always writes a stub ``README.md`` model card into the folder: it is not a
  weight, so the manifest, the lock and the card's file table all leave it out, and ``check`` passes
  the manifest-lock comparison right after ``init``;
- huggingface_hub >= 2.4 stores Xet downloads once per cache (``<cache>/blobs/<xx>/<xet hash>``)
  and links each repository's ``blobs/<etag>`` there: such a snapshot validates, locks and inits,
  and every other link out of the snapshot is still refused;
- a snapshot of the Hugging Face cache is locked as ``hf-cache://ORG/NAME@COMMIT``, so no published
  file names a path of the publisher's machine.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from test_tutorial import edit_spec

NAME = "my-specialist"


def snapshot_of(cache: Path, repo_id: str) -> Path:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()


# -- 1. the fixtures are what mlx-lm and huggingface_hub write ----------------------------------------


def test_the_fixtures_are_what_mlx_lm_writes(mlx_lm_store):
    import mlx_lm

    saved, q4 = mlx_lm_store["saved"], mlx_lm_store["q4"]
    for folder in (saved, q4):
        names = {p.name for p in folder.iterdir()}
        assert {"README.md", "config.json", "model.safetensors", "model.safetensors.index.json", "tokenizer.json",
                "tokenizer_config.json", "chat_template.jinja", "generation_config.json"} <= names  # fmt: skip
        assert (folder / "README.md").read_text().startswith("---\n") and "library_name: mlx" in (
            folder / "README.md"
        ).read_text()
    assert json.loads((q4 / "config.json").read_text())["quantization"]["bits"] == 4
    model, tokenizer = mlx_lm.load(str(q4))
    assert tokenizer.apply_chat_template([{"role": "user", "content": "ls"}], add_generation_prompt=True)


def test_the_xet_cache_has_the_shared_blob_layout(xet_cache):
    snapshot = snapshot_of(xet_cache, "lab/my-specialist")
    repo_blob = Path(os.path.normpath(snapshot / os.readlink(snapshot / "model.safetensors")))
    assert repo_blob.parent.name == "blobs" and repo_blob.is_symlink()
    stored = (repo_blob.parent / os.readlink(repo_blob)).resolve()
    assert stored.parent.parent == (xet_cache / "blobs").resolve() and stored.parent.name == stored.name[:2]
    assert (xet_cache / "blobs" / ".huggingface-shared-blobs").read_text() == "1\n"


# -- 2. (issue item 1) the folder's README.md is not a weight ---------------------------------------


@pytest.mark.parametrize("kind", ["saved", "q4"])
def test_a_model_saved_by_mlx_lm_passes_manifest_lock_right_after_init(mlx_lm_model, tmp_path, kind):
    ws = tmp_path / "ws"
    code, doc = run_json("init", mlx_lm_model(kind), "--name", NAME, "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws)
    assert code == 0, doc
    info = [f for f in doc["findings"] if f["code"] == "weights/release-file"]
    assert [(f["severity"], f["path"]) for f in info] == [("info", "README.md")] and "card" in info[0]["message"]
    manifest = json.loads((ws / "manifests" / f"{NAME}.json").read_text())
    lock = tomllib.loads((ws / "tinyrel.lock").read_text())["sources"][0]
    assert "README.md" not in {f["path"] for f in manifest["files"]} | {f["path"] for f in lock["files"]}
    code, doc = run_json("check", cwd=ws)
    assert doc["checks"]["manifest-lock"] == "pass" and doc["checks"]["weights"] == "pass", doc
    assert not [f for f in doc["findings"] if "README.md" in f["message"]]
    card = run("card", cwd=ws).stdout
    assert "`chat_template.jinja`" in card and "`README.md`" not in card.split("## Files")[1]


def test_validate_says_why_the_readme_is_left_out(mlx_lm_model):
    code, doc = run_json("validate", mlx_lm_model("saved"))
    assert code == 0 and codes(doc, "info") >= {"weights/release-file"}


def test_a_manifest_that_lists_the_readme_says_to_regenerate_it(mlx_lm_model, tmp_path):
    model = mlx_lm_model("saved")
    assert run("manifest", model, "-o", tmp_path / "m.json").exit_code == 0
    doc = json.loads((tmp_path / "m.json").read_text())  # as an older tinyrel wrote it: README.md included
    doc["files"].append({"path": "README.md", "size": 81, "sha256": "0" * 64})
    (tmp_path / "m.json").write_text(json.dumps(doc))
    code, out = run_json("validate", model, "--manifest", tmp_path / "m.json")
    assert code == 1 and codes(out) == {"manifest/release-file"}
    assert "regenerate the manifest" in out["findings"][-1]["message"]


# -- 3. (issue item 3) huggingface_hub's shared Xet blob store -----------------------------------------


def test_an_hf_cache_with_shared_xet_blobs_locks_validates_and_inits(xet_cache, tmp_path):
    lock = tmp_path / "l.toml"
    code, doc = run_json("lock", "hf-cache://lab/my-specialist", "-o", lock)
    assert code == 0 and not doc["findings"], doc
    assert {f["path"] for f in tomllib.loads(lock.read_text())["sources"][0]["files"]} >= {"model.safetensors"}
    assert run("lock", "--check", "-o", lock).exit_code == 0
    code, doc = run_json("validate", snapshot_of(xet_cache, "lab/my-specialist-4bit"))
    assert code == 0 and not codes(doc) and not codes(doc, "warning"), doc
    code, doc = run_json("init", "hf-cache://lab/my-specialist-4bit", "--name", NAME, "--base-model", "Qwen/Qwen3-0.6B",
                         "--dir", tmp_path / "ws")  # fmt: skip
    assert code == 0, doc
    assert run_json("check", cwd=tmp_path / "ws")[1]["checks"]["weights"] == "pass"


def _repo_blob(snapshot: Path) -> Path:
    return Path(os.path.normpath(snapshot / os.readlink(snapshot / "model.safetensors")))


def _unmark(cache: Path, snapshot: Path) -> None:
    (cache / "blobs" / ".huggingface-shared-blobs").unlink()


def _wrong_prefix(cache: Path, snapshot: Path) -> None:
    blob = _repo_blob(snapshot)
    stored = (blob.parent / os.readlink(blob)).resolve()
    (cache / "blobs" / "zz").mkdir()
    moved = cache / "blobs" / "zz" / stored.name
    shutil.copy(stored, moved)
    blob.unlink()
    blob.symlink_to(os.path.relpath(moved, blob.parent))


def _straight_into_the_store(cache: Path, snapshot: Path) -> None:
    blob = _repo_blob(snapshot)
    stored = (blob.parent / os.readlink(blob)).resolve()
    link = snapshot / "model.safetensors"
    link.unlink()
    link.symlink_to(os.path.relpath(stored, snapshot))


def _store_entry_links_out(cache: Path, snapshot: Path) -> None:
    blob = _repo_blob(snapshot)
    stored = (blob.parent / os.readlink(blob)).resolve()
    outside = cache.parent / "elsewhere.bin"
    shutil.copy(stored, outside)
    stored.unlink()
    stored.symlink_to(outside)


def _another_caches_store(cache: Path, snapshot: Path) -> None:
    other = cache.parent / "other-cache"
    shutil.copytree(cache / "blobs", other / "blobs", symlinks=True)
    blob = _repo_blob(snapshot)
    target = (blob.parent / os.readlink(blob)).resolve()
    twin = other / "blobs" / target.parent.name / target.name
    blob.unlink()
    blob.symlink_to(twin)


@pytest.mark.parametrize("tamper", [_unmark, _wrong_prefix, _straight_into_the_store, _store_entry_links_out,
                                    _another_caches_store])  # fmt: skip
def test_links_out_of_a_snapshot_are_followed_only_as_huggingface_hub_makes_them(xet_cache, tmp_path, tamper):
    snapshot = snapshot_of(xet_cache, "lab/my-specialist")
    tamper(xet_cache, snapshot)
    code, doc = run_json("lock", snapshot, "-o", tmp_path / "l.toml")
    assert code == 1 and "hygiene/symlink-escape" in codes(doc), doc
    assert not (tmp_path / "l.toml").exists()


def test_a_corrupted_shared_blob_is_caught(xet_cache, tmp_path):
    snapshot = snapshot_of(xet_cache, "lab/my-specialist")
    stored = (snapshot / "model.safetensors").resolve()
    stored.chmod(0o600)  # huggingface_hub makes store entries read-only
    data = bytearray(stored.read_bytes())
    data[-1] ^= 1
    stored.write_bytes(bytes(data))
    code, doc = run_json("lock", "hf-cache://lab/my-specialist", "-o", tmp_path / "l.toml")
    assert code == 1 and "lock/cache-blob-corrupt" in codes(doc)


def test_init_on_weights_that_do_not_validate_names_the_first_findings(mlx_lm_model, tmp_path):
    model = mlx_lm_model("saved")
    (tmp_path / "secret").write_text("x")
    (model / "notes.txt").symlink_to(tmp_path / "secret")
    dest = tmp_path / "new" / "ws"
    result = run("init", model, "--name", NAME, "--base-model", "Qwen/Qwen3-0.6B", "--dir", dest)
    assert result.exit_code == 1
    assert "error[init/invalid-weights]" in result.output and "hygiene/symlink-escape: notes.txt" in result.output
    assert not (tmp_path / "new").exists()  # nothing left behind, not even the directory


# -- 4. (issue item 7) no path of the publisher's machine in a published file --------------------------


def _publish_metadata(ws: Path) -> Path:
    edit_spec(ws)
    spec = ws / "release" / f"{NAME}.toml"
    spec.write_text(spec.read_text().replace('mode = "undecided"', 'mode = "metadata"'))
    result = run("publish", "--mode", "metadata", "--out", "dist", cwd=ws)
    assert result.exit_code == 0, result.output
    return ws / "dist"


def _private_parts(path: Path, tmp_path: Path) -> set[str]:
    """Every component of ``path`` below the system's temporary directory, bar the names
    huggingface_hub gives every cache (``hub``, ``snapshots``) and the commit id."""
    parts = set(path.relative_to(tmp_path.parents[1]).parts) - {"hub", "snapshots", path.name}
    return parts | {"../"}


def test_a_cache_snapshot_path_is_locked_by_what_it_is_not_where_it_is(xet_cache, tmp_path):
    snapshot = snapshot_of(xet_cache, "lab/my-specialist")
    ws = tmp_path / "ws"
    assert run("init", snapshot, "--name", NAME, "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws).exit_code == 0
    named = f"hf-cache://lab/my-specialist@{snapshot.name}"
    assert tomllib.loads((ws / "tinyrel.lock").read_text())["sources"][0]["uri"] == named
    assert tomllib.loads((ws / "release" / f"{NAME}.toml").read_text())["weights"]["source"] == named
    dist = _publish_metadata(ws)
    for path in dist.rglob("*"):
        text = path.read_text(errors="replace") if path.is_file() else ""
        assert not [part for part in _private_parts(snapshot, tmp_path) if part in text], path


def test_a_snapshot_outside_the_cache_in_use_is_not_published_by_path(xet_cache, tmp_path):
    elsewhere = tmp_path / "alice-disk" / "hub"
    shutil.copytree(xet_cache, elsewhere, symlinks=True)
    snapshot = snapshot_of(elsewhere, "lab/my-specialist")
    ws = tmp_path / "ws"
    assert run("init", snapshot, "--name", NAME, "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws).exit_code == 0
    dist = _publish_metadata(ws)
    for path in dist.rglob("*"):
        text = path.read_text(errors="replace") if path.is_file() else ""
        assert not [part for part in _private_parts(snapshot, tmp_path) if part in text], path


def test_a_lock_that_lists_the_readme_says_to_relock(mlx_lm_model, tmp_path):
    model, lock = mlx_lm_model("saved"), tmp_path / "tinyrel.lock"
    assert run("lock", model, "-o", lock).exit_code == 0
    text = lock.read_text()  # as an older tinyrel wrote it: README.md locked as if it were a weight
    lock.write_text(text + f'\n[[sources.files]]\npath = "README.md"\nsize = 81\nsha256 = "{"0" * 64}"\n')
    code, doc = run_json("lock", "--check", "-o", lock)
    assert code == 1 and [f["path"] for f in doc["findings"]] == ["README.md"]
    assert "re-lock with tinyrel lock" in doc["findings"][0]["message"]
