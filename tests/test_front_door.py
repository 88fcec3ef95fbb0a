"""Issue 18: one front door.  Every command parses its options and calls ``tinyrel.api``; the same bad
input — names, paths, URIs, option combinations — fails with the same code through both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support.helpers import run_json

import tinyrel

NAME = "qwen3-4b-fileops"
COMMANDS = Path(tinyrel.__file__).parent / "cli" / "commands"


def _api_code(call) -> str:
    with pytest.raises(tinyrel.TinyrelError) as failure:
        call()
    return failure.value.code


def _cli_code(*args, cwd=None) -> str:
    code, doc = run_json(*args, cwd=cwd)
    assert code != 0, doc
    errors = [f["code"] for f in doc["findings"] if f["severity"] == "error"]
    return errors[-1]


def test_the_same_bad_input_fails_with_the_same_code_through_both(example, model_dir, keys, tmp_path, monkeypatch):
    model = model_dir("bf16")
    key = Path(keys.public_key)
    trust = tinyrel.VerifierConfig(public_key=key)
    both = tinyrel.VerifierConfig(public_key=key, identity="a@b.c", issuer="https://x")
    lock = tmp_path / "tinyrel.lock"
    cases = [
        ("a hostile entry name", ("lock", model, "--name", "Bad Name/../x", "-o", lock),
         lambda: tinyrel.lock_source(str(model), "Bad Name/../x", lock_file=lock)),
        ("a lock that is a directory", ("lock", model, "--name", "x", "-o", tmp_path),
         lambda: tinyrel.lock_source(str(model), "x", lock_file=tmp_path)),
        ("an unknown source scheme", ("lock", "s3://bucket/x", "--name", "x", "-o", lock),
         lambda: tinyrel.lock_source("s3://bucket/x", "x", lock_file=lock)),
        ("a missing model directory", ("validate", tmp_path / "absent"),
         lambda: tinyrel.validate(tmp_path / "absent")),
        ("a manifest of a missing directory", ("manifest", tmp_path / "absent"),
         lambda: tinyrel.write_manifest(tmp_path / "absent")),
        ("two trust methods", ("verify", model, "--public-key", key, "--identity", "a@b.c", "--issuer", "https://x"),
         lambda: tinyrel.verify(model, both)),
        ("a missing verify target", ("verify", tmp_path / "absent", "--public-key", key),
         lambda: tinyrel.verify(tmp_path / "absent", trust)),
        ("--no-download on a directory", ("verify", model, "--public-key", key, "--no-download"),
         lambda: tinyrel.verify(model, trust, no_download=True)),
        ("no model.sig", ("verify", model, "--public-key", key), lambda: tinyrel.verify(model, trust)),
        ("a pull of something not on the Hub", ("pull", "./model", "--public-key", key),
         lambda: tinyrel.pull("./model", trust)),
        ("a revision named twice", ("pull", "hf://org/name@v1", "--revision", "v2", "--public-key", key),
         lambda: tinyrel.pull("hf://org/name@v1", trust, revision="v2")),
        ("a diff operand that is nothing", ("diff", tmp_path / "absent", model),
         lambda: tinyrel.diff(tmp_path / "absent", model)),
        ("a missing sign target", ("sign", tmp_path / "absent", "--private-key", keys.private_key, "--signature",
                                   tmp_path / "s.sig"),
         lambda: tinyrel.sign(tmp_path / "absent", tmp_path / "s.sig",
                              tinyrel.SignerConfig(private_key=Path(keys.private_key)))),
        ("keyless with a key", ("sign", model, "--sigstore", "--private-key", keys.private_key, "--signature",
                                tmp_path / "s.sig"),
         lambda: tinyrel.sign(model, tmp_path / "s.sig", tinyrel.SignerConfig(method="sigstore",
                                                                             private_key=Path(keys.private_key)))),
        ("an init without a name", ("init", model, "--base-model", "Qwen/Qwen3-4B", "--dir", tmp_path / "ws"),
         lambda: tinyrel.init(str(model), name="", base_model="Qwen/Qwen3-4B", directory=tmp_path / "ws")),
        ("an init with a hostile name", ("init", model, "--name", "../x", "--base-model", "Qwen/Qwen3-4B", "--dir",
                                         tmp_path / "ws"),
         lambda: tinyrel.init(str(model), name="../x", base_model="Qwen/Qwen3-4B", directory=tmp_path / "ws")),
        ("an example into a full directory", ("init", "--example", example),
         lambda: tinyrel.init_example(example)),
    ]  # fmt: skip
    in_workspace = [
        ("an unknown release", ("check", "nope"), lambda: tinyrel.check(example, "nope")),
        ("a local release with a repo", ("publish", "--out", tmp_path / "d", "--repo-id", "org/name"),
         lambda: tinyrel.publish(example, out=tmp_path / "d", repo_id="org/name")),
        ("an allow without a reason", ("publish", "--out", tmp_path / "d", "--allow", "weight-distribution"),
         lambda: tinyrel.publish(example, out=tmp_path / "d", allow={"weight-distribution": ""})),
        ("another repo than the spec's", ("publish", "--mode", "metadata", "--repo-id", "other/repo", "--dry-run"),
         lambda: tinyrel.publish(example, mode="metadata", repo_id="other/repo", dry_run=True)),
        ("evals of an unknown release", ("evals", "nope"), lambda: tinyrel.evals(example, "nope")),
    ]  # fmt: skip
    for label, args, call in cases:
        assert _cli_code(*args) == _api_code(call), label
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    for label, args, call in in_workspace:
        assert _cli_code(*args, cwd=example) == _api_code(call), label


def test_commands_reach_the_library_only_through_the_api():
    """A command module imports ``tinyrel.api``, CLI helpers and the value types and formatters of
    what the API returns (configs, summaries, a manifest's JSON form) — never a stage that does work."""
    allowed = ("tinyrel.api", "tinyrel.cli", "tinyrel.findings", "tinyrel.atomic", "tinyrel.verifying.bundle",
               "tinyrel.signing.sign", "tinyrel.sources.uri", "tinyrel.release_files", "tinyrel.weights.manifest",
               "tinyrel.evidence.stats", "tinyrel.evidence.collect")  # fmt: skip
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinyrel"):
                for alias in node.names:
                    imported = f"{node.module}.{alias.name}"
                    assert node.module.startswith(allowed) or imported.startswith(allowed), f"{path.name}: {imported}"
