"""Issue 19, items 3, 5 and 7: LoRA/DoRA adapter releases, end to end with real parts.

The base is a tiny Qwen3 written by mlx-lm (config, weights, tokenizer), uploaded to the Hub
emulator with huggingface_hub; the adapters are written by mlx-lm's own ``mlx_lm.lora.train_model``
on it (``tests/support/fixtures.py: train_adapter``).  Every Hub test runs over Xet and over LFS.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN

import tinyrel

NAME = "my-adapter"
BASE = "lab/base"
BREADTH = """
[[evals]]
id = "breadth"
name = "Out-of-domain breadth"
kind = "breadth"
stock = 0.6
tuned = 0.5
readout = "Regression; route only"
"""


def upload(server, folder: Path, repo_id: str, *, private: bool = False) -> str:
    """``folder`` as the repo's main branch, with huggingface_hub; its commit id."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=server.base_url, token=HUB_TOKEN)
    api.create_repo(repo_id, exist_ok=True, private=private)
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id).oid


def finish_spec(ws: Path, repo_id: str = "lab/my-adapter") -> None:
    """What an author writes into the scaffold before a release: domain, routing, an eval, the repo."""
    spec = ws / "release" / f"{NAME}.toml"
    text = spec.read_text()
    text = text.replace("the domain this model was tuned for", "file operations")
    text = text.replace("Describe which requests a router should send to this model.", "Send file operations only.")
    text = text.replace("requests outside the tuned domain", "general chat")
    text = text.replace(f'repo_id = "ORG/{NAME}"', f'repo_id = "{repo_id}"').replace('"undecided"', '"weights"', 1)
    text = re.sub(r'^license = .*$', 'license = "apache-2.0"', text, count=1, flags=re.M)
    spec.write_text(text + BREADTH)


def adapter_workspace(tmp_path: Path, adapter: Path, base: str = f"hf://{BASE}@main") -> Path:
    ws = tmp_path / "ws"
    code, doc = run_json("init", adapter, "--name", NAME, "--base-model", base, "--dir", ws)
    assert code == 0, doc
    finish_spec(ws)
    return ws


@pytest.fixture
def base_on_hub(hub, adapter_store):
    """mlx-lm's base model as ``lab/base`` on the emulator; its commit."""
    return upload(hub, adapter_store["base"], BASE)


# -- the adapter's own format (validate, manifest) ------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "dora"])
def test_mlx_lm_adapters_validate_and_describe_themselves(adapter_store, kind, tmp_path):
    adapter = adapter_store[kind]
    code, doc = run_json("validate", adapter)
    assert code == 0 and not codes(doc) and not codes(doc, "warning"), doc
    manifest = tmp_path / "m.json"
    assert run("manifest", adapter, "-o", manifest).exit_code == 0
    written = json.loads(manifest.read_text())
    assert written["model"]["adapter"] == {"fine_tune_type": kind, "num_layers": 2 if kind == "lora" else 1,
                                           "rank": 4, "scale": 20.0, "dropout": 0.0, "keys": None}  # fmt: skip
    assert {f["path"] for f in written["files"]} == {"adapter_config.json", "adapters.safetensors"}
    leaves = {t["name"].rsplit(".", 1)[1] for t in written["tensors"]}
    assert leaves == ({"lora_a", "lora_b", "m"} if kind == "dora" else {"lora_a", "lora_b"})
    assert run("validate", adapter, "--manifest", manifest).exit_code == 0


def test_mlx_writes_null_metadata_and_the_reference_reader_accepts_it(adapter_store):
    """``mx.save_safetensors`` without metadata writes ``"__metadata__": null`` (mlx-lm saves adapters
    so); the safetensors library reads it as no metadata, and so must tinyrel."""
    raw = (adapter_store["lora"] / "adapters.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert json.loads(raw[8 : 8 + length])["__metadata__"] is None
    report = tinyrel.validate(adapter_store["lora"], quick=True)
    assert "safetensors/bad-metadata" not in {f.code for f in report.findings}


def _header_edit(path: Path, mutate) -> None:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    mutate(header)
    data = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(data)) + data + raw[8 + length :])


def _config_edit(adapter: Path, mutate) -> None:
    path = adapter / "adapter_config.json"
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))


def _nan_in_lora_b(adapter: Path) -> None:
    path = adapter / "adapters.safetensors"
    raw = bytearray(path.read_bytes())
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    name = next(n for n in sorted(header) if n.endswith(".lora_b"))
    start = 8 + length + header[name]["data_offsets"][0]
    raw[start : start + 4] = struct.pack("<f", float("nan"))
    path.write_bytes(bytes(raw))


def _drop_lora_b(adapter: Path) -> None:
    """A tensor renamed away: the module keeps lora_a only (sizes and offsets unchanged)."""
    def mutate(h):
        name = next(n for n in sorted(h) if n.endswith(".lora_b"))
        h[name[: -len("lora_b")] + "bias"] = h.pop(name)

    _header_edit(adapter / "adapters.safetensors", mutate)


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda a: _config_edit(a, lambda d: d["lora_parameters"].update(rank=8)), "adapter/rank"),
        (lambda a: _config_edit(a, lambda d: d["lora_parameters"].pop("scale")), "adapter/config-invalid"),
        (lambda a: _config_edit(a, lambda d: d.update(num_layers="all")), "adapter/config-invalid"),
        (lambda a: _config_edit(a, lambda d: d.update(num_layers=1)), "adapter/layers"),
        (lambda a: _config_edit(a, lambda d: d.update(fine_tune_type="full")), "adapter/unsupported"),
        (lambda a: _config_edit(a, lambda d: d.update(fine_tune_type="dora")), "adapter/incomplete-module"),
        (lambda a: (a / "adapter_config.json").write_text("[1, 2"), "adapter/config-invalid"),
        (_nan_in_lora_b, "values/nonfinite"),
        (_drop_lora_b, "adapter/unexpected-tensor"),
        (lambda a: shutil.copy(a / "adapters.safetensors", a / "0000100_adapters.safetensors"), "adapter/extra-file"),
    ],
    ids=["rank", "no-scale", "num-layers", "layers", "full", "dora-without-m", "json", "nan", "renamed", "checkpoint"],
)
def test_a_damaged_adapter_is_named_by_its_own_code(adapter_store, tmp_path, damage, code):
    adapter = shutil.copytree(adapter_store["lora"], tmp_path / "adapter")
    damage(adapter)
    exit_code, doc = run_json("validate", adapter)
    assert exit_code == 1 and code in codes(doc), doc
    assert not (tmp_path / "m.json").exists()
    assert run("manifest", adapter, "-o", tmp_path / "m.json").exit_code == 1 and not (tmp_path / "m.json").exists()


def test_the_mlx_lm_check_of_an_adapter_is_a_usage_error_not_a_silent_pass(adapter_store):
    result = run("validate", adapter_store["lora"], "--mlx-lm")
    assert result.exit_code == 2 and "usage/mlx-lm-adapter" in result.output, result.output


def test_an_absolute_path_in_the_adapter_config_is_said_to_be_published(adapter_store, tmp_path):
    adapter = shutil.copytree(adapter_store["lora"], tmp_path / "adapter")
    _config_edit(adapter, lambda d: d.update(model="/Users/me/models/Qwen3-4B"))
    code, doc = run_json("validate", adapter)
    assert code == 0 and "adapter/local-path" in codes(doc, "warning")


# -- init, the gate, publish, pull: the adapter flow end to end ---------------------------------------


def test_an_adapter_release_runs_end_to_end_and_loads_with_mlx_lm(base_on_hub, hub, adapter_store, keys, tmp_path):
    """init pins the base at @main to its commit; the gate checks the adapter against the base's
    headers; publish --mode weights uploads the adapter and the release files (the signed lock pins
    the base); pull fetches both, checks the base against the signed pins, and mlx_lm loads them."""
    ws = adapter_workspace(tmp_path, adapter_store["lora"])
    spec = (ws / "release" / f"{NAME}.toml").read_text()
    assert 'kind = "adapter"' in spec and 'relation = "adapter"' in spec and f'source = "hf://{BASE}@main"' in spec
    lock = tinyrel.check(ws).context.ws.lock_path.read_text()
    import tomllib

    entries = {e["name"]: e for e in tomllib.loads(lock)["sources"]}
    assert entries[f"{NAME}.base"]["revision"] == base_on_hub and entries[f"{NAME}.base"]["uri"] == f"hf://{BASE}@main"
    code, doc = run_json("check", cwd=ws)  # the weights are not published yet: that blocker only
    assert codes(doc) == {"blocker/weight-distribution"} and doc["checks"]["base-model"] == "pass", doc["findings"]
    card = tmp_path / "card.md"
    run("check", "--write-card", card, cwd=ws)
    text = card.read_text()
    assert "base_model: lab/base" in text and "base_model_relation: adapter" in text
    assert f"pinned at commit `{base_on_hub}`, which the Hub confirmed (public)" in text

    result = run("publish", "--mode", "weights", "--private-key", keys.private_key, cwd=ws)
    assert result.exit_code == 0, result.output
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.base_url, token=HUB_TOKEN)
    published = set(api.list_repo_files("lab/my-adapter", revision="v0.1.0"))
    statements = {f"attestations/{kind}" for kind in ("provenance.sigstore.json", "gate.sigstore.json",
                                                      "sbom.sigstore.json", "sbom.cdx.json")}  # fmt: skip
    assert published - {".gitattributes"} == {"adapter_config.json", "adapters.safetensors", "README.md",
                                              "manifest.json", "tinyrel.lock", "release.toml", "model.sig",
                                              *statements}  # fmt: skip
    released_lock = tomllib.loads(Path(api.hf_hub_download("lab/my-adapter", "tinyrel.lock", revision="v0.1.0",
                                                           cache_dir=tmp_path / "c")).read_text())  # fmt: skip
    base_entry = next(e for e in released_lock["sources"] if e["name"] == f"{NAME}.base")
    assert base_entry["revision"] == base_on_hub and base_entry["public"] is True
    assert tomllib.loads((ws / "tinyrel.lock").read_text())["sources"][1]["name"] == f"{NAME}.base"  # kept

    target = tmp_path / "D"
    result = run("pull", "hf://lab/my-adapter@v0.1.0", "--public-key", keys.public_key, "--local-dir", target)
    assert result.exit_code == 0, result.output
    assert f"mlx_lm.load({str(target / 'base')!r}, adapter_path={str(target)!r})" in result.output
    assert (target / "adapters.safetensors").is_file() and (target / "base" / "model.safetensors").is_file()
    assert not (target / "base" / ".cache").exists()
    import mlx_lm

    model, tokenizer = mlx_lm.load(str(target / "base"), adapter_path=str(target))
    assert mlx_lm.generate(model, tokenizer, prompt="List the files", max_tokens=2, verbose=False) is not None
    code, doc = run_json("verify", target, "--public-key", keys.public_key)
    assert code == 0 and "verify/base" in codes(doc, "info"), doc
    code, doc = run_json("verify", "hf://lab/my-adapter@v0.1.0", "--public-key", keys.public_key, "--base-dir",
                         target / "base")  # fmt: skip
    assert code == 0 and doc["base"]["verified"], doc
    (target / "base" / "tokenizer_config.json").write_text("{}")
    code, doc = run_json("verify", target, "--public-key", keys.public_key)
    assert code == 1 and "verify/base-changed" in codes(doc), doc


def test_an_adapter_for_another_base_fails_the_gate_naming_the_modules(base_on_hub, adapter_store, tmp_path):
    ws = adapter_workspace(tmp_path, adapter_store["lora-other"])
    code, doc = run_json("check", cwd=ws)
    assert code == 1 and "base/adapter-shape" in codes(doc), doc["findings"]
    messages = [f["message"] for f in doc["findings"] if f["code"] == "base/adapter-shape"]
    assert any("model.layers.0.mlp.up_proj.lora_b: shape [4, 96]; the base layer (input 64, output 128) needs [4, 128]"
               in m for m in messages), messages  # fmt: skip
    assert not any("self_attn" in m for m in messages)  # the attention layers are the same in both bases


def test_an_adapter_without_its_base_pinned_is_not_published(base_on_hub, adapter_store, keys, tmp_path):
    ws = adapter_workspace(tmp_path, adapter_store["lora"])
    lock = ws / "tinyrel.lock"
    text = lock.read_text()
    lock.write_text(text[: text.index("[[sources]]", text.index(f'name = "{NAME}.base"') - 40)])
    assert f"{NAME}.base" not in lock.read_text()
    code, doc = run_json("publish", "--mode", "weights", "--private-key", keys.private_key, cwd=ws)
    assert code == 1 and "base/unpinned" in codes(doc) and "publish/refused" in codes(doc), doc
    code, doc = run_json("check", "--offline", cwd=ws)  # offline: not checked, and the card says the pin is unresolved
    assert doc["checks"]["base-model"] == "skipped" and "base/unpinned" not in codes(doc)
    assert "The base pin is unresolved" in tinyrel.render_card(ws)


@pytest.fixture
def adapter_release(base_on_hub, adapter_store, keys, tmp_path):
    """The LoRA adapter published as ``hf://lab/my-adapter@v0.1.0`` (signed), its base pinned."""
    ws = adapter_workspace(tmp_path, adapter_store["lora"])
    result = run("publish", "--mode", "weights", "--private-key", keys.private_key, cwd=ws)
    assert result.exit_code == 0, result.output
    return "hf://lab/my-adapter@v0.1.0"


@pytest.mark.parametrize("swapped", ["config.json", "model.safetensors"])
def test_tampered_base_bytes_fail_the_pull_and_leave_nothing(adapter_release, hub, keys, tmp_path, monkeypatch,
                                                             swapped):  # fmt: skip
    """The Hub (or anything on the way) serves other bytes of the same size for a base file: the
    adapter itself verifies, the base does not, and nothing is visible at D — not even the adapter.
    (Over Xet the weights do not cross tinyrel's HTTP transport: hf_xet checks every chunk against
    the file's Merkle hash, so the swapped weights are an LFS case.)"""
    from support.hostile_hub import TamperingProxy

    if swapped == "model.safetensors" and hub.mode == "xet":
        pytest.skip("over Xet the weights do not cross tinyrel's HTTP transport")
    proxy = TamperingProxy(hub.base_url, {swapped})
    target = tmp_path / "D"
    try:
        monkeypatch.setenv("HF_ENDPOINT", proxy.base_url)
        code, doc = run_json("pull", adapter_release, "--public-key", keys.public_key, "--local-dir", target)
    finally:
        proxy.close()
    assert proxy.gets.get(swapped) == 1, proxy.gets
    assert code == 1 and "pull/base-changed" in codes(doc) and "verify/signature" in codes(doc, "info"), doc
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if "tinyrel" in p.name] == []


def test_a_base_dir_shared_by_adapters_is_checked_and_never_written(adapter_release, keys, tmp_path):
    shared = tmp_path / "bases" / "lab-base"
    first, second = tmp_path / "one", tmp_path / "two"
    code, doc = run_json("pull", adapter_release, "--public-key", keys.public_key, "--local-dir", first,
                         "--base-dir", shared)  # fmt: skip
    assert code == 0 and not (first / "base").exists() and (shared / "model.safetensors").is_file(), doc
    before = {p.name: p.stat().st_mtime_ns for p in shared.iterdir()}
    result = run("pull", adapter_release, "--public-key", keys.public_key, "--local-dir", second, "--base-dir", shared)
    assert result.exit_code == 0 and "pull/base-reused" in result.output, result.output
    assert f"mlx_lm.load({str(shared)!r}, adapter_path={str(second)!r})" in result.output
    assert {p.name: p.stat().st_mtime_ns for p in shared.iterdir()} == before
    (shared / "config.json").write_text((shared / "config.json").read_text().replace("64", "65", 1))
    third = tmp_path / "three"
    code, doc = run_json("pull", adapter_release, "--public-key", keys.public_key, "--local-dir", third,
                         "--base-dir", shared)  # fmt: skip
    assert code == 1 and "pull/base-changed" in codes(doc) and not third.exists(), doc
    code, doc = run_json("verify", first, "--public-key", keys.public_key, "--base-dir", shared)
    assert code == 1 and "verify/base-changed" in codes(doc), doc


def test_a_base_dir_that_changes_during_the_pull_leaves_neither_visible(adapter_release, hub, keys, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    """--base-dir elsewhere: the adapter becomes visible first, then the base; a file written into the
    (empty) base directory meanwhile makes the base's rename fail — the adapter is withdrawn again,
    the file written there is kept, and nothing else is left."""
    from support.hostile_hub import TamperingProxy

    base_dir, target = tmp_path / "base-dir", tmp_path / "D"
    base_dir.mkdir()

    def meanwhile(line: str) -> None:
        if "/lab/base/resolve/" in line and not (base_dir / "notes.txt").exists():
            (base_dir / "notes.txt").write_text("mine")

    proxy = TamperingProxy(hub.base_url, set(), on_request=meanwhile)
    try:
        monkeypatch.setenv("HF_ENDPOINT", proxy.base_url)
        code, doc = run_json("pull", adapter_release, "--public-key", keys.public_key, "--local-dir", target,
                             "--base-dir", base_dir)  # fmt: skip
    finally:
        proxy.close()
    assert code == 1 and "output/target-changed" in codes(doc), doc
    assert not target.exists() and [p.name for p in base_dir.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir() if "tinyrel" in p.name or p.name == "D"] == []  # no staging left


def test_a_qlora_adapter_fits_its_quantized_base(hub, adapter_store, mlx_lm_store, tmp_path):
    """LoRA on mlx-lm's 4-bit conversion (QLoRA): the packed base layers are read at their
    dequantized widths (bits from the base's config.json), as mlx-lm's LoRALinear.from_base does."""
    upload(hub, mlx_lm_store["q4"], "lab/base-4bit")
    ws = adapter_workspace(tmp_path, adapter_store["qlora"], "hf://lab/base-4bit@main")
    code, doc = run_json("check", cwd=ws)
    assert doc["checks"]["base-model"] == "pass", [f for f in doc["findings"] if f["code"].startswith("base/")]
