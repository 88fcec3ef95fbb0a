"""Issue 23: a hostile Hub (or anything between the consumer and the Hub) attacks the consumer path.

Every attack here ends in one clear error and nothing at ``--local-dir`` — or, where the attacker
gains nothing, in exactly the genuine bytes.  The module grows with each attack found.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hostile_hub import SHAPES, TamperingProxy

NAME = "qwen3-4b-fileops"
pytestmark = pytest.mark.slow  # real servers, real transfers: the attacks take a while


def cli(*args, cwd=None, timeout=60, env=None) -> subprocess.CompletedProcess:
    """The CLI in a child process, so that a hang is a test failure, not a stuck suite."""
    return subprocess.run([sys.executable, "-m", "tinyrel", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})  # fmt: skip


# -- a Hub that answers with lies, silence, endless bodies and unsafe names --------------------------




@pytest.fixture
def hostile(request, monkeypatch, tmp_path):
    from support.hostile_hub import HostileHub

    server = HostileHub(request.param)
    xet = "xet" in request.param  # a hostile Xet CAS: hf_xet does the transfer, not tinyrel's client
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "0" if xet else "1")
    env = {"HF_ENDPOINT": server.base_url, "HF_HUB_DISABLE_XET": "0" if xet else "1", "TINYREL_HUB_TIMEOUT": "1",
           "HF_HOME": str(tmp_path / "hf-home")}  # fmt: skip
    yield server, env
    server.close()


@pytest.mark.parametrize(
    ("hostile", "code"),
    [
        ("etag-traversal", "hub/untrusted-response"),
        ("endless", "hub/untrusted-response"),
        ("silent", "hub/timeout"),
        ("server-error", "hub/server-error"),
        ("bad-names", "hub/untrusted-response"),
        ("silent-xet-cas", "hub/xet-storage"),
        ("long-name", "hub/untrusted-response"),
        ("no-commit", "hub/untrusted-response"),
        ("redirect-loop", "hub/untrusted-response"),
        ("redirect-endless", "hub/untrusted-response"),
    ],
    indirect=["hostile"],
)
def test_a_hostile_hub_ends_in_a_clear_error(hostile, code, keys, tmp_path):
    server, env = hostile
    for args in (["verify", "hf://evil/repo@main", "--public-key", keys.public_key],
                 ["lock", "hf://evil/repo@main", "-o", tmp_path / "l.lock"]):  # fmt: skip
        started = time.time()
        result = cli(*args, env=env, timeout=120)
        out = result.stdout + result.stderr
        assert result.returncode == 1 and f"error[{code}]" in out, out
        assert time.time() - started < 60 and "Traceback" not in out
    assert not list(Path("/tmp").glob("tinyrel-pwned*"))
    assert not (tmp_path / "l.lock").exists()
    downloaded = [p for p in (tmp_path / "hf-home").rglob("*") if p.is_file() and p.stat().st_size > 10**6]
    assert downloaded == []


def test_hf_xet_is_held_to_tinyrels_bounds_unless_the_user_set_its_own():
    """hf_xet's transfers bypass tinyrel's HTTP client: the Xet session tinyrel installs for its
    calls carries the bound; a setting the user made in the environment is theirs and kept.  Nothing
    is written to the environment."""
    probe = ("import os, hf_xet; from tinyrel.hub.xet_session import xet_config; before = dict(os.environ); "
             "c = xet_config(7.0); print(c.get('client.read_timeout').total_seconds(), "
             "c.get('client.retry_max_attempts'), c.get('data.ingestion_block_size'), dict(os.environ) == before)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_XET_")}
    env.update({"HF_XET_DATA_INGESTION_BLOCK_SIZE": "4000000"})
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["7.0", "2", "4000000", "True"]  # the user's block size is kept


@pytest.mark.parametrize("hostile", ["redirect-endless"], indirect=True)
def test_a_redirect_cannot_escape_the_declared_size(hostile, keys):
    """model.sig is declared 23 bytes: the redirect's endless body is cut there, not at a global cap."""
    server, env = hostile
    result = cli("verify", "hf://evil/repo@main", "--public-key", keys.public_key, env=env)
    assert result.returncode == 1 and "error[hub/untrusted-response]" in result.stdout + result.stderr
    assert "longer than the 23 bytes expected for this file" in result.stdout + result.stderr
    assert server.sent < 8 * 1024 * 1024  # what the server managed to push before the client hung up


@pytest.mark.parametrize(
    "value", ["inf", "nan", "-1", "0", "soon"]
)
def test_an_unusable_hub_timeout_is_a_usage_error(value, tmp_path):
    result = cli("lock", "hf://org/name", "-o", tmp_path / "l.lock", env={"TINYREL_HUB_TIMEOUT": value,
                 "HF_ENDPOINT": "http://127.0.0.1:9"})  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "error[usage/hub-timeout]" in out and "Traceback" not in out, out


@pytest.mark.parametrize("hostile", ["size-lie"], indirect=True)
def test_a_size_that_disagrees_with_the_bytes_is_a_finding(hostile, tmp_path):
    server, env = hostile
    result = cli("lock", "hf://evil/repo@main", "-o", tmp_path / "l.lock", env=env)
    assert result.returncode == 1 and "size" in result.stdout + result.stderr, result.stdout + result.stderr


# -- a man in the middle of a genuine Hub ------------------------------------------------------------


@pytest.fixture(scope="module", params=["xet", "lfs"])
def hub(request, tmp_path_factory, example_store, keys):
    """One genuine Hub per protocol holding the example release as ``org/name@v0.1.0``, shared by
    the attacks of this module (each puts its own man in the middle)."""
    import shutil

    from support.hub import start_hub

    tmp = tmp_path_factory.mktemp(f"genuine-{request.param}")
    with pytest.MonkeyPatch.context() as patch:
        server = start_hub(tmp, patch, xet=request.param == "xet")
        server.mode = request.param
        workspace = tmp / "ws"
        shutil.copytree(example_store, workspace, symlinks=True)
        patch.setenv("HF_HOME", str(tmp / "hf-home"))
        result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo",
                     "--private-key", keys.private_key, cwd=workspace)  # fmt: skip
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
    (the reference verifier agrees).  A small git-stored file crosses tinyrel's HTTP transport in
    both storage modes alike, so the matrix runs once, over LFS; Xet has the weights test below."""
    if hub.mode == "xet":
        pytest.skip("the small files take the same HTTP path over Xet; the shapes run over LFS")
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


def test_a_server_chosen_xet_route_never_pulls_tampered_bytes_as_verified(hub, keys, tmp_path, monkeypatch):
    """The Xet attack: the answer for ``config.json`` names a Xet hash of other bytes of the same
    size (stored on the Hub by the attacker) and a token route of the server's choosing, whose
    answer carries the genuine file as its body.  hf_xet writes the attacker's bytes; a digest
    taken from the body that crossed tinyrel's client would be the genuine one.  ``pull`` and
    ``verify hf://`` hash what was written, and refuse it."""
    if hub.mode != "xet":
        pytest.skip("with Xet disabled the client ignores a Xet hash")
    import httpx
    from support.hostile_hub import tampered
    from support.hub import hub_api

    api = hub_api(hub)
    api.create_repo("attacker/store", exist_ok=True)
    payload = tmp_path / "payload.safetensors"  # a weight's name: the emulator keeps it in Xet
    payload.write_bytes(tampered(_genuine(hub, "config.json")))
    api.upload_file(path_or_fileobj=str(payload), path_in_repo=payload.name, repo_id="attacker/store")
    xet_hash = httpx.head(f"{hub.base_url}/attacker/store/resolve/main/{payload.name}").headers["x-xet-hash"]
    token_url = f"{hub.base_url}/api/models/attacker/store/xet-read-token/main"
    proxy = TamperingProxy(hub.base_url, {"config.json"}, "xet-route", xet_route=(xet_hash, token_url))
    target = tmp_path / "pulled"
    try:
        _through(proxy, monkeypatch)
        code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
        assert proxy.gets.get("config.json"), proxy.requests  # the attack was on the path
        assert code == 1 and "verify/changed" in codes(doc) and not target.exists(), doc
        code, doc = run_json("verify", "hf://org/name@v0.1.0", "--public-key", keys.public_key)
        assert code == 1 and "verify/changed" in codes(doc) and doc.get("data", {}).get("verified") is not True, doc
    finally:
        proxy.close()
    assert any(line.startswith("GET /xet-token/") for line in proxy.requests)  # hf_xet took the server's route


def _siblings(listing: dict) -> dict[str, dict]:
    return {sibling["rfilename"]: sibling for sibling in listing["siblings"]}


def test_a_listing_that_calls_the_identity_an_lfs_file_still_gets_it_checked(hub, keys, monkeypatch):
    """``--no-download`` fetches no LFS file; a listing that marks ``release.toml`` as one (with its
    true digest, so the listing still matches the signature) must not skip the identity check: the
    old release under a new tag is refused either way."""
    import hashlib

    from huggingface_hub import HfApi
    from support.hub import HUB_TOKEN

    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    api.create_tag("org/name", tag="v0.2.0", revision=api.model_info("org/name", revision="v0.1.0").sha,
                   exist_ok=True)  # fmt: skip
    identity = _genuine(hub, "release.toml")

    def as_lfs(listing: dict) -> None:
        _siblings(listing)["release.toml"]["lfs"] = {"sha256": hashlib.sha256(identity).hexdigest(),
                                                     "size": len(identity), "pointerSize": 134}  # fmt: skip

    proxy = TamperingProxy(hub.base_url, set(), edit_listing=as_lfs)
    try:
        _through(proxy, monkeypatch)
        for extra in ([], ["--no-download"]):
            code, doc = run_json("verify", "hf://org/name@v0.2.0", "--public-key", keys.public_key, *extra)
            assert code == 1 and "verify/wrong-version" in codes(doc), (extra, doc)
    finally:
        proxy.close()


def test_a_listed_size_that_is_not_the_signed_one_is_refused_before_any_weight_moves(hub, keys, tmp_path, monkeypatch):
    """The listing inflates a weight's size (its digest is the signed one): the signed manifest
    states the true size, so the disagreement is a finding before a weight byte is fetched — a
    listing cannot make the client accept a longer transfer than the release signed."""

    def inflated(listing: dict) -> None:
        weight = _siblings(listing)["model.safetensors"]
        weight["size"] = weight["lfs"]["size"] = weight["size"] + 10**9

    proxy = TamperingProxy(hub.base_url, set(), edit_listing=inflated)
    target = tmp_path / "pulled"
    try:
        _through(proxy, monkeypatch)
        for args in (["pull", "--local-dir", target], ["verify"], ["verify", "--no-download"]):
            code, doc = run_json(args[0], "hf://org/name@v0.1.0", "--public-key", keys.public_key, *args[1:])
            assert code == 1 and "verify/size-mismatch" in codes(doc), (args, doc)
            assert "model.safetensors" in [f["path"] for f in doc["findings"] if f["code"] == "verify/size-mismatch"]
    finally:
        proxy.close()
    assert [line for line in proxy.requests if line.startswith("GET") and line.endswith("/model.safetensors")] == []
    assert not target.exists()


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(hub, keys, tmp_path):
    """The download fills the file system: one ``io/disk-full`` line, no traceback, nothing left.
    A 64 KiB tmpfs, mounted in a private mount namespace (no privileges needed), holds the target."""
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare")
    small = tmp_path / "small"
    small.mkdir()
    script = (f"mount -t tmpfs -o size=64k tmpfs {small} || exit 97; {sys.executable} -m tinyrel pull "
              f"hf://org/name@v0.1.0 --public-key {keys.public_key} --local-dir {small}/model; code=$?; "
              f"ls -A {small}; exit $code")  # fmt: skip
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_ENDPOINT": hub.base_url})  # fmt: skip
    if done.returncode == 97:
        pytest.skip("this machine does not allow a private tmpfs")
    assert done.returncode == 1 and "error[io/disk-full]" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout.strip() == "", done.stderr  # one line; the tmpfs is empty


def test_pull_never_removes_what_it_did_not_write_and_keeps_the_targets_mode(hub, keys, tmp_path, monkeypatch):
    """A file written into the (empty) target while the pull runs survives, and the pull then
    delivers nothing; a 0700 target stays 0700."""
    target = tmp_path / "model"
    target.mkdir(mode=0o700)
    os.chmod(target, 0o700)

    def meanwhile(line: str) -> None:
        if "/resolve/" in line and "model.safetensors" in line and not (target / "notes.txt").exists():
            (target / "notes.txt").write_text("mine")

    proxy = TamperingProxy(hub.base_url, set(), on_request=meanwhile)
    try:
        _through(proxy, monkeypatch)
        code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    finally:
        proxy.close()
    assert code == 1 and "output/target-changed" in codes(doc), doc
    assert [p.name for p in target.iterdir()] == ["notes.txt"] and (target / "notes.txt").read_text() == "mine"
    (target / "notes.txt").unlink()
    monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    assert code == 0, doc
    assert oct(target.stat().st_mode & 0o777) == oct(0o700)
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


def test_files_the_signature_excludes_are_not_delivered(hub, keys, model_dir, tmp_path):
    """A bundle that ignores ``run.py`` (model_signing --ignore-paths): the file is on the Hub, but
    it is unverified, so pull does not fetch or deliver it, and says so."""
    from huggingface_hub import HfApi
    from support.hub import HUB_TOKEN

    model = model_dir("bf16")
    (model / "run.py").write_text("import os  # anything at all\n")
    signed = subprocess.run([sys.executable, "-m", "model_signing", "sign", "key", str(model), "--private_key",
                             str(keys.private_key), "--signature", str(model / "model.sig"), "--ignore-paths",
                             str(model / "run.py")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    api.create_repo("lab/ignores", exist_ok=True)
    api.upload_folder(folder_path=str(model), repo_id="lab/ignores")
    target = tmp_path / "pulled"
    code, doc = run_json("pull", "hf://lab/ignores", "--public-key", keys.public_key, "--local-dir", target)
    assert code == 0 and not (target / "run.py").exists(), doc
    assert "verify/not-delivered" in codes(doc, "warning") and doc["files"] == len(list(target.rglob("*.*"))) - 1


def test_a_huge_manifest_is_never_read_into_memory(model_dir, keys):
    """A signed release whose manifest.json was swapped for 1.5 GB (sparse): verify reports it as
    changed while its memory stays far below the file's size."""
    root = model_dir("bf16")
    assert run("manifest", root, "-o", root / "manifest.json").exit_code == 0
    assert run("sign", root, "--private-key", keys.private_key, "--signature", root / "model.sig").exit_code == 0
    with (root / "manifest.json").open("r+b") as handle:
        handle.truncate(1536 * 1024 * 1024)
    probe = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print(done.stdout + done.stderr)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "tinyrel", "verify", str(root),
                          "--public-key", str(keys.public_key)], capture_output=True, text=True,
                         timeout=300).stdout  # fmt: skip
    code, peak_kib = map(int, out.split("\n", 1)[0].split())
    assert code == 1 and "error[verify/changed]" in out and "manifest.json" in out, out
    assert peak_kib < 600 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_diff_does_not_take_the_hubs_manifest_on_trust(hub, keys, tmp_path):
    """``diff hf://`` reads a release through its manifest.json: one that does not describe the
    repo's files is refused; one that lies about a tensor is refused against the signature, and
    without trust material the output says the manifest was not verified."""
    import json
    import shutil

    from huggingface_hub import HfApi, snapshot_download
    from support.hub import HUB_TOKEN

    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    copy = Path(snapshot_download("org/name", revision="v0.1.0", local_dir=tmp_path / "copy", endpoint=hub.base_url))
    shutil.rmtree(copy / ".cache")
    genuine = tmp_path / "genuine.json"
    shutil.copy(copy / "manifest.json", genuine)
    manifest = json.loads(genuine.read_text())
    for repo, forge in (("lab/lies-about-a-tensor", ("tensors", "digest", "0" * 64)),
                        ("lab/lies-about-a-file", ("files", "size", 1))):  # fmt: skip
        forged = json.loads(json.dumps(manifest))
        table, key, value = forge
        forged[table][0][key] = value
        (copy / "manifest.json").write_text(json.dumps(forged))
        api.create_repo(repo, exist_ok=True)
        api.upload_folder(folder_path=str(copy), repo_id=repo)
    code, doc = run_json("diff", "hf://lab/lies-about-a-file", genuine)
    assert code == 2 and codes(doc) == {"diff/manifest-mismatch"}, doc
    code, doc = run_json("diff", "hf://lab/lies-about-a-tensor", genuine)
    assert code == 0 and "diff/unsigned" in codes(doc, "warning")  # the Hub's word, and said to be
    code, doc = run_json("diff", "hf://lab/lies-about-a-tensor", genuine, "--public-key", keys.public_key)
    assert code == 2 and codes(doc) == {"verify/changed"}, doc
    code, doc = run_json("diff", "hf://org/name@v0.1.0", genuine, "--public-key", keys.public_key, "--exit-code")
    assert code == 0 and doc["identical"] and "diff/signed" in codes(doc, "info"), doc


@pytest.mark.slow
def test_a_file_over_256_mib_downloads_over_plain_http(hub, keys, tmp_path):
    """Over LFS (or any Hub without Xet) a file's size is declared: only bodies with no declared
    size are held to the 256 MiB cap, so a 300 MiB file verifies (it used to fail at 256 MiB)."""
    if hub.mode == "xet":
        pytest.skip("over Xet hf_xet moves the bytes")
    from huggingface_hub import HfApi
    from support.hub import HUB_TOKEN

    model = tmp_path / "big"
    model.mkdir()
    with (model / "weights.bin").open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    assert run("sign", model, "--private-key", keys.private_key, "--signature", model / "model.sig").exit_code == 0
    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    api.create_repo("lab/big", exist_ok=True)
    api.upload_folder(folder_path=str(model), repo_id="lab/big")
    code, doc = run_json("verify", "hf://lab/big", "--public-key", keys.public_key)
    assert code == 0 and doc["files"] == 1, doc


def test_an_old_release_under_a_new_tag_or_a_copy_in_another_repo_does_not_verify(hub, keys, tmp_path):
    """Rollback and substitution: every byte is genuinely signed, but it is not the release asked for."""
    import shutil

    from huggingface_hub import HfApi, snapshot_download
    from support.hub import HUB_TOKEN

    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    old = api.model_info("org/name", revision="v0.1.0").sha
    api.create_tag("org/name", tag="v0.2.0", revision=old, exist_ok=True)  # the Hub passes v0.1.0 off as v0.2.0
    copy = Path(snapshot_download("org/name", revision="v0.1.0", local_dir=tmp_path / "copy", endpoint=hub.base_url))
    shutil.rmtree(copy / ".cache")
    api.create_repo("lab/copy", exist_ok=True)
    copied = api.upload_folder(folder_path=str(copy), repo_id="lab/copy").oid
    api.create_tag("lab/copy", tag="v0.1.0", revision=copied, exist_ok=True)
    trust = ["--public-key", keys.public_key]
    for uri, code in (("hf://org/name@v0.2.0", "verify/wrong-version"), ("hf://lab/copy@v0.1.0", "verify/wrong-repo"),
                      (f"hf://lab/copy@{copied}", "verify/wrong-repo")):  # fmt: skip
        target = tmp_path / "pulled"
        exit_code, doc = run_json("pull", uri, *trust, "--local-dir", target)
        assert exit_code == 1 and code in codes(doc) and not target.exists(), (uri, doc)
        exit_code, doc = run_json("verify", uri, *trust, "--no-download")
        assert exit_code == 1 and code in codes(doc), (uri, doc)
    for uri in ("hf://org/name@v0.1.0", "hf://org/name", f"hf://org/name@{old}"):  # main, a commit: no version
        exit_code, doc = run_json("verify", uri, *trust)
        assert exit_code == 0 and doc["release"] == {"name": NAME, "version": "0.1.0", "repo_id": "org/name"}, doc
