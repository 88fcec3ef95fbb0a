"""Issue 9: nothing of the user's is ever lost, and nothing published says what is not so."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN
from support.workspace import spec_path

NAME = "qwen3-4b-fileops"


def fill_scaffold(spec: Path) -> None:
    """Replace what ``tinyrel init`` leaves for the author, and decide on a metadata release."""
    text = spec.read_text().replace("the domain this model was tuned for", "file operations")
    text = text.replace("Describe which requests a router should send to this model.", "File-operation requests.")
    text = text.replace("requests outside the tuned domain", "general planning")
    text = text.replace("the base model's license, as a Hub license id", "apache-2.0")
    text = re.sub(r'repo_id = "ORG/', 'repo_id = "lab/', text).replace('mode = "undecided"', 'mode = "metadata"')
    spec.write_text(text)


def edit_spec(ws: Path, old: str, new: str) -> None:
    text = spec_path(ws).read_text()
    assert old in text, old
    spec_path(ws).write_text(text.replace(old, new, 1))


# -- 1. never destroy what tinyrel did not write ---------------------------------------------------


def test_out_dir_with_foreign_files_the_workspace_or_above_is_refused(example):
    dist = example / "dist"
    dist.mkdir()
    (dist / "notes.txt").write_text("mine")
    for out in ("dist", ".", "..", str(example)):
        result = run("publish", "--mode", "metadata", "--out", out, cwd=example)
        assert result.exit_code == 2 and "error[publish/out-dir]" in result.output, (out, result.output)
        assert "Traceback" not in result.output
    assert (dist / "notes.txt").read_text() == "mine"
    assert spec_path(example).is_file() and (example / "tinyrel.lock").is_file()
    leftovers = [p for p in (example, example.parent) for p in p.iterdir() if "staging" in p.name]
    assert leftovers == []


def test_out_dir_may_be_empty_or_a_previous_release_of_the_same_name(example):
    (example / "dist").mkdir()
    assert run("publish", "--mode", "metadata", "--out", "dist", cwd=example).exit_code == 0
    assert run("publish", "--mode", "metadata", "--out", "dist", cwd=example).exit_code == 0  # converges
    snapshot = tomllib.loads((example / "dist" / "release.toml").read_text())
    snapshot["release"]["name"] = "another-release"
    import tomli_w

    (example / "dist" / "release.toml").write_text(tomli_w.dumps(snapshot))
    result = run("publish", "--mode", "metadata", "--out", "dist", cwd=example)
    assert result.exit_code == 2 and "another-release" in result.output
    assert "another-release" in (example / "dist" / "release.toml").read_text()


def test_init_merges_into_an_existing_lock_and_refuses_a_rerun(model_store, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    other = (
        "# the lab's other release, with a comment of its own\n"
        'schema = "tinyrel.lock/1"\n\n[[sources]]\nname = "other"\nuri = "hf-cache://lab/other@main"\n'
        'kind = "local-cache"\ndurable = false\nfiles = []\n'
    )
    (ws / "tinyrel.lock").write_text(other)
    code, doc = run_json("init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws)
    assert code == 0, doc
    merged = (ws / "tinyrel.lock").read_text()
    assert merged.startswith(other)  # the other entry, byte for byte
    assert {s["name"] for s in tomllib.loads(merged)["sources"]} == {"other", "tiny"}
    again = run("init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws)
    assert again.exit_code == 2 and "init/exists" in again.output
    assert (ws / "tinyrel.lock").read_text() == merged
    assert (ws / ".gitignore").is_file()

    # init --example writes a whole workspace: it refuses one that exists, and changes nothing
    example = run("init", "--example", ws)
    assert example.exit_code == 2 and "error[init/not-empty]" in example.output
    assert (ws / "tinyrel.lock").read_text() == merged and not (ws / "hf-cache").exists()


def test_lock_update_keeps_other_entries_byte_for_byte(model_dir, tmp_path):
    lock = tmp_path / "tinyrel.lock"
    first = model_dir("bf16")
    assert run("lock", first, "--name", "a", "-o", lock).exit_code == 0
    assert run("lock", first, "--name", "b", "-o", lock).exit_code == 0
    text = lock.read_text().replace('name = "a"', '# keep me\nname = "a"', 1)
    lock.write_text(text)
    assert run("lock", first, "--name", "b", "-o", lock).exit_code == 0
    assert lock.read_text().split("[[sources]]")[1] == text.split("[[sources]]")[1]


@pytest.mark.parametrize("name", ["../package", "Bad Name", "-x", "a/b"])
def test_names_must_be_slugs(model_store, tmp_path, name):
    result = run("init", model_store["q4"], "--name", name, "--base-model", "Qwen/Qwen3-0.6B", "--dir", tmp_path / "w")
    assert result.exit_code == 2 and "error[usage/name]" in result.output
    assert not (tmp_path / "package.toml").exists() and not (tmp_path / "w").exists()
    result = run("lock", model_store["q4"], "--name", name, "-o", tmp_path / "l.lock")
    assert result.exit_code == 2 and not (tmp_path / "l.lock").exists()


def test_written_files_honour_the_umask(model_store, tmp_path):
    old = os.umask(0o022)
    try:
        ws = tmp_path / "ws"
        assert run("init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws)
        spec = ws / "release" / "tiny.toml"
        fill_scaffold(spec)
        run("publish", "--mode", "metadata", "--out", "dist", "--allow", "honest-card", "--reason", "scaffold",
            cwd=ws)  # fmt: skip
        files = [ws / "tinyrel.lock", spec, ws / "manifests" / "tiny.json", ws / "CHANGELOG.md",
                 ws / "templates" / "card.md.j2", ws / "dist" / "README.md"]  # fmt: skip
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
        assert stat.S_IMODE((ws / "dist").stat().st_mode) == 0o755
    finally:
        os.umask(old)


# -- 2. every published word is true ---------------------------------------------------------------


def test_unsigned_local_release_says_so_and_claims_no_tag(example):
    assert run("publish", "--mode", "metadata", "--out", "dist", cwd=example).exit_code == 0
    card = (example / "dist" / "README.md").read_text()
    assert "This release is not signed" in card
    assert "model_signing verify" not in card and "v0.1.0`" not in card and "tagged" not in card
    assert "Weights: not distributed with this release." in card
    assert "pip install tinyrel" not in card
    # the blocker section states the current state without contradicting itself
    blockers = card.split("## Release blockers", 1)[1].split("##", 1)[0]
    assert "**Resolved** (`weight-distribution`, formerly *Weight distribution undecided*)" in blockers
    assert "metadata-only release" in blockers and "undecided — resolved" not in card


def test_signed_local_release_offers_a_command_that_works(example, keys):
    assert run("publish", "--mode", "metadata", "--out", "dist", "--private-key", keys.private_key,
               cwd=example).exit_code == 0  # fmt: skip
    card = (example / "dist" / "README.md").read_text()
    assert "not signed" not in card and "tagged" not in card
    command = re.search(r"```bash\n(.*?)```", card, re.S).group(1)
    # run as written, next to the release directory, with the publisher's key beside it
    consumer = example / "consumer"
    shutil.copytree(example / "dist", consumer / NAME)
    shutil.copy(keys.public_key, consumer / "publisher.pub")
    script = command.replace("python ", f"{sys.executable} ", 1)
    proc = subprocess.run(["bash", "-c", script], cwd=consumer, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (script, proc.stderr)


def test_hosted_card_command_works_as_written(example, hub, keys, tmp_path):
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                 "--private-key", keys.private_key, cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    from huggingface_hub import hf_hub_download

    card = Path(hf_hub_download("org/name", "README.md", revision="v0.1.0", endpoint=hub.base_url)).read_text()
    assert "tagged `v0.1.0` in `hf://org/name`" in card
    script = re.search(r"```bash\n(.*?)```", card, re.S).group(1)
    hf = Path(sys.executable).with_name("hf")
    script = script.replace("hf download", f"{hf} download", 1).replace("python ", f"{sys.executable} ", 1)
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    shutil.copy(keys.public_key, consumer / "publisher.pub")
    env = {**os.environ, "HF_ENDPOINT": hub.base_url, "HF_HUB_DISABLE_XET": "1"}
    proc = subprocess.run(["bash", "-c", script], cwd=consumer, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (script, proc.stdout, proc.stderr)
    pull = re.findall(r"```bash\n(.*?)```", card, re.S)[1]
    assert pull.startswith("tinyrel pull hf://org/name@v0.1.0")
    tinyrel = Path(sys.executable).with_name("tinyrel")
    proc = subprocess.run(["bash", "-c", pull.replace("tinyrel ", f"{tinyrel} ", 1)], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and (consumer / "qwen3-4b-fileops-verified" / "model.sig").is_file(), proc.stderr


def test_unsigned_dry_run_warns(example, hub):
    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                         "--dry-run", cwd=example)  # fmt: skip
    assert code == 0 and "publish/unsigned" in codes(doc, "warning")
    assert "model.sig" not in {r["path"] for r in doc["plan"]["files"]}


# -- 3. nothing private leaks ----------------------------------------------------------------------


def test_no_local_path_in_any_published_file(model_store, tmp_path, keys):
    models = tmp_path / "private-models"
    shutil.copytree(model_store["q4"], models / "tiny")
    ws = tmp_path / "ws"
    assert run("init", models / "tiny", "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws).exit_code == 0
    spec = ws / "release" / "tiny.toml"
    assert str(tmp_path) not in spec.read_text() and str(tmp_path) not in (ws / "tinyrel.lock").read_text()
    assert tomllib.loads(spec.read_text())["weights"]["source"] == "../private-models/tiny"
    fill_scaffold(spec)
    args = ["publish", "--mode", "metadata", "--out", "dist", "--allow", "honest-card", "--reason", "draft"]
    assert run(*args, "--private-key", keys.private_key, cwd=ws).exit_code == 0
    for path in (p for p in (ws / "dist").rglob("*") if p.is_file()):  # attestations/ included
        assert str(tmp_path) not in path.read_text(errors="replace"), path
    snapshot = tomllib.loads((ws / "dist" / "release.toml").read_text())
    assert snapshot["weights"]["source"] == "redacted:local-path"
    assert tomllib.loads((ws / "dist" / "tinyrel.lock").read_text())["sources"][0]["uri"] == "redacted:local-path"

    # a path typed into the spec is caught before anything is written
    spec.write_text(spec.read_text().replace('summary = "', f'summary = "Trained in {ws}/runs. ', 1))
    result = run(*args, cwd=ws)
    assert result.exit_code == 1 and "error[publish/local-path]" in result.output


# -- 4. a dry run predicts the real run ------------------------------------------------------------


def _key(tmp_path: Path, kind: str, password: bytes | None = None) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(
        {"p256": ec.SECP256R1(), "k1": ec.SECP256K1()}[kind])  # fmt: skip
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )  # fmt: skip
    path = tmp_path / f"{kind}-{bool(password)}.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


def test_dry_run_fails_on_an_unusable_key_as_the_real_run_would(example, hub, keys, tmp_path, monkeypatch):
    monkeypatch.setenv("KEY_PASSWORD", "wrong")
    cases = [
        ([keys.public_key], "sign/key", "public key"),
        ([_key(tmp_path, "rsa")], "sign/key-type", "P-256"),
        ([_key(tmp_path, "k1")], "sign/key-type", "P-256"),
        ([_key(tmp_path, "p256", b"secret")], "sign/key-encrypted", "--key-password-env"),
        ([_key(tmp_path, "p256", b"secret"), "--key-password-env", "KEY_PASSWORD"], "sign/key", "wrong password"),
    ]
    for extra, code, words in cases:
        for dry in (["--dry-run"], []):
            result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                         "--private-key", *extra, *dry, cwd=example)  # fmt: skip
            assert result.exit_code == 1 and f"error[{code}]" in result.output and words in result.output, result.output
    assert not hub.hub.state["repos"]


def test_encrypted_key_signs_with_its_password(example, keys, tmp_path, monkeypatch):
    key = _key(tmp_path, "p256", b"secret")
    monkeypatch.setenv("KEY_PASSWORD", "secret")
    result = run("publish", "--mode", "metadata", "--out", "dist", "--private-key", key, "--key-password-env",
                 "KEY_PASSWORD", cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (example / "dist" / "model.sig").is_file()


def test_dry_run_sees_a_moved_tag_and_visibility_and_lists_model_sig(example, hub, keys):
    base = ["publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
            "--private-key", keys.private_key]  # fmt: skip
    code, doc = run_json(*base, "--dry-run", cwd=example)
    assert code == 0 and "model.sig" in {r["path"] for r in doc["plan"]["files"]}
    assert run(*base, cwd=example).exit_code == 0
    edit_spec(example, "Send only file-operation", "Route only file-operation")
    for dry in (["--dry-run"], []):
        code, doc = run_json(*base, *dry, cwd=example)
        assert code == 1 and codes(doc) == {"publish/tag-exists"}
    for dry in (["--dry-run"], []):
        result = run(*base, "--private", *dry, cwd=example)
        assert result.exit_code == 2 and "error[publish/visibility]" in result.output


# -- 5. the gate catches what a reviewer would -----------------------------------------------------


def test_scaffold_placeholders_and_unknown_keys_fail_with_key_and_line(model_store, tmp_path):
    ws = tmp_path / "ws"
    assert (
        run("init", model_store["q4"], "--name", "tiny", "--base-model", "Qwen/Qwen3-0.6B", "--dir", ws).exit_code == 0
    )
    spec = ws / "release" / "tiny.toml"
    spec.write_text(spec.read_text().replace('# artifact_size = "7.5 GB MLX safetensors directory"',
                                             'artifact_sise = "7.5 GB"'))  # fmt: skip
    code, doc = run_json("check", "--offline", cwd=ws)
    assert code == 1
    found = {(f["code"], f["message"].split(" still")[0], f.get("line")) for f in doc["findings"]}
    lines = spec.read_text().splitlines()
    domain_line = next(i for i, line in enumerate(lines, 1) if line.startswith("domain ="))
    assert ("spec/placeholder", "[release] domain", domain_line) in found
    assert any(code == "spec/placeholder" and "repo_id" in message for code, message, _ in found)
    unknown = next(f for f in doc["findings"] if f["code"] == "spec/unknown-key")
    assert "did you mean 'artifact_size'" in unknown["message"] and lines[unknown["line"] - 1].startswith(
        "artifact_sise"
    )


def test_hub_dataset_id_reaches_the_model_index(example):
    edit_spec(example, 'id = "breadth"', 'id = "breadth"\ndataset_id = "lab/breadth-suite"\ndataset_split = "test"')
    from huggingface_hub import ModelCard

    card = ModelCard(run("card", "--offline", cwd=example).stdout)
    breadth = next(r for r in card.data.eval_results if r.dataset_name == "Out-of-domain breadth")
    assert breadth.dataset_type == "lab/breadth-suite" and breadth.dataset_split == "test"


def test_private_publish_never_replaces_a_public_pin(example, hub):
    assert run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
               cwd=example).exit_code == 0  # fmt: skip
    pinned = (example / "tinyrel.lock").read_text()
    assert run("check", cwd=example).exit_code == 0
    edit_spec(example, 'version = "0.1.0"', 'version = "0.1.1"')
    (example / "CHANGELOG.md").write_text((example / "CHANGELOG.md").read_text() + "\n## [0.1.1]\n")
    code, doc = run_json("publish", "--mode", "weights", "--repo-id", "org/private", "--allow-other-repo",
                         "--private", cwd=example)  # fmt: skip
    assert code == 0 and "publish/lock-not-pinned" in codes(doc, "warning")
    assert (example / "tinyrel.lock").read_text() == pinned


# -- 7, 8. progress and interruptions --------------------------------------------------------------


def _cli(ws: Path, hub, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.base_url, "HF_TOKEN": HUB_TOKEN}
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    env.pop("HF_HUB_DISABLE_XET", None)
    if hub.mode == "lfs":
        env["HF_HUB_DISABLE_XET"] = "1"
    return subprocess.Popen([sys.executable, "-m", "tinyrel", *args], cwd=ws, env=env, text=True, **kw)


def test_no_progress_bars_off_a_terminal(example, hub):
    proc = _cli(example, hub, "publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "\r" not in err and "%|" not in err and "it/s" not in err


def test_progress_is_shown_on_a_terminal(example, hub):
    """Bytes on a bar, over LFS (counted in tinyrel's transport) and over Xet (reported by hf_xet's
    progress callbacks): the bar reaches the size of the weights."""
    import pty

    primary, secondary = pty.openpty()
    proc = _cli(example, hub, "publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                stdout=subprocess.DEVNULL, stderr=secondary)  # fmt: skip
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(primary)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, shown
    assert "scanning weights" in shown and "uploading" in shown, shown
    assert re.search(r"uploading \S+ 21\d\.\d/21\d\.\d kB", shown), shown  # bytes, not a spinner


def _ctrl_c_publish_once(ws: Path, hub, started: str) -> str:
    """Run a publish, press Ctrl-C once the emulator's ``started`` counter moves; the run must end
    with 130 within 3 s.  Returns its stderr."""
    proc = _cli(ws, hub, "publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 120
    while hub.hub.stats[started] == 0 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert hub.hub.stats[started] >= 1
    pressed = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.time() - pressed < 3, err
    return err


def test_ctrl_c_during_upload_stops_at_once_without_a_commit(example, lfs_hub):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    hub.hub.faults["slow_upload"] = 0.05
    err = _ctrl_c_publish_once(example, hub, "uploads")
    assert "re-run" in err and "Traceback" not in err
    assert hub.hub.stats["commits"] == 1  # the repo's initial commit only
    hub.hub.faults["slow_upload"] = None


def test_ctrl_c_during_a_xet_upload_stops_at_once_without_a_commit(example, xet_hub):
    """The Xet transfer runs in hf_xet's runtime: Ctrl-C while it waits on the CAS still ends the
    run at once (the call's Xet upload aborted), with nothing committed; the re-run publishes."""
    hub = xet_hub
    hub.hub.faults["slow_xet_token"] = 60
    err = _ctrl_c_publish_once(example, hub, "xet_write_tokens")
    assert "error[interrupted]" in err and "re-run" in err and "Traceback" not in err
    assert hub.hub.stats["commits"] == 1  # the repo's initial commit only
    hub.hub.faults["slow_xet_token"] = None
    rerun = _cli(example, hub, "publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert hub.hub.stats["commits"] == 2


def test_crash_between_commit_and_tag_is_recovered_without_a_second_commit(example, hub, keys):
    from huggingface_hub import HfApi

    hub.hub.faults["fail_tag"] = 1
    base = ["publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
            "--private-key", keys.private_key]  # fmt: skip
    assert run(*base, cwd=example).exit_code == 1
    commits = hub.hub.stats["commits"]
    code, doc = run_json(*base, cwd=example)
    assert code == 0 and "publish/recovered" in codes(doc, "info"), doc
    assert hub.hub.stats["commits"] == commits
    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    tags = api.list_repo_refs("org/name").tags
    assert [t.target_commit for t in tags] == [api.model_info("org/name").sha]
    assert run("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key).exit_code == 0


def test_a_failed_first_publish_leaves_no_public_repo(example, lfs_hub):
    hub = lfs_hub  # LFS-level faults and counters: the upload path these tests exercise
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    hub.hub.faults["fail_upload"] = 1
    assert run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
               cwd=example).exit_code == 1  # fmt: skip
    anonymous = HfApi(endpoint=hub.base_url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("org/name")
    hub.hub.faults["fail_upload"] = None
    assert run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
               cwd=example).exit_code == 0  # fmt: skip
    assert anonymous.model_info("org/name").private is False


# -- 9. smaller truths -----------------------------------------------------------------------------


def test_verify_dir_defaults_to_its_model_sig_and_names_a_missing_target_first(example, keys, tmp_path):
    assert run("publish", "--mode", "metadata", "--out", "dist", "--private-key", keys.private_key,
               cwd=example).exit_code == 0  # fmt: skip
    assert run("verify", example / "dist", "--public-key", keys.public_key).exit_code == 0
    result = run("verify", tmp_path / "nope", "--public-key", keys.public_key)
    assert result.exit_code == 2 and f"error[usage/verify-target]: {tmp_path / 'nope'}:" in result.output


def test_failed_validation_does_not_say_validated(model_dir):
    model = model_dir("bf16")
    (model / "config.json").write_text("{")
    result = run("validate", model)
    assert result.exit_code == 1 and not result.output.startswith("validated")
    assert "validation FAILED" in result.output
    assert "error[config/invalid]: config.json:1: " in result.output


def test_card_reports_its_own_findings(example):
    path = example / "templates" / "card.md.j2"
    path.write_text(path.read_text().replace("{{ spec.summary }}", "{{ spec.summary }} A general-purpose planner."))
    result = run("card", "--offline", cwd=example)
    assert result.exit_code == 1 and "error[blocker/routed-only-copy]" in result.stderr


def test_spec_syntax_error_annotation_has_checkout_path_and_line(example, monkeypatch):
    edit_spec(example, "[routing]", "[routing\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(example.parent))
    result = run("check", "--format", "github", cwd=example)
    assert result.exit_code == 1
    assert re.search(r"::error file=ws/release/qwen3-4b-fileops\.toml,line=\d+,title=spec/syntax::", result.output)
    text = run("check", cwd=example).output
    assert re.search(r"error\[spec/syntax\]: \S*release/qwen3-4b-fileops\.toml:\d+: ", text)


def test_validate_annotations_are_relative_to_the_checkout_with_lines(model_dir, monkeypatch):
    model = model_dir("bf16")
    (model / "config.json").write_text('{"model_type": "qwen3",\n  oops}')
    monkeypatch.setenv("GITHUB_WORKSPACE", str(model.parent))
    result = run("validate", model, "--format", "github")
    assert result.exit_code == 1
    assert f"::error file={model.name}/config.json,line=2,title=config/invalid::" in result.output
