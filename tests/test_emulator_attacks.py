"""The shipped Hub emulator under attack: hostile names, malformed requests, requests without the
token.  The emulator is the thing under test, so the hostile requests are raw HTTP (the real
huggingface_hub client refuses to send most of them); what a client sees back is checked with the
client's own error handling (``hf_raise_for_status``)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
from pathlib import Path

import httpx2 as httpx  # huggingface_hub's own HTTP library: hf_raise_for_status reads its responses
import pytest
from support.hub import HUB_TOKEN

AUTH = {"Authorization": f"Bearer {HUB_TOKEN}"}
SECRET = b"a file of the emulator's host: never served\n"


def api(hub, token=HUB_TOKEN):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.base_url, token=token)


def commit(hub, repo: str, *operations: tuple[str, dict], revision: str = "main") -> httpx.Response:
    """A raw NDJSON commit, as huggingface_hub sends it (header line, then one line per operation)."""
    lines = [{"key": "header", "value": {"summary": "attack", "description": ""}}]
    lines += [{"key": key, "value": value} for key, value in operations]
    return httpx.post(f"{hub.base_url}/api/models/{repo}/commit/{revision}", headers=AUTH, timeout=10,
                      content="\n".join(json.dumps(line) for line in lines))  # fmt: skip


def regular(path: str, data: bytes = b"x") -> tuple[str, dict]:
    return "file", {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}


def assert_bad_request(response: httpx.Response, match: str) -> None:
    """HTTP 400 in the Hub's error shape: huggingface_hub raises its BadRequestError with the message."""
    from huggingface_hub.errors import BadRequestError
    from huggingface_hub.utils import hf_raise_for_status

    assert response.status_code == 400, (response.status_code, response.text)
    assert match in response.json()["error"] and match in response.headers["X-Error-Message"]
    with pytest.raises(BadRequestError, match=match):
        hf_raise_for_status(response)


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_an_lfs_oid_naming_a_host_file_is_refused_and_never_served(xet_hub, tmp_path, form):
    """A commit whose ``lfsFile`` oid is a path (``../../secret`` or ``/…/secret``) of the right size
    was accepted, and ``resolve`` then served the host's file."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    blobs = xet_hub.hub.data / "blobs"
    assert not secret.resolve().is_relative_to(xet_hub.hub.data.resolve())
    oid = os.path.relpath(secret, blobs) if form == "relative" else str(secret)
    api(xet_hub).create_repo("org/victim")
    lfs = {"path": "model.safetensors", "algo": "sha256", "oid": oid, "size": len(SECRET)}
    assert_bad_request(commit(xet_hub, "org/victim", ("lfsFile", lfs)), "Invalid LFS oid")
    download = httpx.get(f"{xet_hub.base_url}/org/victim/resolve/main/model.safetensors", headers=AUTH, timeout=10)
    assert download.status_code == 404 and SECRET not in download.content
    assert {s.rfilename for s in api(xet_hub).model_info("org/victim").siblings} == {".gitattributes"}


def test_malformed_oids_are_refused_wherever_they_arrive(xet_hub, tmp_path):
    api(xet_hub).create_repo("org/m")
    real = hashlib.sha256(b"x").hexdigest()
    for oid in (real.upper(), real[:63], real + "/x", "../" + real, 7):
        lfs = {"path": "w.safetensors", "algo": "sha256", "oid": oid, "size": 1}
        assert_bad_request(commit(xet_hub, "org/m", ("lfsFile", lfs)), "Invalid LFS oid")
        batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": 1}]}
        response = httpx.post(f"{xet_hub.base_url}/org/m.git/info/lfs/objects/batch", json=batch, headers=AUTH)
        assert_bad_request(response, "Invalid LFS oid")
    verify = httpx.post(f"{xet_hub.base_url}/_lfs/org/m/..%2F..%2Fsecret/verify", json={"size": 1}, headers=AUTH)
    assert_bad_request(verify, "Invalid LFS oid")


HOSTILE_PATHS = ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a//b.txt", "./a.txt", "a/./b.txt", "a/..",
                 "nul\x00byte.txt", "line\nbreak.txt", "..\\..\\escape.txt", ".git/config", "", "x" * 256,
                 "/".join(["d" * 200] * 6), "\ud800.txt"]  # fmt: skip


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: repr(p)[:30])
def test_file_paths_in_commits_are_relative_normalised_and_sane(xet_hub, path):
    api(xet_hub).create_repo("org/m")
    assert_bad_request(commit(xet_hub, "org/m", regular(path)), "Invalid path")
    assert_bad_request(commit(xet_hub, "org/m", ("deletedFile", {"path": path})), "Invalid path")
    assert {s.rfilename for s in api(xet_hub).model_info("org/m").siblings} == {".gitattributes"}


def test_file_paths_in_urls_are_checked_too(xet_hub):
    api(xet_hub).create_repo("org/m")
    base = f"{xet_hub.base_url}/api/models/org/m"
    for bad in ("..%2F..%2Fsecret", "a%00b", "%2Fetc%2Fpasswd"):
        assert_bad_request(httpx.get(f"{xet_hub.base_url}/org/m/resolve/main/{bad}", headers=AUTH), "Invalid path")
        assert_bad_request(httpx.get(f"{base}/tree/main/{bad}", headers=AUTH), "Invalid path")
    info = httpx.post(f"{base}/paths-info/main", data={"paths": ["../x"]}, headers=AUTH)
    assert_bad_request(info, "Invalid path")
    files = {"files": [{"path": "../x", "sample": "", "size": 1}]}
    assert_bad_request(httpx.post(f"{base}/preupload/main", json=files, headers=AUTH), "Invalid path")


def test_a_good_commit_still_lands(xet_hub):
    """The checks refuse names, not files: unicode, dots inside names, nested folders all pass."""
    api(xet_hub).create_repo("org/m")
    names = ["évals/résultats.jsonl", "a.b/c..d.txt", "deep/er/still/file.txt", ".gitattributes", "README.md"]
    response = commit(xet_hub, "org/m", *(regular(name, name.encode()) for name in names))
    assert response.status_code == 200, response.text
    assert {s.rfilename for s in api(xet_hub).model_info("org/m").siblings} == set(names)
    response = commit(xet_hub, "org/m", ("deletedFolder", {"path": "deep/"}))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["../escape", "a/b/c", "org/..", "org/.hidden", "org/café", "a--b", "x.git",
                                  "org/" + "n" * 97, "", "org/a b"])  # fmt: skip
def test_repo_ids_follow_the_hubs_rules(xet_hub, name):
    namespace, _, short = name.rpartition("/")
    body = {"name": short, "organization": namespace or None, "private": False}
    response = httpx.post(f"{xet_hub.base_url}/api/repos/create", json=body, headers=AUTH, timeout=10)
    assert_bad_request(response, "Invalid repo id")
    assert not xet_hub.hub.state["repos"]


def test_revisions_and_tags_are_safe_ref_names(xet_hub):
    api(xet_hub).create_repo("org/m")
    base = f"{xet_hub.base_url}/api/models/org/m"
    for tag in ("../../x", "v1..2", "v1\n", "-v1", "a//b", "v1.lock", ".hidden", "v1/", "x" * 300, ["v1"]):
        assert_bad_request(httpx.post(f"{base}/tag/main", json={"tag": tag}, headers=AUTH), "Invalid revision")
    assert xet_hub.hub.repo("org/m")["tags"] == {}
    assert_bad_request(commit(xet_hub, "org/m", regular("a.txt"), revision="..%2F..%2Fmain"), "Invalid revision")
    assert_bad_request(httpx.delete(f"{base}/tag/..%2Fx", headers=AUTH), "Invalid revision")
    resolve = httpx.get(f"{xet_hub.base_url}/org/m/resolve/%2E%2E/.gitattributes", headers=AUTH)
    assert_bad_request(resolve, "Invalid revision")
    tagged = httpx.post(f"{base}/tag/main", json={"tag": "v0.1.0+build.7"}, headers=AUTH)
    assert tagged.status_code == 200
    assert [t.name for t in api(xet_hub).list_repo_refs("org/m").tags] == ["v0.1.0+build.7"]


def test_a_malformed_request_is_a_400_not_a_dropped_connection(xet_hub):
    """A body of the wrong shape killed the handler (the client saw the connection close, and
    retried); a negative Content-Length hung the handler thread on ``read(-1)``."""
    api(xet_hub).create_repo("org/m")
    base = xet_hub.base_url
    cases = [
        ("POST", "/api/models/org/m/commit/main", b"{not json"),
        ("POST", "/api/models/org/m/commit/main", b'{"key": "file", "value": {"path": "a", "content": "!!"}}'),
        ("POST", "/api/models/org/m/commit/main", b'{"key": "lfsFile", "value": {"path": "a"}}'),
        ("POST", "/api/models/org/m/commit/main", b'{"key": "rename", "value": {}}'),
        ("POST", "/api/repos/create", b"[]"),
        ("POST", "/org/m.git/info/lfs/objects/batch", b'{"objects": "all"}'),
        ("POST", "/api/models/org/m/tag/main", b"{}"),
        ("POST", "/_emulator/faults", b'{"delete_everything": 1}'),
    ]
    for method, path, body in cases:
        response = httpx.request(method, base + path, content=body, headers=AUTH, timeout=10)
        assert response.status_code == 400, (path, body, response.status_code)
    with socket.create_connection(("127.0.0.1", xet_hub.server_address[1]), timeout=10) as raw:
        raw.sendall(b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + HUB_TOKEN.encode()
                    + b"\r\nContent-Length: -1\r\n\r\n{}")  # fmt: skip
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    assert list(xet_hub.hub.state["repos"]) == ["org/m"]


def test_an_error_quoting_a_non_latin1_name_is_still_an_answer(xet_hub):
    """The message of an error travels in a header too: quoting a path like ``模型.safetensors``
    there killed the handler (UnicodeEncodeError) and the client saw the connection close."""
    api(xet_hub).create_repo("org/m")
    lfs = {"path": "模型.safetensors", "algo": "sha256", "oid": hashlib.sha256(b"?").hexdigest(), "size": 1}
    response = commit(xet_hub, "org/m", ("lfsFile", lfs))
    assert response.status_code == 422 and "模型.safetensors" in response.json()["error"]
    assert "\\u6a21\\u578b.safetensors" in response.headers["X-Error-Message"]


def _xet_upload(hub, tmp_path: Path) -> tuple[str, int, Path]:
    """A file uploaded through the real hf_xet (but not committed): its SHA-256, size and shard."""
    from huggingface_hub import CommitOperationAdd

    data = os.urandom(150_000)
    operation = CommitOperationAdd(path_in_repo="w.safetensors", path_or_fileobj=data)
    api(hub).preupload_lfs_files("org/m", [operation])
    [shard] = (hub.hub.data / "cas" / "xet" / "xorbs" / "shards").glob("*.mdb")
    return hashlib.sha256(data).hexdigest(), len(data), shard


def test_the_xet_cas_reads_only_the_shards_hf_xet_writes(xet_hub, tmp_path):
    """A shard cut short crashed the commit handler (struct.error); a symlink or a stray ``*.mdb``
    in the shard folder was read as a shard, wherever it pointed."""
    api(xet_hub).create_repo("org/m")
    sha, size, shard = _xet_upload(xet_hub, tmp_path)
    shard_bytes = shard.read_bytes()
    outside = tmp_path / "elsewhere.mdb"
    outside.write_bytes(shard_bytes)
    shard.unlink()
    lfs = {"path": "w.safetensors", "algo": "sha256", "oid": sha, "size": size}
    shards = shard.parent
    for planted in ("symlink", "stray name", "cut short"):
        if planted == "symlink":
            (shards / shard.name).symlink_to(outside)
        elif planted == "stray name":
            (shards / "notes.mdb").write_bytes(shard_bytes)
        else:
            (shards / ("0" * 64 + ".mdb")).write_bytes(shard_bytes[: 48 + 48 + 8])  # entries cut off
        response = commit(xet_hub, "org/m", ("lfsFile", lfs))
        assert response.status_code == 422 and "never uploaded" in response.json()["error"], (planted, response.text)
        for path in shards.iterdir():
            path.unlink()
    shard.write_bytes(shard_bytes)  # the real shard, where hf_xet put it: the commit lands
    response = commit(xet_hub, "org/m", ("lfsFile", lfs))
    assert response.status_code == 200, response.text


def _route_requests(base: str, oid: str) -> list[tuple[str, str, str, dict | None]]:
    """(handler, method, url, JSON body): one request per route, private repos for the reads."""
    return [
        ("whoami", "GET", "/api/whoami-v2", None),
        ("refs", "GET", "/api/models/org/private/refs", None),
        ("xet_token", "GET", "/api/models/org/private/xet-read-token/main", None),
        ("xet_token", "GET", "/api/models/org/public/xet-write-token/main", None),
        ("repo_info", "GET", "/api/models/org/private/revision/main", None),
        ("repo_info", "GET", "/api/models/org/private", None),
        ("tree", "GET", "/api/models/org/private/tree/main", None),
        ("resolve_file", "GET", "/org/private/resolve/main/.gitattributes", None),
        ("resolve_file", "HEAD", "/org/private/resolve/main/.gitattributes", None),
        ("emulator_stats", "GET", "/_emulator/stats", None),
        ("create_repo", "POST", "/api/repos/create", {"name": "new", "organization": "org"}),
        ("validate_yaml", "POST", "/api/validate-yaml", {"content": "---\n---\n", "repoType": "model"}),
        ("preupload", "POST", "/api/models/org/public/preupload/main", {"files": []}),
        ("commit", "POST", "/api/models/org/public/commit/main", {"key": "header", "value": {"summary": "s"}}),
        ("create_tag", "POST", "/api/models/org/public/tag/main", {"tag": "v9"}),
        ("paths_info", "POST", "/api/models/org/private/paths-info/main", None),
        ("lfs_batch", "POST", "/org/public.git/info/lfs/objects/batch", {"objects": [{"oid": oid, "size": 1}]}),
        ("lfs_verify", "POST", f"/_lfs/org/public/{oid}/verify", {"size": 1}),
        ("emulator_faults", "POST", "/_emulator/faults", {"fail_commit": 1}),
        ("lfs_upload", "PUT", f"/_lfs/org/public/{oid}", None),
        ("repo_settings", "PUT", "/api/models/org/public/settings", {"private": True}),
        ("delete_tag", "DELETE", "/api/models/org/public/tag/v1", None),
    ]


def test_with_a_token_every_route_needs_it_except_reads_of_public_repos(xet_hub):
    """xet-read-token of a private repo, ``/_emulator/faults`` (and stats) and validate-yaml
    answered without a token.  Now: every route without the token (or with a wrong one) is 401 —
    the pre-signed LFS upload is 403 without its signature — and nothing changes; reads of a
    public repo stay anonymous, as on the Hub."""
    from tinyrel.testing.hub import ROUTES

    hub = api(xet_hub)
    hub.create_repo("org/private", private=True)
    hub.create_repo("org/public")
    hub.create_tag("org/public", tag="v1")
    oid = hashlib.sha256(b"x").hexdigest()
    requests = _route_requests(xet_hub.base_url, oid)
    assert {name for name, *_ in requests} == {name for routes in ROUTES.values() for _, name in routes}
    before = json.dumps([xet_hub.hub.state, xet_hub.hub.faults], sort_keys=True)
    for name, method, path, body in requests:
        for headers in ({}, {"Authorization": "Bearer hf_wrongToken"}):
            response = httpx.request(method, xet_hub.base_url + path, json=body, headers=headers, timeout=10)
            expected = 403 if name == "lfs_upload" else 401
            assert response.status_code == expected, (name, method, path, headers, response.status_code)
    assert json.dumps([xet_hub.hub.state, xet_hub.hub.faults], sort_keys=True) == before
    for path in ("/api/models/org/public", "/api/models/org/public/refs", "/api/models/org/public/tree/main",
                 "/api/models/org/public/xet-read-token/main", "/org/public/resolve/main/.gitattributes"):  # fmt: skip
        assert httpx.get(xet_hub.base_url + path, timeout=10).status_code == 200, path
    info = httpx.post(f"{xet_hub.base_url}/api/models/org/public/paths-info/main", data={"paths": [".gitattributes"]})
    assert info.status_code == 200 and info.json()[0]["path"] == ".gitattributes"
    with_token = httpx.get(f"{xet_hub.base_url}/api/models/org/private/xet-read-token/main", headers=AUTH)
    assert with_token.status_code == 200


def test_a_repo_made_private_gives_no_xet_read_token_to_anyone_without_the_token(xet_hub, tmp_path):
    """The real client's own token refresh: someone who noted a file's Xet refresh route while the
    repo was public got a CAS read token for it anonymously after it had become private."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import RepositoryNotFoundError
    from huggingface_hub.utils._xet import refresh_xet_connection_info

    hub = api(xet_hub)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(os.urandom(100_000))
    hub.create_repo("org/m")
    hub.upload_file(path_or_fileobj=str(weights), path_in_repo="w.safetensors", repo_id="org/m")
    url = hf_hub_url("org/m", "w.safetensors", endpoint=xet_hub.base_url)
    noted = get_hf_file_metadata(url, token=False).xet_file_data  # anyone may, while it is public
    assert noted is not None and noted.refresh_route.endswith("/xet-read-token/" + hub.model_info("org/m").sha)
    hub.update_repo_settings("org/m", private=True)
    with pytest.raises(RepositoryNotFoundError):  # (not cached by the client: never fetched anonymously before)
        refresh_xet_connection_info(file_data=noted, headers={"user-agent": "someone-without-the-token"})
    owner = refresh_xet_connection_info(file_data=noted, headers={**AUTH, "user-agent": "the-owner"})
    assert owner.endpoint == xet_hub.xet.endpoint
    owned = hf_hub_download("org/m", "w.safetensors", token=HUB_TOKEN, cache_dir=tmp_path / "owner",
                            endpoint=xet_hub.base_url)  # fmt: skip
    assert Path(owned).read_bytes() == weights.read_bytes()
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/m", "w.safetensors", token=False, cache_dir=tmp_path / "anonymous",
                        endpoint=xet_hub.base_url)  # fmt: skip
