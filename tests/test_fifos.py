"""Issue 18: every file tinyrel reads from outside is opened so that a FIFO cannot hang it (spec,
lock, manifest, CHANGELOG, card template, eval records, keys and trust material): each command
ends at once with one clear code instead of waiting for a writer that never comes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # child processes, real servers or real bombs: seconds each

NAME = "qwen3-4b-fileops"


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _cli(*args, cwd) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "tinyrel", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("where", "command", "code"),
    [
        (f"release/{NAME}.toml", ["check", "--offline"], "spec/invalid"),
        ("tinyrel.lock", ["check", "--offline"], "lock/invalid"),
        (f"manifests/{NAME}.json", ["check", "--offline"], "manifest/invalid"),
        ("CHANGELOG.md", ["check", "--offline"], "blocker/changelog-entry"),
        ("templates/card.md.j2", ["card", "--offline"], "card/template"),
        ("evals/breadth.tuned.jsonl", ["evals"], "evals/records-unreadable"),
    ],
)
def test_a_fifo_in_the_workspace_is_refused_not_waited_on(example, where, command, code):
    _fifo(example / where)
    exit_code, out = _cli(*command, cwd=example)
    assert exit_code in (1, 2) and code in out and "Traceback" not in out, out


def test_a_fifo_as_key_or_trust_material_is_refused(model_dir, tmp_path):
    model = model_dir("bf16")
    fifo = tmp_path / "key.pem"
    os.mkfifo(fifo)
    exit_code, out = _cli("sign", model, "--private-key", fifo, "--signature", tmp_path / "s.sig", cwd=tmp_path)
    assert exit_code == 2 and "usage/signing-material" in out, out
    (model / "model.sig").write_text("{}")
    for option in ("--public-key", "--certificate-chain"):
        exit_code, out = _cli("verify", model, option, fifo, cwd=tmp_path)
        assert exit_code == 2 and "usage/trust-material" in out, out
    exit_code, out = _cli("validate", model, "--manifest", fifo, cwd=tmp_path)
    assert exit_code in (1, 2) and "manifest/invalid" in out and "Traceback" not in out, out
