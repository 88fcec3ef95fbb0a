"""Issue 19, items 1, 2, 4 and 6: the base model pinned by commit, checked against the weights from its
headers, carried by the signed release, and diffed from headers.

The fine-tune is the example workspace (its stand-in weights, written with mlx); its base on the Hub
emulator is those very weights (the same shapes), or mlx-lm's own Qwen3 of another size, or a copy
in fp16.  Every Hub test runs over Xet and over LFS.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import time
import tomllib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN
from support.servers import LoopbackServer
from support.workspace import edit, spec_path

import tinyrel
from tinyrel.findings import TinyrelError

NAME = "qwen3-4b-fileops"
COMMIT = re.compile(r"\b[0-9a-f]{40}\b")


def standin(ws: Path) -> Path:
    return next((ws / "hf-cache").rglob("snapshots/*"))


def upload(server, folder: Path, repo_id: str, *, private: bool = False) -> str:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.base_url, token=HUB_TOKEN)
    api.create_repo(repo_id, exist_ok=True, private=private)
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id).oid


def based_on(ws: Path, repo_id: str, relation: str = "finetune") -> None:
    """The example's spec pointed at another base (``base_model`` and ``[base] source`` agree)."""
    edit(spec_path(ws), 'base_model = "Qwen/Qwen3-4B"', f'base_model = "{repo_id}"')
    edit(spec_path(ws), 'source = "hf://Qwen/Qwen3-4B@main"', f'source = "hf://{repo_id}@main"')
    if relation != "finetune":
        edit(spec_path(ws), 'relation = "finetune"', f'relation = "{relation}"')


def base_section(card: str) -> str:
    return card.split("## Base model", 1)[1].split("\n## ", 1)[0]


def lock_entries(ws: Path) -> dict[str, dict]:
    return {e["name"]: e for e in tomllib.loads((ws / "tinyrel.lock").read_text())["sources"]}


# -- the spec's [base] ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('relation = "finetune"', 'relation = "distilled"', "must be one of finetune, adapter, quantized, merge"),
        ('source = "hf://Qwen/Qwen3-4B@main"', 'source = "hf://Qwen/Qwen3-8B@main"', "would name another base"),
        ('source = "hf://Qwen/Qwen3-4B@main"', 'source = "s3://bucket/qwen"', "unknown scheme"),
        ('source = "hf://Qwen/Qwen3-4B@main"', 'source = "hf://Qwen@main"', "must be hf://ORG/NAME[@REVISION]"),
        ('relation = "finetune"', 'relation = "adapter"', 'kind = "model" and [base] relation = "adapter" disagree'),
        ('artifact_size = "7.5 GB', 'kind = "lora"\nartifact_size = "7.5 GB', "must be one of model, adapter"),
    ],
    ids=["relation", "other-repo", "scheme", "repo-id", "adapter-relation", "kind"],
)
def test_a_malformed_base_table_is_a_spec_error_with_its_line(example, old, new, message):
    edit(spec_path(example), old, new)
    code, doc = run_json("check", "--offline", cwd=example)
    finding = next(f for f in doc["findings"] if f["code"] == "spec/invalid")
    assert code == 1 and message in finding["message"] and finding.get("line"), doc
    line = spec_path(example).read_text().splitlines()[finding["line"] - 1]
    assert new.splitlines()[0] in line or "[base]" in line or "kind" in line, (line, finding)


def test_an_adapter_kind_needs_its_base_and_a_typo_in_base_is_named(example):
    text = spec_path(example).read_text()
    start = text.index("[base]")
    spec_path(example).write_text(text[:start] + text[text.index("[distribution]"):])
    edit(spec_path(example), 'artifact_size = "7.5 GB', 'kind = "adapter"\nartifact_size = "7.5 GB')
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "needs its base" in doc["findings"][0]["message"], doc
    spec_path(example).write_text(text.replace('relation = "finetune"', 'relation = "finetune"\nrelaton = "merge"'))
    code, doc = run_json("check", "--offline", cwd=example)
    note = next(f for f in doc["findings"] if f["code"] == "spec/unknown-key")
    assert "did you mean 'relation'" in note["message"] and note["line"]


# -- the example: its base declared, its pin unresolved offline ---------------------------------------


def test_the_example_declares_its_base_and_offline_says_the_pin_is_unresolved(example):
    card = tinyrel.render_card(example)
    from huggingface_hub import ModelCard

    data = ModelCard(card).data
    assert data.base_model == "Qwen/Qwen3-4B" and data.base_model_relation == "finetune"
    section = base_section(card)
    assert "The base pin is unresolved" in section and not COMMIT.search(section)
    code, doc = run_json("check", "--offline", cwd=example)
    assert doc["checks"]["base-model"] == "skipped" and not any(f["code"].startswith("base/") for f in doc["findings"])
    code, doc = run_json("check", cwd=example)  # online: no Hub asked (nothing is pinned), a warning says so
    assert "base/unpinned" in codes(doc, "warning") and doc["checks"]["base-model"] == "skipped"
    assert "tinyrel lock --base" in next(f["message"] for f in doc["findings"] if f["code"] == "base/unpinned")


# -- a fine-tune's base pinned on the Hub --------------------------------------------------------------


@pytest.fixture
def pinned(example, hub):
    """The example based on ``lab/qwen3-base`` (the stand-in's own weights on the emulator), pinned
    with ``tinyrel lock --base``; returns the commit of ``main``."""
    commit = upload(hub, standin(example), "lab/qwen3-base")
    based_on(example, "lab/qwen3-base")
    result = run("lock", "--base", cwd=example)
    assert result.exit_code == 0 and f"at commit {commit}" in result.output, result.output
    return commit


def test_lock_base_pins_main_to_its_commit_and_the_gate_checks_the_weights_against_it(example, pinned):
    entry = lock_entries(example)[f"{NAME}.base"]
    assert entry["revision"] == pinned and entry["uri"] == "hf://lab/qwen3-base@main" and entry["public"] is True
    pins = {f["path"]: f for f in entry["files"]}
    assert pins["model.safetensors"]["sha256"] == _sha256(standin(example) / "model.safetensors")
    code, doc = run_json("check", cwd=example)
    assert codes(doc) == {"blocker/weight-distribution"} and doc["checks"]["base-model"] == "pass", doc["findings"]
    section = base_section(tinyrel.render_card(example, offline=False))
    assert f"pinned at commit `{pinned}`, which the Hub confirmed (public)" in section
    assert f"pinned at commit `{pinned}` as `tinyrel.lock` records it (not confirmed" in base_section(
        tinyrel.render_card(example))
    # re-locking the weights, and lock --check, keep the base's pin
    weights = tomllib.loads(spec_path(example).read_text())["weights"]["source"]
    assert run("lock", weights, cwd=example).exit_code == 0
    assert lock_entries(example)[f"{NAME}.base"] == entry
    assert run("lock", "--check", cwd=example).exit_code == 0


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_base_of_another_shape_fails_naming_each_tensor(example, hub, adapter_store):
    upload(hub, adapter_store["other-base"], "lab/other")
    based_on(example, "lab/other")
    assert run("lock", "--base", cwd=example).exit_code == 0
    code, doc = run_json("check", cwd=example)
    found = {f["code"] for f in doc["findings"]}
    assert code == 1 and {"base/shape", "base/config"} <= found, doc["findings"]
    messages = [f["message"] for f in doc["findings"] if f["code"] == "base/shape"]
    assert "model.embed_tokens.weight: shape [512, 64] in the release, [320, 64] in the base" in messages[0] or any(
        "model.layers.0.mlp.up_proj.weight: shape [128, 64] in the release, [96, 64] in the base" in m
        for m in messages), messages  # fmt: skip
    assert any("intermediate_size: 128 in the release, 96 in the base" in f["message"] for f in doc["findings"])


def test_a_dtype_change_is_a_finding_of_its_own(example, hub, tmp_path):
    import mlx.core as mx

    fp16 = shutil.copytree(standin(example), tmp_path / "fp16", symlinks=False)
    weights = mx.load(str(fp16 / "model.safetensors"))
    mx.save_safetensors(str(fp16 / "model.safetensors"), {k: v.astype(mx.float16) for k, v in weights.items()},
                        metadata={"format": "mlx"})  # fmt: skip
    index = json.loads((fp16 / "model.safetensors.index.json").read_text())
    (fp16 / "model.safetensors.index.json").write_text(json.dumps(index))
    upload(hub, fp16, "lab/qwen3-fp16")
    based_on(example, "lab/qwen3-fp16")
    assert run("lock", "--base", cwd=example).exit_code == 0
    code, doc = run_json("check", cwd=example)
    dtype = [f["message"] for f in doc["findings"] if f["code"] == "base/dtype"]
    assert code == 1 and "base/shape" not in codes(doc), doc["findings"]
    assert "model.embed_tokens.weight: dtype BF16 in the release, F16 in the base" in dtype


def test_a_pin_the_hub_contradicts_is_refuted_and_not_stated(example, pinned):
    lock = example / "tinyrel.lock"
    entry = lock_entries(example)[f"{NAME}.base"]
    genuine = next(f["sha256"] for f in entry["files"] if f["path"] == "model.safetensors")
    text = lock.read_text()
    at = text.index(f'name = "{NAME}.base"')  # the base's pin only (the release's weights are the same bytes)
    lock.write_text(text[:at] + text[at:].replace(genuine, "0" * 64))
    code, doc = run_json("check", cwd=example)
    assert code == 1 and "base/pin-refuted" in codes(doc), doc["findings"]
    assert "which the Hub contradicts" in base_section(tinyrel.render_card(example, offline=False))


def test_a_private_base_is_refused_unless_the_spec_allows_it(example, hub):
    commit = upload(hub, standin(example), "lab/private-base", private=True)
    based_on(example, "lab/private-base")
    assert run("lock", "--base", cwd=example).exit_code == 0
    code, doc = run_json("check", cwd=example)
    assert code == 1 and "base/not-public" in codes(doc), doc["findings"]
    edit(spec_path(example), 'relation = "finetune"', 'relation = "finetune"\nallow_restricted = true')
    code, doc = run_json("check", cwd=example)
    assert "base/not-public" not in codes(doc) and doc["checks"]["base-model"] == "pass", doc["findings"]
    assert f"pinned at commit `{commit}`, which the Hub confirmed (private or gated" in base_section(
        tinyrel.render_card(example, offline=False))


# -- the signed release carries the base's pins -------------------------------------------------------


def test_the_signed_release_carries_the_base_pins(example, pinned, keys, tmp_path):
    out = tmp_path / "out"
    code, doc = run_json("publish", "--out", out, "--private-key", keys.private_key, cwd=example)
    assert code == 0, doc
    published = {e["name"]: e for e in tomllib.loads((out / "tinyrel.lock").read_text())["sources"]}
    assert published[f"{NAME}.base"]["revision"] == pinned and published[f"{NAME}.base"]["files"]
    snapshot = tomllib.loads((out / "release.toml").read_text())
    assert snapshot["base"]["source"] == f"hf://lab/qwen3-base@{pinned}" and snapshot["base"]["relation"] == "finetune"
    assert run("verify", out, "--public-key", keys.public_key).exit_code == 0
    edit(out / "tinyrel.lock", published[f"{NAME}.base"]["files"][0]["sha256"], "f" * 64)
    code, doc = run_json("verify", out, "--public-key", keys.public_key)
    assert code == 1 and "verify/changed" in codes(doc)  # model.sig covers the pins


def test_a_local_base_directory_is_not_published_as_a_path(example, keys, tmp_path):
    base = shutil.copytree(standin(example), tmp_path / "bases" / "qwen3", symlinks=False)
    spec = spec_path(example)
    edit(spec, 'source = "hf://Qwen/Qwen3-4B@main"', f'source = "{base}"')
    assert run("lock", "--base", cwd=example).exit_code == 0
    code, doc = run_json("check", cwd=example)  # compared from the local headers; not a commit: a warning
    assert "base/unpinned" in codes(doc, "warning") and doc["checks"]["base-model"] == "warn", doc["findings"]
    out = tmp_path / "out"
    assert run("publish", "--out", out, "--private-key", keys.private_key, cwd=example).exit_code == 0
    assert tomllib.loads((out / "release.toml").read_text())["base"]["source"] == "redacted:local-path"
    assert str(tmp_path) not in (out / "tinyrel.lock").read_text()


# -- diff against a base from its headers --------------------------------------------------------------


class RangeHub(LoopbackServer):
    """A front for the emulator that answers ``Range`` requests as the Hub's storage does (206 with
    the bytes asked for); it counts the bytes it sends per file."""

    def __init__(self, upstream: str):
        import httpx

        self.upstream, self.sent, self.client = upstream, {}, httpx.Client(timeout=60)
        super().__init__(_RangeHandler)

    def close(self) -> None:
        super().close()
        self.client.close()


class _RangeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RangeHub

    def log_message(self, *args) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "range")}
        answer = self.server.client.request(self.command, self.server.upstream + self.path, headers=headers,
                                            content=self.rfile.read(length) if length else None)  # fmt: skip
        body, status = answer.content, answer.status_code
        out = {k: v for k, v in answer.headers.items()
               if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
        wanted = re.match(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if wanted and status == 200 and self.command == "GET":
            start, end = int(wanted.group(1)), min(int(wanted.group(2)), len(body) - 1)
            out["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start : end + 1], 206
        if "/resolve/" in self.path and self.command == "GET":
            name = self.path.split("?")[0].rsplit("/", 1)[1]
            self.server.sent[name] = self.server.sent.get(name, 0) + len(body)
        self.send_response(status)
        for key, value in out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if self.command != "HEAD" else
                                               answer.headers.get("content-length", "0")))  # fmt: skip
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _handle


def test_diff_against_a_base_reads_only_its_headers_and_says_so(example, hub, monkeypatch, adapter_store):
    commit = upload(hub, standin(example), "lab/qwen3-base")
    front = RangeHub(hub.base_url)
    try:
        monkeypatch.setenv("HF_ENDPOINT", front.base_url)
        result = run("diff", f"hf://lab/qwen3-base@{commit}", standin(example))
        code, doc = run_json("diff", f"hf://lab/qwen3-base@{commit}", standin(example), "--exit-code")
    finally:
        front.close()
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
    assert result.exit_code == 0 and "same tensor names, shapes and dtypes (header-only)" in result.output, result
    assert "no weights downloaded" in result.output and "identical" not in result.output.split("\n")[0]
    assert code == 0 and doc["values_compared"] is False and "diff/headers-only" in codes(doc, "info")
    weights = (standin(example) / "model.safetensors").stat().st_size
    assert 0 < front.sent["model.safetensors"] <= 2 * 100_001 < weights, front.sent  # two diffs, one range read each
    upload(hub, adapter_store["other-base"], "lab/other")
    code, doc = run_json("diff", "hf://lab/other@main", standin(example))
    assert code == 0 and doc["tensors"]["shape_changed"], doc


def test_a_header_read_is_bounded_when_the_hub_ignores_the_range(example, hub, monkeypatch):
    """The emulator answers a range request with the whole file (HTTP allows it): tinyrel reads at
    most the header cap, and a file longer than the cap is refused there, not read into memory."""
    import tinyrel.hub.safetensors_headers as remote

    commit = upload(hub, standin(example), "lab/qwen3-base")
    monkeypatch.setattr(remote, "MAX_HEADER_BYTES", 1000)
    with pytest.raises(TinyrelError) as refused:
        tinyrel.diff(f"hf://lab/qwen3-base@{commit}", standin(example))
    assert refused.value.code == "hub/untrusted-response" and "longer than the 1,008 bytes" in refused.value.message


def test_a_local_header_with_a_million_dimensions_fails_fast(tmp_path):
    header = json.dumps({"w": {"dtype": "U8", "shape": [2] * 1_000_000, "data_offsets": [0, 2]}}).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    started = time.time()
    report = tinyrel.validate(tmp_path, quick=True)
    assert time.time() - started < 5
    assert any(f.code == "safetensors/bad-shape" and "1,000,000 dimensions" in f.message for f in report.findings)


def test_a_hostile_header_with_a_million_dimensions_fails_fast(example, hub, tmp_path):
    """A shape of a million dimensions: multiplying it out takes half a minute (quadratic in its
    length; a 25 MB header, half an hour).  It is refused by its rank before."""
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    header = json.dumps({"w": {"dtype": "U8", "shape": [2] * 1_000_000, "data_offsets": [0, 2]}}).encode()
    (hostile / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    commit = upload(hub, hostile, "lab/hostile")
    started = time.time()
    code, doc = run_json("diff", f"hf://lab/hostile@{commit}", standin(example))
    assert time.time() - started < 10
    assert code == 2 and "1,000,000 dimensions" in doc["findings"][0]["message"], doc


# -- init --base-model: a Hub id named, a source pinned --------------------------------------------------


def test_init_names_a_hub_id_as_a_source_and_pins_a_source_by_commit(mlx_lm_model, hub, tmp_path):
    model = mlx_lm_model("saved")
    code, doc = run_json("init", model, "--name", "tuned", "--base-model", "Qwen/Qwen3-4B", "--dir", tmp_path / "a")
    assert code == 0 and "init/base-unpinned" in codes(doc, "info"), doc
    spec = tomllib.loads((tmp_path / "a" / "release" / "tuned.toml").read_text())
    assert spec["base"] == {"source": "hf://Qwen/Qwen3-4B@main", "relation": "finetune"}
    assert spec["release"]["base_model"] == "Qwen/Qwen3-4B" and "kind" not in spec["weights"]
    assert "tuned.base" not in lock_entries(tmp_path / "a")
    commit = upload(hub, model, "lab/tuned-base")
    code, doc = run_json("init", model, "--name", "tuned", "--base-model", "hf://lab/tuned-base@main", "--dir",
                         tmp_path / "b")  # fmt: skip
    assert code == 0 and "init/base" in codes(doc, "info"), doc
    assert lock_entries(tmp_path / "b")["tuned.base"]["revision"] == commit
    spec = tomllib.loads((tmp_path / "b" / "release" / "tuned.toml").read_text())
    assert spec["release"]["base_model"] == "lab/tuned-base" and spec["base"]["source"] == "hf://lab/tuned-base@main"
    code, doc = run_json("init", model, "--name", "other", "--base-model", "hf://lab/no-such-base", "--dir",
                         tmp_path / "c")  # fmt: skip
    assert code == 1 and "hub/not-found" in codes(doc) and not (tmp_path / "c").exists(), doc


def test_lock_base_needs_a_base_table(example):
    text = spec_path(example).read_text()
    spec_path(example).write_text(text[: text.index("[base]")] + text[text.index("[distribution]") :])
    result = run("lock", "--base", cwd=example)
    assert result.exit_code == 2 and "usage/no-base" in result.output and f"{NAME}.base" not in (
        example / "tinyrel.lock").read_text()


def test_a_quantized_release_dequantizes_to_its_bases_shapes(model_store, hub, tmp_path):
    """mlx-lm's 4-bit quantization of a bf16 model, released as ``relation = "quantized"`` of it: each
    packed layer dequantizes to the base's shape; against a base of another shape, each does not."""
    upload(hub, model_store["bf16"], "lab/bf16")
    ws = tmp_path / "ws"
    code, doc = run_json("init", model_store["q4"], "--name", "q4", "--base-model", "hf://lab/bf16@main", "--dir", ws)
    assert code == 0, doc
    spec = ws / "release" / "q4.toml"
    edit(spec, 'relation = "finetune"', 'relation = "quantized"')
    code, doc = run_json("check", cwd=ws)
    assert doc["checks"]["base-model"] == "pass", [f for f in doc["findings"] if f["code"].startswith("base/")]
    edit(spec, 'relation = "quantized"', 'relation = "finetune"')  # a fine-tune keeps the base's tensors
    code, doc = run_json("check", cwd=ws)
    assert {"base/tensor-extra", "base/shape"} <= codes(doc), doc["findings"]
    from support.fixtures import write_mlx_model

    from tinyrel.scaffold.standin import TINY_CONFIG

    wider = write_mlx_model(tmp_path / "wider", config={**TINY_CONFIG, "vocab_size": 256, "intermediate_size": 192})
    upload(hub, wider, "lab/bf16")  # main moves: re-pin it
    edit(spec, 'relation = "finetune"', 'relation = "quantized"')
    assert run("lock", "--base", cwd=ws).exit_code == 0
    code, doc = run_json("check", cwd=ws)
    shapes = [f["message"] for f in doc["findings"] if f["code"] == "base/quantized-shape"]
    assert code == 1 and any(m.startswith("model.layers.0.mlp.up_proj.weight: packed [128, 8]") for m in shapes), doc


def test_a_base_in_the_local_cache_is_pinned_at_its_snapshots_commit(xet_cache, mlx_lm_model, tmp_path):
    """``--base-model hf-cache://ORG/NAME``: the snapshot's files hashed (checked against the cache's
    blob names) and pinned at its commit — a commit a consumer can fetch from the Hub."""
    ws = tmp_path / "ws"
    code, doc = run_json("init", mlx_lm_model("saved"), "--name", "tuned", "--base-model",
                         "hf-cache://lab/my-specialist", "--dir", ws)  # fmt: skip
    assert code == 0, doc
    entry = lock_entries(ws)["tuned.base"]
    commit = (xet_cache / "models--lab--my-specialist" / "refs" / "main").read_text().strip()
    assert entry["kind"] == "local-cache" and entry["revision"] == commit and "model.safetensors" in {
        f["path"] for f in entry["files"]}
    section = base_section(tinyrel.render_card(ws))
    assert f"pinned at commit `{commit}` as `tinyrel.lock` records it (not confirmed with the Hub" in section


def test_a_fine_tunes_base_comes_only_when_asked(example, pinned, keys, tmp_path):
    result = run("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", "--private-key",
                 keys.private_key, cwd=example)  # fmt: skip
    assert result.exit_code == 0, result.output
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", tmp_path / "a")
    assert code == 0 and "base" not in doc and not (tmp_path / "a" / "base").exists(), doc  # its weights stand alone
    code, doc = run_json("pull", "hf://org/name@v0.1.0", "--public-key", keys.public_key, "--local-dir", tmp_path / "b",
                         "--base-dir", tmp_path / "base")  # fmt: skip
    assert code == 0 and doc["base"]["uri"] == f"hf://lab/qwen3-base@{pinned}" and not doc["base"]["adapter"], doc
    assert _sha256(tmp_path / "base" / "model.safetensors") == _sha256(standin(example) / "model.safetensors")
