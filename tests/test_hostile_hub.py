"""Issue 23: a hostile Hub (or anything between the consumer and the Hub) attacks the consumer path.

Every attack here ends in one clear error and nothing at ``--local-dir`` — or, where the attacker
gains nothing, in exactly the genuine bytes.  The module grows with each attack found.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import codes, run, run_json
from hostile_hub import SHAPES, TamperingProxy

NAME = "qwen3-4b-fileops"


@pytest.fixture(scope="module", params=["xet", "lfs"])
def hub(request, tmp_path_factory, example_store, keys):
    """One genuine Hub per protocol holding the example release as ``org/name@v0.1.0``, shared by
    the attacks of this module (each puts its own man in the middle)."""
    import shutil

    from conftest import start_hub

    tmp = tmp_path_factory.mktemp(f"genuine-{request.param}")
    with pytest.MonkeyPatch.context() as patch:
        server = start_hub(tmp, patch, xet=request.param == "xet")
        server.mode = request.param
        workspace = tmp / "ws"
        shutil.copytree(example_store, workspace, symlinks=True)
        patch.setenv("HF_HOME", str(tmp / "hf-home"))
        result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--private-key", keys.private_key,
                     cwd=workspace)  # fmt: skip
        assert result.exit_code == 0, result.output
        yield server
        server.shutdown()
        server.server_close()


def _through(proxy: TamperingProxy, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", proxy.base_url)


def _genuine(hub, name: str) -> bytes:
    """The file as the emulator itself serves it, past any proxy."""
    import httpx

    return httpx.get(f"{hub.base_url}/org/name/resolve/v0.1.0/{name}", timeout=30).content


def _reference_verify(target: Path, public_key) -> bool:
    done = subprocess.run([sys.executable, "-m", "model_signing", "verify", "key", str(target), "--signature",
                           str(target / "model.sig"), "--public_key", str(public_key)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return done.returncode == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("from_get", [1, 2])
def test_swapped_small_file_never_pulls_as_verified(hub, keys, tmp_path, monkeypatch, shape, from_get):
    """The stale-digest attack: genuine bytes first (``from_get=2``), or never; then other bytes of
    the same size, in every response shape.  Whenever other bytes were served, ``pull`` and
    ``verify hf://`` fail and leave nothing; when they were not, what arrived is the genuine release
    (the reference verifier agrees)."""
    proxy = TamperingProxy(hub.base_url, {"config.json"}, shape, from_get)
    target = tmp_path / "pulled"
    try:
        _through(proxy, monkeypatch)
        for step in ("pull", "verify"):
            proxy.gets.clear()
            if step == "pull":
                code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key,
                                     "--local-dir", target)  # fmt: skip
            else:
                code, doc = run_json("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key)
            swapped = proxy.gets.get("config.json", 0) >= from_get
            if swapped:
                assert code == 1 and "verify/changed" in codes(doc), (step, shape, doc)
                assert not target.exists()
            else:
                assert code == 0, (step, shape, doc)
    finally:
        proxy.close()
    if target.exists():
        assert _reference_verify(target, keys.public_key)
        assert (target / "config.json").read_bytes() == _genuine(hub, "config.json")
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


@pytest.mark.parametrize("shape", ["plain", "redirect", "partial-206", "gzip"])
def test_swapped_weights_never_pull_as_verified(hub, keys, tmp_path, monkeypatch, shape):
    """The weights themselves swapped on the wire (over LFS; over Xet hf_xet checks every chunk
    against the file's Merkle hash before tinyrel sees it): the Hub's listing still states the
    genuine SHA-256, the bytes that arrive are not it."""
    if hub.mode == "xet":
        pytest.skip("over Xet the weights do not cross tinyrel's HTTP transport")
    proxy = TamperingProxy(hub.base_url, {"model.safetensors"}, shape)
    target = tmp_path / "pulled"
    try:
        _through(proxy, monkeypatch)
        code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    finally:
        proxy.close()
    assert proxy.gets.get("model.safetensors") == 1  # fetched once, after the signature and the listing
    assert code == 1 and "verify/changed" in codes(doc) and not target.exists(), doc
