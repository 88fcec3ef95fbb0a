"""Issue 20: quantized variants — one spec releases the bf16 weights and their 4-/8-bit conversions,
each checked against its parent, evaluated, signed and published in the Hub's model tree.

Every variant here is written by mlx-lm's own ``convert`` (4-bit, 8-bit, and the ``mixed_3_6`` recipe
with per-module overrides) from a small bf16 model that ``mlx_lm.utils.save`` wrote; a conversion of
another checkpoint of the same architecture, and configs that lie about their bits, must fail."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from support.fixtures import convert_4bit, convert_variant, write_mlx_lm_saved
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN

NAME = "qwen3-4b-fileops"
SPEC = f"release/{NAME}.toml"
SCAFFOLD_RECORDS = Path(__import__("tinyrel").__file__).parent / "scaffold" / "evals"


@pytest.fixture(scope="session")
def conversions(mlx_lm_store: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The parent (``mlx_lm.utils.save``) and its conversions by ``mlx_lm.convert``; ``other-4bit`` is a
    4-bit conversion of another checkpoint (another seed) of the same architecture."""
    import huggingface_hub.constants as hf_constants

    root = tmp_path_factory.mktemp("conversions")
    saved = mlx_lm_store["saved"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        return {
            "parent": saved,
            "4bit": mlx_lm_store["q4"],
            "8bit": convert_variant(saved, root / "q8", q_bits=8),
            "mixed": convert_variant(saved, root / "mixed", q_group_size=64, quant_predicate="mixed_3_6"),
            "other-4bit": convert_4bit(write_mlx_lm_saved(root / "other", seed=1), root / "other-q4"),
        }


def _variant_block(vid: str, with_evals: bool) -> str:
    block = f'\n[[variants]]\nid = "{vid}"\nsource = "weights-{vid}"\n'
    if with_evals:
        for eval_id, tuned in (("fileops-hard", "0.98" if vid == "4bit" else "1.00"),
                               ("breadth", "0.418" if vid == "4bit" else "0.423")):  # fmt: skip
            records = f"evals/{eval_id}.{vid}.jsonl"
            block += f'\n[[variants.evals]]\nid = "{eval_id}"\ntuned = {tuned}\nrecords = "{records}"\n'
    return block


def make_tree(ws: Path, conversions: dict[str, Path], variants: dict[str, str], *, evals: bool = True) -> Path:
    """The example workspace with mlx-lm's weights as the parent and ``variants`` (id -> conversion)."""
    shutil.copytree(conversions["parent"], ws / "weights")
    spec = ws / SPEC
    text = spec.read_text()
    text = re.sub(r'(?m)^source = ".*"$', 'source = "weights"', text, count=1)
    for vid, kind in variants.items():
        shutil.copytree(conversions[kind], ws / f"weights-{vid}")
        text += _variant_block(vid, evals)
        for eval_id in ("fileops-hard", "breadth"):  # 4bit: the example's 4bit records; the others score as bf16
            kind = "4bit" if vid == "4bit" else "tuned"
            source = SCAFFOLD_RECORDS if vid == "4bit" else ws / "evals"
            shutil.copy(source / f"{eval_id}.{kind}.jsonl", ws / "evals" / f"{eval_id}.{vid}.jsonl")
    spec.write_text(text)
    assert run("manifest", "weights", "-o", f"manifests/{NAME}.json", cwd=ws).exit_code == 0
    for vid in variants:
        result = run("manifest", f"weights-{vid}", "-o", f"manifests/{NAME}.{vid}.json", cwd=ws)
        assert result.exit_code == 0, result.output
    result = run("lock", cwd=ws)  # no SOURCE: the spec's weights and every variant, each its own entry
    assert result.exit_code == 0, result.output
    assert run("evals", "--lock", cwd=ws).exit_code == 0
    return ws


@pytest.fixture
def tree(example: Path, conversions: dict[str, Path]) -> Path:
    """A workspace whose spec releases mlx-lm's bf16 weights with a 4-bit and an 8-bit variant."""
    return make_tree(example, conversions, {"4bit": "4bit", "8bit": "8bit"})


def entries(ws: Path) -> dict[str, dict]:
    return {s["name"]: s for s in tomllib.loads((ws / "tinyrel.lock").read_text())["sources"]}


def check(ws: Path) -> tuple[int, dict]:
    return run_json("check", cwd=ws)


def remanifest(ws: Path, vid: str) -> None:
    result = run("manifest", f"weights-{vid}", "-o", f"manifests/{NAME}.{vid}.json", cwd=ws)
    assert result.exit_code == 0, result.output
    assert run("lock", f"weights-{vid}", "--name", f"{NAME}.{vid}", cwd=ws).exit_code == 0


# --- the spec ----------------------------------------------------------------------------------------


def test_the_spec_names_variants_strictly(example_tree):
    example = example_tree
    spec = example / SPEC
    base = spec.read_text()
    cases = {
        "an eval the parent does not have": (base.replace('id = "breadth"\ntuned = 0.418',
                                                          'id = "nope"\ntuned = 0.418'),
                                              "is not one of the spec's [[evals]]"),
        "a duplicate variant": (base + '\n[[variants]]\nid = "4bit"\nsource = "x"\n', "is used twice"),
        "an id that cannot name a repo": (base.replace('id = "4bit"', 'id = "4 bit"'), "must be [a-z0-9]"),
        "a repo that is the parent's": (base.replace('id = "4bit"\n',
                                                     'id = "4bit"\nrepo_id = "tinygpt/qwen3-4b-fileops"\n'),
                                        "every variant is its own repo"),
        "a score out of range": (base.replace("tuned = 0.418", "tuned = 41.8"), "finite fraction"),
    }  # fmt: skip
    for label, (text, message) in cases.items():
        spec.write_text(text)
        code, doc = check(example)
        assert code == 1 and codes(doc) == {"spec/invalid"}, label
        assert message in doc["findings"][0]["message"] and doc["findings"][0]["line"], label
    spec.write_text(base.replace('id = "4bit"\n', 'id = "4bit"\nbits = 4\n'))
    code, doc = check(example)
    unknown = [f for f in doc["findings"] if f["code"] == "spec/unknown-key"]
    assert len(unknown) == 1 and "'bits'" in unknown[0]["message"] and unknown[0]["line"]


# --- the check against the parent --------------------------------------------------------------------


def test_mlx_lm_conversions_pass_and_the_card_shows_the_tree(example, conversions):
    ws = make_tree(example, conversions, {"4bit": "4bit", "8bit": "8bit", "mixed": "mixed"})
    assert set(entries(ws)) == {NAME, f"{NAME}.4bit", f"{NAME}.8bit", f"{NAME}.mixed"}
    pinned = {f["path"] for f in entries(ws)[f"{NAME}.8bit"]["evidence"]}
    assert {"evals/breadth.4bit.jsonl", "evals/breadth.tuned.jsonl", "evals/fileops-hard.stock.jsonl"} <= pinned
    code, doc = check(ws)
    assert codes(doc) == {"blocker/weight-distribution"}, doc["findings"]
    assert doc["checks"]["variants"] == "pass" and doc["checks"]["variant-table"] == "pass"
    card = run("card", cwd=ws).stdout
    table = card.split("## Variants")[1].split("What quantization cost")[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if "| `" in line}
    assert "| 4 (affine) | 64 |" in rows["`4bit`"] and "| 8 (affine) | 64 |" in rows["`8bit`"]
    # mlx-lm's mixed_3_6 recipe: v_proj and down_proj of the last layer at 6 bits, the rest at 3
    assert "| 3 (affine, 13 modules), 6 (affine, 2 modules) | 64 |" in rows["`mixed`"]
    assert "15 of 15 quantized modules bit-identical" in rows["`mixed`"]
    assert "−2.0 pts, 1 of 50 items regressed, 0 improved, p = 1.000" in card  # 4bit against bf16, per item
    assert "| Out-of-domain breadth (4bit) | 0.596 | 0.418 | -0.178 |" in card  # the negative-transfer table


def test_a_blocker_can_name_the_variant_checks(tree):
    spec = tree / SPEC
    blocker = ('\n[[blockers]]\nid = "faithful-variants"\ntitle = "Variants unchecked"\nwhy = "A label proves '
               'nothing."\nunblock = "Compare them."\nchecks = ["variants", "variant-table"]\n')
    spec.write_text(spec.read_text() + blocker)
    code, doc = check(tree)
    assert {b["id"]: b["status"] for b in doc["blockers"]}["faithful-variants"] == "resolved"
    assert "every variant was compared with these weights tensor by tensor, values included; the Variants section " \
        "shows every variant of this release" in run("card", cwd=tree).stdout  # fmt: skip
    code, doc = run_json("check", "--offline", cwd=tree)
    assert {b["id"]: b["status"] for b in doc["blockers"]}["faithful-variants"] == "not checked"


def test_a_conversion_of_another_checkpoint_fails_naming_a_tensor(tree, conversions):
    shutil.rmtree(tree / "weights-4bit")
    shutil.copytree(conversions["other-4bit"], tree / "weights-4bit")
    remanifest(tree, "4bit")
    code, doc = check(tree)
    assert code == 1 and "variant/not-from-parent" in codes(doc)
    found = [f["message"] for f in doc["findings"] if f["code"] == "variant/not-from-parent"]
    assert re.search(r"variant 4bit: model\.\S+\.weight: [\d,]+ of [\d,]+ codes are not mlx's 4-bit rounding of "
                     r"the parent's values and [\d,]+ of [\d,]+ groups have another scale or bias", found[0]), found
    # fmt: skip
    assert not [m for m in found if "8bit" in m]  # the other variant is the parent's


def _lie(ws: Path, vid: str, **quantization) -> None:
    path = ws / f"weights-{vid}" / "config.json"
    config = json.loads(path.read_text())
    for key in ("quantization", "quantization_config"):
        config[key] = {**config[key], **quantization}
    path.write_text(json.dumps(config, indent=4))


def test_a_config_that_lies_about_its_bits_fails_naming_a_tensor(tree):
    # A per-module entry (as mlx-lm writes for mixed recipes) claiming 8-bit, group 32 for a module stored
    # 4-bit, group 64: the same shapes as an 8-bit module of half the width, so the variant validates on its
    # own; only the parent's shapes expose the lie.
    module = "model.layers.0.mlp.down_proj"
    _lie(tree, "4bit", **{module: {"bits": 8, "group_size": 32, "mode": "affine"}})
    assert run("validate", "weights-4bit", cwd=tree).exit_code == 0
    remanifest(tree, "4bit")
    code, doc = check(tree)
    found = [f["message"] for f in doc["findings"] if f["code"] == "variant/encoding"]
    assert code == 1 and found == [f"variant 4bit: config.json says {module} is 8-bit affine, group size 32, but for "
                                   "the parent's [64, 128] the files hold 4-bit affine, group size 64: "
                                   f"{module}.weight is [64, 16], needs [64, 32]; {module}.scales is [64, 2], needs "
                                   "[64, 4]"]  # fmt: skip
    # A plain lie about the bits does not even validate: the variant's own shapes contradict it.
    _lie(tree, "8bit", bits=4)
    code, doc = run_json("validate", "weights-8bit", cwd=tree)
    assert code == 1 and "mlx/quantized-shape" in codes(doc)
    assert any(re.search(r"model\.\S+\.scales has shape", f["message"]) for f in doc["findings"])


def test_a_hostile_variant_config_is_a_finding_not_a_crash(tree):
    import hashlib

    _lie(tree, "4bit", mode="weird")
    remanifest(tree, "4bit")
    code, doc = run_json("check", "--offline", cwd=tree)
    assert code == 1 and any("in mode 'weird', which mlx does not quantize with" in f["message"]
                             for f in doc["findings"] if f["code"] == "variant/encoding")  # fmt: skip
    _lie(tree, "4bit", mode="affine", bits="x")  # the manifest pins it (as a hand-made one could): still a finding
    config = tree / "weights-4bit" / "config.json"
    manifest = tree / "manifests" / f"{NAME}.4bit.json"
    doc = json.loads(manifest.read_text())
    entry = next(f for f in doc["files"] if f["path"] == "config.json")
    entry |= {"size": config.stat().st_size, "sha256": hashlib.sha256(config.read_bytes()).hexdigest()}
    manifest.write_text(json.dumps(doc))
    code, doc = run_json("check", "--offline", cwd=tree)
    assert code == 1 and any(f["message"].startswith("variant 4bit: config.json: quantization: bits = x must be")
                             for f in doc["findings"] if f["code"] == "variant/config")  # fmt: skip


def _rewrite(path: Path, change) -> None:
    import mlx.core as mx

    weights = dict(mx.load(str(path)))
    change(weights)
    mx.save_safetensors(str(path), weights, metadata={"format": "mlx"})


def _nudge_code(weights: dict, prefix: str, toward_tie: bool) -> None:
    """Move one 4-bit code of ``prefix`` by one step: for the value nearest a rounding tie (as a
    conversion on another device may round it), or for one far from any tie."""
    import mlx.core as mx
    import numpy as np

    wq, scales = weights[f"{prefix}.weight"], weights[f"{prefix}.scales"]
    exact = weights["__parent__"][prefix].astype(mx.float32)
    _, scales32, biases32 = mx.quantize(exact, 64, 4)  # the float32 grid mlx rounded on
    ones, zeros = mx.ones_like(scales, dtype=mx.float32), mx.zeros_like(scales, dtype=mx.float32)
    codes_ = np.array(mx.dequantize(wq, ones, zeros, 64, 4, dtype=mx.float32))
    position = np.array((exact.reshape(*scales.shape, 64) - biases32[..., None]) / scales32[..., None])
    position = position.reshape(codes_.shape)
    frac = np.abs(position - codes_)
    step = np.where(position > codes_, 1, -1) if toward_tie else np.where(codes_ < 8, 1, -1)  # toward w / away
    usable = (frac <= 0.5) & (codes_ + step >= 0) & (codes_ + step <= 15)  # rounded, not clamped, room to move
    index = np.unravel_index(np.argmax(np.where(usable, frac, -1) if toward_tie else np.where(usable, -frac, -9)),
                             frac.shape)  # fmt: skip
    codes_[index] += step[index]
    packed = np.zeros(wq.shape, dtype=np.uint32)
    flat = codes_.reshape(wq.shape[0], -1, 8).astype(np.uint32)
    for k in range(8):
        packed |= flat[..., k] << (4 * k)
    weights[f"{prefix}.weight"] = mx.array(packed)


@pytest.mark.parametrize("toward_tie", [True, False])
def test_a_value_rounded_the_other_way_at_a_tie_passes_one_code_off_by_a_step_does_not(tree, toward_tie):
    import mlx.core as mx

    prefix = "model.layers.1.mlp.down_proj"
    parent = {prefix: mx.load(str(tree / "weights" / "model.safetensors"))[f"{prefix}.weight"]}

    def change(weights):
        weights["__parent__"] = parent
        _nudge_code(weights, prefix, toward_tie)
        del weights["__parent__"]

    _rewrite(tree / "weights-4bit" / "model.safetensors", change)
    remanifest(tree, "4bit")
    code, doc = check(tree)
    if toward_tie:  # as a conversion on another device or mlx build can differ: accepted, and said
        assert codes(doc) == {"blocker/weight-distribution"}, doc["findings"]
        assert "14 of 15 quantized modules bit-identical to mlx's quantization of the parent's tensors, 1 " \
            "differing from it only at rounding ties" in run("card", cwd=tree).stdout  # fmt: skip
    else:
        found = [f["message"] for f in doc["findings"] if f["code"] == "variant/not-from-parent"]
        assert found == [f"variant 4bit: {prefix}.weight: 1 of 8,192 codes are not mlx's 4-bit rounding of the "
                         "parent's values and 0 of 128 groups have another scale or bias: not a quantization of "
                         "these weights"]  # fmt: skip


def test_an_unquantized_tensor_must_be_the_parents(tree):
    import mlx.core as mx

    def change(weights):
        weights["model.norm.weight"] = weights["model.norm.weight"] * mx.array(1.5, dtype=mx.bfloat16)

    _rewrite(tree / "weights-8bit" / "model.safetensors", change)
    remanifest(tree, "8bit")
    code, doc = check(tree)
    found = [f["message"] for f in doc["findings"] if f["code"] == "variant/not-from-parent"]
    assert code == 1 and len(found) == 1 and found[0].startswith("variant 8bit: model.norm.weight is left unquantized "
                                                                 "but differs from the parent's")  # fmt: skip


def test_weights_changed_after_the_manifest_are_refused(tree):
    import mlx.core as mx

    def change(weights):
        weights["model.norm.weight"] = weights["model.norm.weight"] * mx.array(2.0, dtype=mx.bfloat16)

    _rewrite(tree / "weights-4bit" / "model.safetensors", change)  # no new manifest, no new lock
    code, doc = check(tree)
    assert code == 1 and codes(doc) == {"blocker/weight-distribution", "variant/weights"}
    assert any("variant 4bit: manifest/" in f["message"] for f in doc["findings"] if f["code"] == "variant/weights")
    assert run("manifest", "weights-4bit", "-o", f"manifests/{NAME}.4bit.json", cwd=tree).exit_code == 0
    code, doc = check(tree)  # a new manifest, the old lock entry
    assert "variant/lock" in codes(doc)


def test_offline_compares_the_manifests_only(tree):
    code, doc = run_json("check", "--offline", cwd=tree)
    assert doc["checks"]["variants"] == "skipped"
    assert "no weight was read" in run("card", "--offline", cwd=tree).stdout


# --- what quantization cost --------------------------------------------------------------------------


def test_variant_scores_are_their_records_and_the_card_shows_them(tree):
    spec = tree / SPEC
    spec.write_text(spec.read_text().replace("tuned = 0.418", "tuned = 0.5"))
    code, doc = check(tree)
    assert code == 1 and "variant/eval-evidence" in codes(doc)
    finding = next(f for f in doc["findings"] if f["code"] == "variant/eval-evidence")
    assert "breadth: the spec says tuned 0.5, its records give 0.4180 on n=1000" in finding["message"]
    lines = spec.read_text().splitlines()
    assert finding["line"] == next(i for i, line in enumerate(lines, 1) if line == "tuned = 0.5")
    code, doc = run_json("evals", cwd=tree)
    four = next(v for v in doc["variants"] if v["id"] == "4bit")
    breadth = next(e for e in four["evals"] if e["id"] == "breadth")
    assert breadth["vs_parent"] == {"n": 1000, "regressed": 7, "improved": 2,
                                    "p_value": pytest.approx(0.1797, abs=1e-4)}
    assert breadth["vs_stock"]["regressed"] == 179


def test_a_template_without_the_variant_rows_fails(tree):
    template = tree / "templates" / "card.md.j2"
    text = template.read_text()
    # A variant's breadth regression counts for the negative-transfer table like the parent's: same check.
    template.write_text(text.replace("{% for v in variants.transfer %}", "{% for v in [] %}"))
    code, doc = check(tree)
    assert codes(doc) == {"blocker/weight-distribution", "blocker/negative-transfer-table"}
    assert any("needs exactly one row for 'Out-of-domain breadth (4bit)'" in f["message"] for f in doc["findings"])
    assert {b["id"]: b["status"] for b in doc["blockers"]}["breadth-regression"] == "open"
    template.write_text(text.replace("{% for v in variants.rows %}", "{% for v in [] %}"))
    code, doc = check(tree)
    assert codes(doc) == {"blocker/weight-distribution", "blocker/variant-table"}
    assert any("'## Variants' table needs exactly one row for variant '8bit'" in f["message"] for f in doc["findings"])


def test_records_changed_after_pinning_fail(tree):
    records = tree / "evals" / "breadth.8bit.jsonl"
    records.write_text(records.read_text().replace('"passed": true', '"passed": false', 1))
    code, doc = check(tree)
    assert code == 1 and any("changed since it was pinned" in f["message"] for f in doc["findings"]
                             if f["code"] == "variant/eval-evidence")  # fmt: skip


# --- the lock -----------------------------------------------------------------------------------------


def test_lock_without_a_source_pins_the_tree_and_keeps_hub_pins(tree):
    before = entries(tree)
    assert run("lock", cwd=tree).exit_code == 0
    assert entries(tree) == before  # the same files: nothing moved, records pins kept
    lock = tree / "tinyrel.lock"
    pinned = lock.read_text().replace(
        f'name = "{NAME}.8bit"\nuri = "weights-8bit"\nkind = "local-path"\n',
        f'name = "{NAME}.8bit"\nuri = "hf://org/name-8bit@{"a" * 40}"\nkind = "hub"\nrevision = "{"a" * 40}"\n')
    assert pinned != lock.read_text()
    lock.write_text(pinned)
    code, doc = run_json("lock", cwd=tree)
    assert code == 0 and "lock/kept" in codes(doc, "info")
    assert entries(tree)[f"{NAME}.8bit"]["uri"].startswith("hf://org/name-8bit@")


# --- diff -----------------------------------------------------------------------------------------------


def test_diff_reports_each_tensors_encoding(tree):
    code, doc = run_json("diff", "weights", "weights-4bit", cwd=tree)
    encoding = doc["encoding"]
    assert encoding["b"]["quantized"] == [{"bits": 4, "group_size": 64, "mode": "affine", "modules": 15}]
    assert encoding["a"]["quantized"] == []
    assert "model.norm.weight" in encoding["b"]["unquantized"]
    row = next(t for t in encoding["tensors"] if t["name"] == "model.layers.0.mlp.down_proj.weight")
    assert row["a"] == {"dtype": "BF16", "bits": None, "group_size": None, "mode": None}
    assert row["b"] == {"dtype": "U32", "bits": 4, "group_size": 64, "mode": "affine"}
    text = run("diff", "weights", "weights-4bit", cwd=tree).output
    assert "encoding of weights-4bit: 15 modules 4-bit affine (group size 64); 9 tensors left unquantized " \
        "(model.layers.0.input_layernorm.weight, model.layers.0.post_attention_layernorm.weight, " \
        "model.layers.0.self_attn.k_norm.weight and 6 more)" in text  # fmt: skip
    assert "tensor model.layers.0.mlp.down_proj.weight: BF16 → 4-bit affine (group size 64)" in text


def test_diff_of_two_4bit_releases_names_the_tensors_encoded_differently(example, conversions):
    ws = make_tree(example, conversions, {"4bit": "4bit", "mixed": "mixed"}, evals=False)
    code, doc = run_json("diff", "weights-4bit", "weights-mixed", cwd=ws)
    differ = {t["name"] for t in doc["encoding"]["tensors"] if t["a"] != t["b"]}
    assert "model.layers.1.mlp.down_proj.weight" in differ and "model.norm.weight" not in differ
    assert len(differ) == 15  # every quantized module: 4-bit vs 3- or 6-bit


# --- publishing the tree -----------------------------------------------------------------------------


def _hub_api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.base_url, token=HUB_TOKEN)


def publish(ws: Path, *args) -> tuple[int, dict]:
    return run_json("publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo", *args, cwd=ws)


def test_the_tree_publishes_three_tagged_signed_repos_and_a_variant_pulls_and_loads(tree, hub, keys, tmp_path):
    from huggingface_hub import ModelCard

    code, doc = publish(tree, "--dry-run")
    assert code == 0, doc["findings"]
    plans = [doc["plan"]] + [v["plan"] for v in doc["variants"]]
    assert [p["repo_id"] for p in plans] == ["org/name", "org/name-4bit", "org/name-8bit"]
    assert all(p["action"] == "commit" for p in plans) and not _hub_api(hub).repo_exists("org/name")

    code, doc = publish(tree, "--private-key", keys.private_key)
    assert code == 0, doc["findings"]
    api = _hub_api(hub)
    lock = entries(tree)
    for repo, entry in (("org/name", NAME), ("org/name-4bit", f"{NAME}.4bit"), ("org/name-8bit", f"{NAME}.8bit")):
        tags = {t.name: t.target_commit for t in api.list_repo_refs(repo).tags}
        assert lock[entry]["uri"] == f"hf://{repo}@{tags['v0.1.0']}", entry  # the lock pins each published commit
        info = api.model_info(repo, revision="v0.1.0")
        assert not info.private and {"model.sig", "README.md", "manifest.json"} <= {s.rfilename for s in info.siblings}
        card = ModelCard.load(api.hf_hub_download(repo, "README.md", revision="v0.1.0", local_dir=tmp_path / repo))
        assert "| `4bit` | 4 (affine) | 64 |" in card.text and "| `8bit` | 8 (affine) | 64 |" in card.text
        if repo == "org/name":
            assert card.data.base_model == "Qwen/Qwen3-4B" and card.data.base_model_relation == "finetune"
            continue
        assert card.data.base_model == "org/name" and card.data.base_model_relation == "quantized"
        index = card.data.to_dict()["model-index"][0]["results"]
        scores = {r["dataset"]["name"]: r["metrics"][0]["value"] for r in index}
        assert scores == ({"File-ops hard gate": 0.98, "Out-of-domain breadth": 0.418} if repo.endswith("4bit")
                          else {"File-ops hard gate": 1.0, "Out-of-domain breadth": 0.423})  # its own, no more
        assert "Quantized variant" in card.text and "bit-identical" in card.text
    assert run("check", cwd=tree).exit_code == 0

    # A variant known by its Hub release only: compared with the parent through its manifest and the
    # config.json its repo serves (checked against the manifest); its values are not read here.
    spec = tree / SPEC
    original = spec.read_text()
    spec.write_text(original.replace('source = "weights-8bit"', 'source = "hf://org/name-8bit@v0.1.0"'))
    code, doc = check(tree)
    assert code == 0 and doc["checks"]["variants"] == "warn", doc["findings"]
    assert [f["message"] for f in doc["findings"] if f["code"] == "variant/not-checked"] == [
        "variant 8bit: the variant's weights are not on this machine; its values were not compared with the parent's"]
    assert "shapes and digests match the parent's (9 tensors by digest); values not read: the variant's weights " \
        "are not on this machine" in run("card", cwd=tree).stdout  # fmt: skip
    spec.write_text(original)

    commits = hub.hub.stats["commits"]
    code, doc = publish(tree, "--private-key", keys.private_key)  # converges: nothing to do
    assert code == 0 and hub.hub.stats["commits"] == commits
    assert [v["plan"]["action"] for v in doc["variants"]] == ["done", "done"]

    import huggingface_hub.constants as hf_constants
    import mlx_lm

    for bits in (4, 8):
        target = tmp_path / f"pulled-{bits}bit"
        code, doc = run_json("pull", f"hf://org/name-{bits}bit@v0.1.0", "--public-key", keys.public_key,
                             "--local-dir", target)  # fmt: skip
        assert code == 0 and doc["release"]["repo_id"] == f"org/name-{bits}bit", doc
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
            model, tokenizer = mlx_lm.load(str(target))
        assert model.layers[0].mlp.down_proj.bits == bits
        assert mlx_lm.generate(model, tokenizer, prompt="List the files", max_tokens=2) is not None


def test_a_failed_variant_leaves_the_others_and_a_rerun_converges(tree, lfs_hub, keys):
    hub = lfs_hub
    api = _hub_api(hub)
    api.create_repo("org/name-4bit")  # someone else's v0.1.0 is in the 4bit repo
    api.upload_file(path_or_fileobj=b"not this release", path_in_repo="x.txt", repo_id="org/name-4bit")
    api.create_tag("org/name-4bit", tag="v0.1.0")
    code, doc = publish(tree, "--private-key", keys.private_key)
    assert code == 1 and "publish/tag-exists" in codes(doc)
    assert [(v["id"], v["ok"]) for v in doc["variants"]] == [("4bit", False), ("8bit", True)]
    assert "hf://org/name-8bit@" in entries(tree)[f"{NAME}.8bit"]["uri"] and "hf://" not in \
        entries(tree)[f"{NAME}.4bit"]["uri"]  # fmt: skip

    api.delete_tag("org/name-4bit", tag="v0.1.0")
    hub.hub.faults["fail_commit"] = 1  # the parent and 8bit are done: the first commit is the 4bit's, and it fails
    code, doc = publish(tree, "--private-key", keys.private_key)
    assert code == 1 and "hub/server-error" in codes(doc) and doc["plan"]["action"] == "done"
    code, doc = publish(tree, "--private-key", keys.private_key)
    assert code == 0, doc["findings"]
    assert [(v["id"], v["plan"]["action"]) for v in doc["variants"]] == [("4bit", "commit"), ("8bit", "done")]
    assert "v0.1.0" in {t.name for t in api.list_repo_refs("org/name-4bit").tags}


def test_one_variant_alone_needs_its_parent_on_the_hub(tree, lfs_hub, keys):
    code, doc = publish(tree, "--variant", "4bit", "--dry-run")
    assert code == 1 and codes(doc) == {"publish/parent-missing"}
    code, doc = publish(tree, "--variant", "nope", "--dry-run")
    assert code == 2 and codes(doc) == {"usage/variant"}
    assert publish(tree, "--private-key", keys.private_key)[0] == 0
    code, doc = publish(tree, "--variant", "8bit", "--private-key", keys.private_key)
    assert code == 0 and doc["variant"] == "8bit" and doc["plan"]["action"] == "done"
    assert doc["plan"]["repo_id"] == "org/name-8bit"


def test_the_example_shows_a_4bit_variant_of_its_stand_in(example_tree):
    example = example_tree
    code, doc = check(example)
    assert codes(doc) == {"blocker/weight-distribution"} and doc["checks"]["variants"] == "pass"
    spec = tomllib.loads((example / SPEC).read_text())
    assert [v["id"] for v in spec["variants"]] == ["4bit"]
    config = json.loads((example / spec["variants"][0]["source"] / "config.json").read_text())
    assert config["quantization"] == {"group_size": 64, "bits": 4, "mode": "affine"}
    assert run("validate", spec["variants"][0]["source"], "--mlx-lm", cwd=example).exit_code == 0
    card = run("card", cwd=example).stdout
    assert "15 of 15 quantized modules bit-identical to mlx's quantization of the parent's tensors" in card


def test_the_dry_run_of_a_tree_with_a_foreign_variant_plans_every_repo_and_names_the_tensor(tree, conversions, lfs_hub):
    shutil.rmtree(tree / "weights-4bit")
    shutil.copytree(conversions["other-4bit"], tree / "weights-4bit")
    remanifest(tree, "4bit")
    code, doc = publish(tree, "--dry-run")
    assert code == 1 and [v["id"] for v in doc["variants"]] == ["4bit", "8bit"]
    assert [v["ok"] for v in doc["variants"]] == [False, True] and doc["variants"][1]["plan"]["action"] == "commit"
    foreign = [f["message"] for f in doc["findings"] if f["code"] == "variant/not-from-parent"]
    assert foreign[0].startswith("variant 4bit: model.") and all(  # from the parent's gate and the variant's own
        m.startswith("variant 4bit: ") and not m.startswith("variant 4bit: variant") for m in foreign)  # fmt: skip
    assert not _hub_api(lfs_hub).repo_exists("org/name")
