"""Issue 18: a user's install is the product.

The wheel is built and installed with no extras into a fresh virtualenv — exactly what `pip install
.` gives a user, with pip resolving the wheel's own declared dependencies — and every command runs
from there: the workspace commands on the shipped example, signing and verification, a local
metadata release, and a signed weights release to the Hub emulator (which runs here, in the test
environment with ``[testing]``), pulled back and verified.  An optional feature without its extra
is one clear error naming the extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NAME = "qwen3-4b-fileops"


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed, no extras."""
    where = tmp_path_factory.mktemp("user")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(where)],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next(where.glob("tinyrel-*.whl"))
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True,
                               text=True, timeout=900)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return venv


def _env(venv: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "HF_ENDPOINT", "HF_TOKEN")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def _tinyrel(venv: Path, *args, cwd: Path, expect: int = 0, **env: str) -> str:
    done = subprocess.run([str(venv / "bin" / "tinyrel"), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=_env(venv, **env))  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == expect, f"tinyrel {' '.join(map(str, args))} exited {done.returncode}:\n{out}"
    assert "Traceback" not in out and "internal/error" not in out, out
    return out


def _keys(venv: Path, where: Path) -> tuple[Path, Path]:
    """An EC P-256 key pair, made with the cryptography the user's install brought."""
    script = "\n".join([
        "import sys",
        "from cryptography.hazmat.primitives import serialization as s",
        "from cryptography.hazmat.primitives.asymmetric import ec",
        "k = ec.generate_private_key(ec.SECP256R1())",
        "open(sys.argv[1], 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))",
        "spki = s.PublicFormat.SubjectPublicKeyInfo",
        "open(sys.argv[2], 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, spki))",
    ])
    private, public = where / "release.pem", where / "publisher.pub"
    subprocess.run([str(venv / "bin" / "python"), "-c", script, private, public], check=True, timeout=60)
    return private, public


def test_every_command_works_from_a_plain_install(user_venv, tmp_path, monkeypatch):
    from support.hub import HUB_TOKEN, start_hub

    venv = user_venv
    _tinyrel(venv, "--version", cwd=tmp_path)
    _tinyrel(venv, "init", "--example", "ws", cwd=tmp_path)
    ws = tmp_path / "ws"
    weights = next((ws / "hf-cache").glob("models--*/snapshots/*"))
    manifest = ws / "manifests" / f"{NAME}.json"
    _tinyrel(venv, "check", cwd=ws, expect=1)  # weight-distribution is open, as it should be
    _tinyrel(venv, "card", "-o", tmp_path / "card.md", cwd=ws)
    _tinyrel(venv, "validate", weights, "--manifest", manifest, cwd=ws)
    _tinyrel(venv, "manifest", weights, "-o", tmp_path / "m.json", cwd=ws)
    _tinyrel(venv, "lock", weights, "-o", tmp_path / "l.lock", "--name", "copy", cwd=ws)
    _tinyrel(venv, "evals", cwd=ws)
    private, public = _keys(venv, tmp_path)
    _tinyrel(venv, "sign", weights, "--private-key", private, "--signature", tmp_path / "w.sig", cwd=ws)
    _tinyrel(venv, "verify", weights, "--signature", tmp_path / "w.sig", "--public-key", public, cwd=ws)
    _tinyrel(venv, "publish", "--mode", "metadata", "--out", tmp_path / "dist", "--private-key", private, cwd=ws)
    _tinyrel(venv, "verify", tmp_path / "dist", "--public-key", public, "--require", "all", cwd=ws)  # attestations
    out = _tinyrel(venv, "validate", weights, "--mlx-lm", cwd=ws, expect=2)
    assert "tinyrel[mlx-lm]" in out  # the optional feature names its extra

    hub = start_hub(tmp_path / "hub", monkeypatch, xet=True)
    try:
        env = {"HF_ENDPOINT": hub.base_url, "HF_TOKEN": HUB_TOKEN, "HF_HOME": str(tmp_path / "hf-home")}
        _tinyrel(venv, "publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", "--private-key",
                 private, cwd=ws, **env)  # fmt: skip
        _tinyrel(venv, "pull", "hf://org/name@v0.1.0", "--public-key", public, "--local-dir", tmp_path / "pulled",
                 cwd=tmp_path, **env)  # fmt: skip
        _tinyrel(venv, "verify", "hf://org/name@v0.1.0", "--public-key", public, "--require", "all", cwd=tmp_path,
                 **env)  # fmt: skip
        _tinyrel(venv, "verify", tmp_path / "pulled", "--public-key", public, cwd=tmp_path)
        _tinyrel(venv, "diff", "hf://org/name@v0.1.0", manifest, "--public-key", public, cwd=ws, **env)
        _tinyrel(venv, "lock", "hf://org/name@v0.1.0", "-o", tmp_path / "hub.lock", "--name", "hosted", cwd=ws, **env)
    finally:
        hub.shutdown()
        hub.server_close()
