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


def _tiny_server(body: bytes):
    """A plain HTTP server that answers every GET and PUT with ``body`` (and its length), and an
    LFS batch request with the upload URL ``/lfs/part-1``."""
    import json
    from http.server import BaseHTTPRequestHandler

    from support.servers import LoopbackServer

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self, answer: bytes = body) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_PUT(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            href = f"{self.server.base_url}/lfs/part-1?signature=x"
            self.do_GET(json.dumps({"objects": [{"oid": "a" * 64, "actions": {"upload": {"href": href}}}]}).encode())

    server = LoopbackServer(Answer)
    return server, f"{server.base_url}/file"


def test_one_calls_ctrl_c_stops_that_call_only():
    """Two tinyrel calls share one installation in huggingface_hub: a Ctrl-C of one stops its own
    requests (one clear error), never the other call's, nor a later call's; and a thread of the
    ended call that reaches the Hub afterwards gets an error, not an installation of its own."""
    import threading

    from huggingface_hub.utils import get_session

    from tinyrel.hub import session as sessions
    from tinyrel.hub.errors import classify

    server, url = _tiny_server(b"ok")
    inside, release, seen = threading.Event(), threading.Event(), {}

    def other_call() -> None:
        with sessions.HubSession() as other:
            other.bounds()
            inside.set()
            release.wait(30)
            seen["other"] = get_session().get(url).text

    try:
        thread = threading.Thread(target=other_call)
        thread.start()
        assert inside.wait(30)
        with sessions.HubSession() as interrupted:
            interrupted.bounds()
            interrupted.interrupt()
            with pytest.raises(Exception) as stopped:
                get_session().get(url)
            assert classify(stopped.value, "the call").code == "hub/interrupted"
        with pytest.raises(tinyrel.TinyrelError, match="has ended"):
            interrupted.bounds()  # a straggler of the ended call: no new installation
        with sessions.HubSession() as later:
            later.bounds()
            assert get_session().get(url).text == "ok"
        release.set()
        thread.join(30)
        assert seen == {"other": "ok"}
        assert sessions._installed is None and sessions._users == 0  # everything was put back
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_the_hosts_own_downloads_keep_huggingface_hubs_sizes_while_a_call_runs(monkeypatch):
    """While a tinyrel call runs, the host's own requests pass through tinyrel's client: a
    download the host makes is as long as it declares (no tinyrel cap), while an answer to a
    tinyrel call is held to tinyrel's cap, and the message says which bound it broke."""
    import threading

    from huggingface_hub.utils import get_session

    from tinyrel.hub import guard
    from tinyrel.hub.session import HubSession

    monkeypatch.setattr(guard, "UNDECLARED_CAP", 1000)  # stands in for 256 MiB
    server, url = _tiny_server(b"x" * 5000)
    inside, release, seen = threading.Event(), threading.Event(), {}

    def host_program() -> None:  # no tinyrel call in this thread's context
        inside.wait(30)
        seen["host"] = len(get_session().get(url).content)
        release.set()

    try:
        host = threading.Thread(target=host_program)
        host.start()
        with HubSession() as call:
            call.bounds()
            inside.set()
            assert release.wait(30)
            with pytest.raises(Exception, match="longer than the 1,000 bytes tinyrel accepts") as capped:
                get_session().get(url)
            assert "declared" not in str(capped.value)
        host.join(30)
        assert seen == {"host": 5000}
    finally:
        server.shutdown()
        server.server_close()


def test_an_upload_belongs_to_the_call_the_hub_gave_its_url_to():
    """huggingface_hub sends LFS bodies from its own threads (no context): a PUT to a URL the Hub's
    batch answer gave a tinyrel call is that call's — counted in its display, stopped by its
    Ctrl-C — while the host's own PUT from its own thread is neither, even as the call uploads."""
    import threading

    from huggingface_hub.utils import get_session

    from tinyrel.hub.session import HubSession

    server, url = _tiny_server(b"ok")
    base = url.removesuffix("/file")
    counted: list[int] = []
    outcome: dict[str, str] = {}

    def put(name: str, target: str) -> None:  # a thread with no tinyrel context, like hf's pool
        try:
            outcome[name] = get_session().put(target, content=b"h" * 1000).text
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            outcome[name] = type(exc).__name__

    def in_thread(name: str, target: str) -> None:
        thread = threading.Thread(target=put, args=(name, target))
        thread.start()
        thread.join(30)

    try:
        with HubSession() as call:
            call.report_upload(counted.append)
            get_session().post(f"{base}/org/name.git/info/lfs/objects/batch", json={})  # in the call's context
            in_thread("call's part", f"{base}/lfs/part-1?signature=other-encoding")
            in_thread("host's", f"{base}/host/upload")
            assert counted == [1000]  # the call's part, not the host's bytes
            call.interrupt()
            in_thread("call's part after Ctrl-C", f"{base}/lfs/part-1")
            in_thread("host's after Ctrl-C", f"{base}/host/upload")
        in_thread("after the call", f"{base}/lfs/part-1")  # the call has ended: the URL is no longer its
    finally:
        server.shutdown()
        server.server_close()
    assert outcome == {"call's part": "ok", "host's": "ok", "call's part after Ctrl-C": "Cancelled",
                       "host's after Ctrl-C": "ok", "after the call": "ok"}, outcome  # fmt: skip


@pytest.mark.parametrize("host_first", [False, True])
def test_a_host_ctrl_c_in_its_own_xet_call_leaves_xet_working(xet_hub, tmp_path, monkeypatch, host_first):
    """huggingface_hub's own Ctrl-C handling (``abort_xet_session``, on a KeyboardInterrupt in a
    host's Xet transfer) aborts and drops the shared Xet session while a tinyrel call runs: the
    call's next request puts a fresh bounded session of tinyrel's in place, and both the call's
    and the host's later Xet transfers work; the host's session is restored at the end."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils._xet import abort_xet_session, get_xet_session
    from support.hub import hub_api

    from tinyrel.hub.client import download
    from tinyrel.hub.session import HubSession
    from tinyrel.hub.xet_session import ReportingXetSession

    api = hub_api(xet_hub)
    api.create_repo("org/xetfile", exist_ok=True)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(bytes(range(256)) * 4000)
    api.upload_file(path_or_fileobj=str(weights), path_in_repo="w.safetensors", repo_id="org/xetfile")
    commit = api.model_info("org/xetfile").sha
    before = get_xet_session()
    fetches = [
        ("tinyrel", lambda: download("org/xetfile", "w.safetensors", commit, local_dir=tmp_path / "a",
                                     expected_size=weights.stat().st_size)),
        ("host", lambda: hf_hub_download("org/xetfile", "w.safetensors", revision=commit,
                                         endpoint=xet_hub.base_url, local_dir=tmp_path / "b")),
    ]  # fmt: skip
    outcome = {}
    with HubSession() as call:
        call.bounds()
        abort_xet_session()  # the host's Ctrl-C inside one of its own huggingface_hub calls
        call.bounds()  # the call's next request to the Hub
        assert isinstance(get_xet_session(), ReportingXetSession)
        for who, fetch in reversed(fetches) if host_first else fetches:
            try:
                fetch()
                outcome[who] = "ok"
            except BaseException as exc:  # noqa: BLE001 - what the caller would see
                outcome[who] = f"{type(exc).__name__}: {exc}"
    assert outcome == {"tinyrel": "ok", "host": "ok"}, outcome
    assert get_xet_session() is before
