"""Re-locking keeps what it does not resolve, and ``init`` does only what it says (issue 24, items 2, 8).

- the eval-record pins of a lock entry survive ``tinyrel lock``, ``tinyrel.lock_source`` and
  ``publish`` (first run and re-run), so a records file edited later is "changed since it was
  pinned" (an error), not "not pinned" (a warning);
- ``tinyrel lock SOURCE`` in a one-release workspace re-pins that release;
- ``init --example`` writes only into an absent or empty directory; a failed or interrupted
  ``init`` removes what it created and restores what it changed;
- the license of a new spec is read from the weights' card or the base model's cached card, never
  guessed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json

import tinyrel

NAME = "qwen3-4b-fileops"
RECORDS = "evals/fileops-heldout.tuned.jsonl"


def entries(ws: Path) -> list[dict]:
    return tomllib.loads((ws / "tinyrel.lock").read_text())["sources"]


def weights_source(ws: Path) -> str:
    return tomllib.loads((ws / "release" / f"{NAME}.toml").read_text())["weights"]["source"]


def edit_records_without_changing_the_score(ws: Path) -> None:
    path = ws / RECORDS
    path.write_text(path.read_text().replace("not the lab's eval output", "not the lab's output", 1))


def assert_changed_since_pinned(ws: Path) -> None:
    edit_records_without_changing_the_score(ws)
    code, doc = run_json("check", "--offline", cwd=ws)
    evidence = [f for f in doc["findings"] if f["code"] == "blocker/eval-evidence"]
    assert code == 1 and [(f["severity"], f["message"]) for f in evidence] == [
        ("error", f"fileops-heldout: {RECORDS} changed since it was pinned in the lock")
    ], evidence


# -- (issue item 2) eval-record pins survive a re-lock ------------------------------------------------


def test_tinyrel_lock_keeps_the_pins_and_defaults_to_the_only_release(example):
    pinned = entries(example)[0]["evidence"]
    assert {p["path"] for p in pinned} >= {RECORDS}
    result = run("lock", weights_source(example), cwd=example)  # no --name: the workspace's only release
    assert result.exit_code == 0, result.output
    assert [e["name"] for e in entries(example)] == [NAME] and entries(example)[0]["evidence"] == pinned
    assert_changed_since_pinned(example)


def test_the_python_api_keeps_the_pins(example):
    pinned = entries(example)[0]["evidence"]
    _, report = tinyrel.lock_source(weights_source(example), NAME, lock_file=example / "tinyrel.lock")
    assert report.ok and entries(example)[0]["evidence"] == pinned
    assert_changed_since_pinned(example)


def test_publish_keeps_the_pins_on_the_first_run_and_on_a_rerun(example, hub, keys):
    pinned = entries(example)[0]["evidence"]
    args = ("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", "--private-key",
            keys.private_key)
    for _ in range(2):  # the re-run finds the release published and rewrites the lock again
        code, doc = run_json(*args, cwd=example)
        assert code == 0, doc
        assert entries(example)[0]["uri"].startswith("hf://org/name@") and entries(example)[0]["evidence"] == pinned
    assert "publish/already-published" in codes(doc, "info")
    assert_changed_since_pinned(example)


def test_evals_lock_still_replaces_the_pins(example):
    edit_records_without_changing_the_score(example)
    assert run("evals", "--lock", cwd=example).exit_code == 0
    assert run_json("check", "--offline", cwd=example)[1]["checks"]["eval-evidence"] == "pass"


# -- (issue item 8) lock's default name, init --example, init's clean-up -------------------------------


def test_lock_without_name_in_a_workspace_of_several_releases_asks_which(example, model_store):
    assert run("init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", example)
    before = (example / "tinyrel.lock").read_text()
    result = run("lock", model_store["q4"], cwd=example)
    assert result.exit_code == 2 and "error[usage/name]" in result.output and "tiny" in result.output
    assert (example / "tinyrel.lock").read_text() == before


def test_lock_outside_a_workspace_still_names_the_entry_weights(model_store, tmp_path):
    assert run("lock", model_store["q4"], "-o", tmp_path / "l.toml").exit_code == 0
    assert [e["name"] for e in tomllib.loads((tmp_path / "l.toml").read_text())["sources"]] == ["weights"]


@pytest.mark.parametrize("content", ["file", "dir"])
def test_init_example_refuses_a_directory_that_is_not_empty(tmp_path, content):
    dest = tmp_path / "ws"
    dest.mkdir()
    if content == "file":
        (dest / "notes.txt").write_text("mine")
    else:
        (dest / "src").mkdir()
    result = run("init", "--example", dest)
    assert result.exit_code == 2 and "error[init/not-empty]" in result.output
    assert sorted(p.name for p in dest.iterdir()) == (["notes.txt"] if content == "file" else ["src"])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("init", "--example", empty).exit_code == 0


def init_interrupted_when_writing(name: str, *args: str | Path) -> subprocess.CompletedProcess:
    """``tinyrel init ARGS`` in a child process, with Ctrl-C arriving while it writes ``name`` (after
    the files written before it).  A child, because the CLI ends an interrupted process at once."""
    script = f"""
import sys
from pathlib import Path
import tinyrel.scaffold.init as scaffold
real = scaffold.write_text_atomic
def write(path, text):
    if Path(path).name == {name!r}:
        raise KeyboardInterrupt
    real(path, text)
scaffold.write_text_atomic = write
sys.argv = ["tinyrel", "init", *{[str(a) for a in args]!r}]
from tinyrel.cli import main
main()
"""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_an_interrupted_init_removes_what_it_created(model_store, tmp_path):
    dest = tmp_path / "new" / "ws"  # spec, manifest and lock are written when Ctrl-C arrives
    result = init_interrupted_when_writing("CHANGELOG.md", model_store["q4"], "--name", "tiny", "--base-model",
                                           "Qwen/Qwen3-0.6B", "--dir", dest)  # fmt: skip
    assert result.returncode == 130 and "nothing half-written was left behind" in result.stderr, result.stderr
    assert not (tmp_path / "new").exists()


def test_an_interrupted_init_in_a_workspace_restores_its_lock(example, model_store):
    (example / "templates" / "card.md.j2").unlink()  # so that it is the last file init writes
    before = {p: p.read_bytes() for p in example.rglob("*") if p.is_file()}
    result = init_interrupted_when_writing("card.md.j2", model_store["q4"], "--name", "tiny", "--base-model",
                                           "Qwen/Qwen3-0.6B", "--dir", example)  # fmt: skip
    assert result.returncode == 130, result.stderr
    assert {p: p.read_bytes() for p in example.rglob("*") if p.is_file()} == before


# -- (issue item 6) the license comes from the weights' or the base model's card ----------------------


def _spec_license(ws: Path, name: str = "tiny") -> str:
    return tomllib.loads((ws / "release" / f"{name}.toml").read_text())["release"]["license"]


def test_init_reads_the_license_from_the_card_mlx_lm_copied(mlx_lm_model, tmp_path):
    from huggingface_hub import ModelCard

    model = mlx_lm_model("q4")
    card = ModelCard.load(model / "README.md")  # as mlx_lm.convert --hf-path meta-llama/… writes it
    card.data.license, card.data.base_model = "llama3.2", "meta-llama/Llama-3.2-1B-Instruct"
    card.save(model / "README.md")
    ws = tmp_path / "ws"
    code, doc = run_json("init", model, "--name", "tiny", "--base-model", "meta-llama/Llama-3.2-1B-Instruct",
                         "--dir", ws)  # fmt: skip
    assert code == 0 and _spec_license(ws) == "llama3.2"
    assert any(f["code"] == "init/license" and "README.md" in f["message"] for f in doc["findings"])


def test_init_reads_the_license_from_the_base_models_cached_card(mlx_lm_model, tmp_path):
    import os

    repo = Path(os.environ["HF_HOME"]) / "hub" / "models--meta-llama--Llama-3.2-1B-Instruct"
    commit = "a" * 40
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit / "README.md").write_text("---\nlicense: llama3.2\nlanguage: en\n---\n# Llama\n")
    ws = tmp_path / "ws"
    result = run("init", mlx_lm_model("saved"), "--name", "tiny", "--base-model", "meta-llama/Llama-3.2-1B-Instruct",
                 "--dir", ws)  # fmt: skip
    assert result.exit_code == 0 and _spec_license(ws) == "llama3.2"


def test_init_never_guesses_a_license(mlx_lm_model, tmp_path):
    from tinyrel.scaffold.license import LICENSE_PLACEHOLDER

    ws = tmp_path / "ws"
    model = mlx_lm_model("saved")
    (model / "README.md").write_text("---\nlicense: [apache-2.0, mit]\n---\n")  # not one license id
    code, doc = run_json("init", model, "--name", "tiny", "--base-model", "meta-llama/Llama-3.2-1B", "--dir", ws)
    assert code == 0 and _spec_license(ws) == LICENSE_PLACEHOLDER
    warning = next(f for f in doc["findings"] if f["code"] == "init/license")
    assert warning["severity"] == "warning" and warning["path"] == "release/tiny.toml" and warning["line"]
    assert "apache-2.0" not in (ws / "release" / "tiny.toml").read_text()


def test_the_license_placeholder_fails_the_gate_with_its_line(mlx_lm_model, tmp_path):
    ws = tmp_path / "ws"
    assert run("init", mlx_lm_model("saved"), "--name", "tiny", "--base-model", "x/y", "--dir", ws).exit_code == 0
    code, doc = run_json("check", "--offline", cwd=ws)
    assert any(f["code"] == "spec/placeholder" and "license" in f["message"] and f.get("line")
               for f in doc["findings"])  # fmt: skip
