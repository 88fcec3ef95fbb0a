"""tinyrel.testing as a product: the Hub emulator and the private Sigstore, used directly."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from tinyrel.testing.hub import EmulatorServer


@pytest.fixture
def server(tmp_path):
    hub = EmulatorServer("127.0.0.1", 0, tmp_path / "data", "tok")
    hub.start_in_thread()
    yield hub
    hub.shutdown()
    hub.server_close()


def test_the_real_client_creates_commits_tags_and_reads_back(server, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=server.base_url, token="tok")
    api.create_repo("org/model", private=True)
    (tmp_path / "a.txt").write_text("hello")
    commit = api.upload_file(path_or_fileobj=str(tmp_path / "a.txt"), path_in_repo="a.txt", repo_id="org/model")
    api.create_tag("org/model", tag="v1", revision=commit.oid)
    assert [t.name for t in api.list_repo_refs("org/model").tags] == ["v1"]
    path = hf_hub_download("org/model", "a.txt", revision="v1", endpoint=server.base_url, token="tok",
                           cache_dir=tmp_path / "cache")  # fmt: skip
    assert Path(path).read_text() == "hello"
    api.update_repo_settings("org/model", private=False)
    assert HfApi(endpoint=server.base_url, token=False).model_info("org/model").private is False
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=server.base_url, token="wrong").create_repo("org/other")


def test_faults_are_set_over_http_and_counted(server):
    """With the token: ``/_emulator/*`` are the emulator's own controls (tests/test_emulator_attacks.py
    shows they refuse requests without it)."""
    auth = {"Authorization": "Bearer tok"}
    request = Request(f"{server.base_url}/_emulator/faults", data=json.dumps({"fail_upload": 1}).encode(),
                      method="POST", headers=auth)  # fmt: skip
    assert json.loads(urlopen(request, timeout=10).read())["fail_upload"] == 1
    stats = json.loads(urlopen(Request(f"{server.base_url}/_emulator/stats", headers=auth), timeout=10).read())
    assert stats["uploads"] == 0 and stats["commits"] == 0


def _module(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_the_emulator_says_that_without_a_token_it_is_open_to_anyone(tmp_path):
    """Open mode is intended, and now said: in --help, in the docstring, and on stderr at start."""
    import httpx2

    import tinyrel.testing.hub

    said = "Without --token the emulator is open: anyone who can reach the port"
    assert said in " ".join(_module("tinyrel.testing.hub", "--help").stdout.split())
    assert said.replace("--token", "``--token``") in " ".join(tinyrel.testing.hub.__doc__.split())
    proc = subprocess.Popen([sys.executable, "-m", "tinyrel.testing.hub", "--data", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = re.search(r"http://[\d.:]+", proc.stdout.readline()).group(0)
        assert said in proc.stderr.readline()
        # and it is true: no credentials at all create a repo and commit to it
        assert httpx2.post(f"{url}/api/repos/create", json={"name": "anyone"}, timeout=10).status_code == 200
        commit = '{"key": "header", "value": {}}\n{"key": "deletedFile", "value": {"path": ".gitattributes"}}'
        assert httpx2.post(f"{url}/api/models/anyone/commit/main", content=commit, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("problem", ["busy port", "data is a file", "state is not the emulator's"])
def test_an_emulator_that_cannot_start_says_why_in_one_line_and_exits_2(tmp_path, problem):
    """A busy port printed an OSError traceback (exit 1); an unusable --data likewise."""
    data, port = tmp_path / "d", "0"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        if problem == "busy port":
            port = str(busy.getsockname()[1])
            expected = f"error[emulator/listen]: 127.0.0.1:{port}: address already in use"
        elif problem == "data is a file":
            data.write_text("not a directory")
            expected = f"error[emulator/data]: {data / 'blobs'}: not a directory"
        else:
            data.mkdir()
            (data / "state.json").write_text('["not", "the", "state"]')
            expected = f"error[emulator/data]: {data / 'state.json'}: not the emulator's state"
        result = _module("tinyrel.testing.hub", "--port", port, "--data", str(data), "--token", "t")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr


def test_the_private_sigstore_runs_from_the_command_line(tmp_path, monkeypatch, model_dir):
    """``python -m tinyrel.testing.sigstore --help`` printed nothing: the module had no command line."""
    from support.helpers import run

    help_text = _module("tinyrel.testing.sigstore", "--help")
    assert help_text.returncode == 0
    assert all(word in help_text.stdout for word in ("Fulcio", "Rekor", "--trust-config", "anyone"))
    client = tmp_path / "client.json"
    proc = subprocess.Popen([sys.executable, "-m", "tinyrel.testing.sigstore", "--trust-config", str(client),
                             "--identity", "dev@example.com"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = re.search(r"http://[\d.:]+", proc.stdout.readline()).group(0)
        token = proc.stdout.readline().strip().removeprefix("SIGSTORE_ID_TOKEN=")
        assert json.loads(client.read_text())["signingConfig"]["caUrls"][0]["url"] == url
        monkeypatch.setenv("SIGSTORE_ID_TOKEN", token)
        model, signature = model_dir("bf16"), tmp_path / "m.sig"
        signed = run("sign", model, "--sigstore", "--sigstore-trust-config", client, "--signature", signature)
        assert signed.exit_code == 0, signed.output
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    who = ["--identity", "dev@example.com", "--issuer", "https://oidc.example", "--trust-config", client]
    assert run("verify", model, "--signature", signature, *who).exit_code == 0


def test_private_sigstore_signs_and_verifies_offline(tmp_path, monkeypatch, model_dir):
    from support.helpers import run

    from tinyrel.testing.sigstore import PrivateSigstore

    sigstore = PrivateSigstore()
    sigstore.serve()
    client = sigstore.client_trust_config(tmp_path / "client.json")
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore.identity_token("dev@example.com", "https://oidc.example"))
    model = model_dir("bf16")
    signature = tmp_path / "m.sig"
    assert run("sign", model, "--sigstore", "--sigstore-trust-config", client, "--signature", signature).exit_code == 0
    who = ["--identity", "dev@example.com", "--issuer", "https://oidc.example", "--trust-config", client]
    assert run("verify", model, "--signature", signature, *who).exit_code == 0
