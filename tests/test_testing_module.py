"""tinyrel.testing as a product: the Hub emulator and the private Sigstore, used directly."""

from __future__ import annotations

import json
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


def test_private_sigstore_signs_and_verifies_offline(tmp_path, monkeypatch, model_dir):
    from helpers import run

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
