"""Issue 18: a library that leaves its host alone.

A program that imports tinyrel has its own huggingface_hub client (perhaps with a proxy), its own
Xet session, progress bars, logging levels and environment.  Every API call is made between two
snapshots of that state; nothing may differ, and the host's client must still be open.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from pathlib import Path

import pytest

import tinyrel


def _snapshot(loggers: list[str]) -> dict[str, object]:
    from huggingface_hub import constants
    from huggingface_hub.utils import _http, are_progress_bars_disabled
    from huggingface_hub.utils._xet import _GLOBAL_XET_HOLDER

    return {
        "environ": dict(os.environ),
        "progress bars disabled": are_progress_bars_disabled(),
        "logger levels": {name: logging.getLogger(name).level for name in loggers},
        "logger handlers": {name: list(logging.getLogger(name).handlers) for name in loggers},
        "huggingface_hub timeouts": (constants.HF_HUB_DOWNLOAD_TIMEOUT, constants.HF_HUB_ETAG_TIMEOUT),
        "client factory": _http._GLOBAL_CLIENT_FACTORY,
        "client": _http._GLOBAL_CLIENT,
        "xet session": _GLOBAL_XET_HOLDER._session,
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "signal handlers": (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)),
        "warning filters": list(warnings.filters),
        "cwd": os.getcwd(),
    }


@pytest.fixture
def host():
    """A host program's own huggingface_hub set-up: its client factory and client, its Xet
    session, progress bars on, chatty loggers."""
    import httpx2
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http, enable_progress_bars
    from huggingface_hub.utils._xet import get_xet_session

    def host_factory() -> httpx2.Client:
        return httpx2.Client(follow_redirects=True, headers={"x-host": "mine"})

    set_client_factory(host_factory)
    client = _http.get_session()
    xet = get_xet_session()
    enable_progress_bars()
    names = ["", "huggingface_hub", "sigstore", "model_signing", "httpx", "tinyrel"]
    for name in names[1:]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield names, client, xet
    from huggingface_hub.utils._http import default_client_factory

    set_client_factory(default_client_factory)


def _unchanged(call, names, client, **kwargs):
    before = _snapshot(names)
    try:
        result = call(**kwargs)
    finally:
        after = _snapshot(names)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert changed == {}, changed
    assert not client.is_closed
    return result


def test_every_api_call_leaves_the_host_as_it_was(host, example, hub, keys, model_dir, tmp_path):
    names, client, _ = host
    model = model_dir("bf16")
    signer = tinyrel.SignerConfig(method="key", private_key=Path(keys.private_key))
    trust = tinyrel.VerifierConfig(public_key=Path(keys.public_key))
    calls = [
        ("validate", lambda: tinyrel.validate(model)),
        ("write_manifest", lambda: tinyrel.write_manifest(model, tmp_path / "m.json")),
        ("lock_source", lambda: tinyrel.lock_source(str(model), "tiny", lock_file=tmp_path / "tinyrel.lock")),
        ("check", lambda: tinyrel.check(example)),
        ("render_card", lambda: tinyrel.render_card(example)),
        ("evals", lambda: tinyrel.evals(example)),
        ("sign", lambda: tinyrel.sign(model, tmp_path / "model.sig", signer)),
        ("verify", lambda: tinyrel.verify(model, trust, signature=tmp_path / "model.sig")),
        ("publish", lambda: tinyrel.publish(example, mode="weights", repo_id="org/name", signer=signer,
                                                     allow_other_repo=True)),
        ("lock_source hf://", lambda: tinyrel.lock_source("hf://org/name@v0.1.0", "hosted")),
        ("verify hf://", lambda: tinyrel.verify("hf://org/name@v0.1.0", trust)),
        ("pull", lambda: tinyrel.pull("hf://org/name@v0.1.0", trust, tmp_path / "pulled")),
        ("diff hf://", lambda: tinyrel.diff("hf://org/name@v0.1.0", example / "manifests" / "qwen3-4b-fileops.json")),
    ]
    for label, call in calls:
        with warnings.catch_warnings():  # the snapshot compares the host's filters, not pytest's
            result = _unchanged(call, names, client)
        assert result is not None, label


def test_a_failing_call_leaves_the_host_as_it_was_too(host, hub, keys):
    names, client, _ = host
    trust = tinyrel.VerifierConfig(public_key=Path(keys.public_key))
    with pytest.raises(tinyrel.TinyrelError):
        _unchanged(lambda: tinyrel.verify("hf://org/absent@main", trust), names, client)


def test_keyless_signing_and_verification_leave_the_host_as_it_was(host, private_sigstore, model_dir, tmp_path):
    """sigstore-python logs 'TUF loaded in offline mode' and the like: tinyrel quiets it for its own
    call only; the host's sigstore logger keeps its level."""
    names, client, _ = host
    _, trust_config = private_sigstore
    model = model_dir("bf16")
    signer = tinyrel.SignerConfig(method="sigstore", trust_config=trust_config,
                                  identity_token=os.environ["SIGSTORE_ID_TOKEN"])
    trust = tinyrel.VerifierConfig(identity="ci@example.com", issuer="https://oidc.example", trust_config=trust_config)
    assert _unchanged(lambda: tinyrel.sign(model, tmp_path / "model.sig", signer), names, client).ok
    assert _unchanged(lambda: tinyrel.verify(model, trust, signature=tmp_path / "model.sig"), names, client).ok
