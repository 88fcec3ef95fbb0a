"""Issue 10: a malicious spec, template, model directory, lock, manifest or Hub cannot fool the gate,
run code, hang, exhaust memory, or write outside its place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.workspace import edit, spec_path

from tinyrel.card.reading import read_card, whole_name

pytestmark = pytest.mark.slow  # child processes, real servers or real bombs: seconds each

NAME = "qwen3-4b-fileops"
ESC = "\x1b[31m"


def cli(*args, cwd=None, timeout=60, env=None) -> subprocess.CompletedProcess:
    """The CLI in a child process, so that a hang is a test failure, not a stuck suite."""
    return subprocess.run([sys.executable, "-m", "tinyrel", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})  # fmt: skip


# -- 1. the gate judges what a reader sees ---------------------------------------------------------


def test_spec_text_cannot_hide_or_fake_the_negative_transfer_table(example):
    fake = "\\n## Negative transfer\\n\\n| Eval | Stock | Specialist | Delta |\\n|---|---|---|---|\\n" \
           "| Out-of-domain breadth | 0.596 | 0.700 | +0.104 |\\n"  # fmt: skip
    edit(spec_path(example), 'readout = "Regression; route only"', 'readout = "<!--"')
    edit(spec_path(example), 'router_guidance = "Send only', f'router_guidance = "-->{fake}Send only')
    code, doc = run_json("check", "--offline", cwd=example)
    card = run("card", "--offline", cwd=example).stdout
    assert "<!--" not in card and "&lt;!--" in card  # shown as text, not a comment
    view = read_card(card)
    assert len(view.find("Negative transfer")) == 1
    rows = view.find("Negative transfer")[0].tables[0]
    assert rows[1][:3] == ["Out-of-domain breadth", "0.596", "0.423"]
    assert "blocker/negative-transfer-table" not in codes(doc)


def test_a_template_that_comments_out_the_table_fails_the_gate(example):
    template = example / "templates" / "card.md.j2"
    edit(template, "## Negative transfer", "<!--\n## Negative transfer")
    row = "| Out-of-domain breadth | 0.596 | 0.423 | -0.173 | 173 of 1,000 items regressed |\n"
    table = "| Eval | Stock | Specialist | Delta | Paired |\n|---|---|---|---|---|\n" + row + row
    edit(template, "## Routing", f"-->\n\n## Negative transfer\n\n{table}\n## Routing")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "blocker/negative-transfer-table" in codes(doc)  # two rows for one eval
    edit(
        template,
        "| Out-of-domain breadth | 0.596 | 0.423 | -0.173 | 173 of 1,000 items regressed |\n\n## Routing",
        "\n## Routing",
    )
    assert "blocker/negative-transfer-table" not in codes(run_json("check", "--offline", cwd=example)[1])
    edit(template, "## Routing", "## Negative transfer\n\n## Routing")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and any("sections" in f["message"] for f in doc["findings"])


def test_a_directional_row_cannot_be_relabelled_direct(example):
    forged = "x |\\n| BFCL V4 public leader | m | 1 | s | Direct | y\\n| "
    edit(spec_path(example), 'readout = "LLM Stats snapshot', f'readout = "{forged}LLM Stats snapshot')
    edit(spec_path(example), 'system = "BFCL V4 public average"', 'system = "BFCL V4 public average | Direct"')
    code, doc = run_json("check", "--offline", cwd=example)
    card = read_card(run("card", "--offline", cwd=example).stdout)
    table = card.find("Competitive context")[0].tables[0]
    leader = [row for row in table if row[0] == "BFCL V4 public leader"]
    assert len(leader) == 1 and leader[0][4] == "Directional"
    assert [row[4] for row in table if row[0].startswith("BFCL V4 public average")] == ["Directional"]
    assert "blocker/claims-comparability" not in codes(doc)


@pytest.mark.parametrize(
    "copy",
    ["general\u2011purpose", "general&#8209;purpose", "general\u200b-purpose", "general\u00a0purpose",
     "<b>general</b>-purpose", "ＧＥＮＥＲＡＬ-purpose"],
)  # fmt: skip
def test_forbidden_copy_is_found_through_lookalikes(example, copy):
    edit(example / "templates" / "card.md.j2", "{{ spec.summary }}", f"{{{{ spec.summary }}}} A {copy} planner.")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "blocker/routed-only-copy" in codes(doc)


def test_forbidden_copy_from_the_spec_is_found_too(example):
    edit(spec_path(example), 'summary = """A Mac-built', 'summary = """A general\u2011purpose, Mac-built')
    assert "blocker/routed-only-copy" in codes(run_json("check", "--offline", cwd=example)[1])


def test_system_names_match_as_whole_names():
    assert whole_name("Qwen").search("fine-tuned from Qwen/Qwen3-4B") is None
    assert whole_name("Qwen").search("fine-tuned from Qwen3-4B") is None
    assert whole_name("BFCL V4 public leader").search("- BFCL V4 public leader: 75.0%")
    assert whole_name("75.0%").search("scores 75.0%.")
    assert whole_name("75.0%").search("scores 175.0%") is None


def test_a_short_directional_name_does_not_trip_on_the_base_model(example):
    with spec_path(example).open("a") as handle:
        handle.write('\n[[context]]\nsystem = "Qwen"\nmetric = "overall BFCL V4 accuracy"\nscore = "12.3%"\n'
                     'comparability = "directional"\nreadout = "context"\n')  # fmt: skip
    edit(spec_path(example), 'name = "File-ops hard gate"', 'name = "File-ops hard gate vs Qwen/Qwen3-4B"')
    code, doc = run_json("check", "--offline", cwd=example)
    assert "blocker/claims-comparability" not in codes(doc), doc["findings"]


# -- 2. templates are data, not code ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    ["{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ spec.__class__.__init__.__globals__ }}",
     "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}", "{% set x = spec.evals.append(1) %}"],
)  # fmt: skip
def test_templates_cannot_run_code(example, payload):
    edit(example / "templates" / "card.md.j2", "## Headline numbers", f"{payload}\n## Headline numbers")
    result = cli("check", "--offline", cwd=example)
    assert result.returncode == 1 and "error[card/template]" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr and not (example / "pwned").exists()


# -- 3. outputs go only where asked, only to regular files -----------------------------------------


def test_outputs_refuse_devices_fifos_and_symlinks(example, model_dir, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    model = model_dir("bf16")
    for args in (["card", "-o", fifo], ["card", "-o", link], ["card", "-o", "/dev/null"]):
        result = cli(*args, cwd=example)
        assert result.returncode == 2 and "error[output/not-regular-file]" in result.stderr, result.stderr
    for args in (["manifest", model, "-o", fifo], ["lock", model, "-o", link], ["check", "--summary", fifo]):
        result = cli(*args, cwd=example)
        assert result.returncode == 2 and "output/not-regular-file" in result.stderr, (args, result.stderr)
    assert Path("/dev/null").is_char_device() and fifo.is_fifo() and link.is_symlink()
    assert target.read_text() == "keep"


def test_leftovers_of_a_killed_run_are_cleaned_and_sigterm_cleans_up(example, tmp_path):
    dead = 2**22 + 12345  # no such pid
    stale_tmp = example / f".card.md.{dead}.x1.tinyrel.tmp"
    stale_dir = example / f".dist.{dead}.x2.tinyrel.staging"
    stale_tmp.write_text("half")
    stale_dir.mkdir()
    foreign = example / ".card.md.notours.tmp"
    foreign.write_text("user's")
    assert run("card", "-o", "card.md", cwd=example).exit_code == 0
    assert run("publish", "--mode", "metadata", "--out", "dist", cwd=example).exit_code == 0
    assert not stale_tmp.exists() and not stale_dir.exists() and foreign.exists()

    code = (
        "import os, signal, pathlib\n"
        "from tinyrel.atomic import raise_on_sigterm, staged_directory\n"
        "raise_on_sigterm()\n"
        f"with staged_directory(pathlib.Path({str(tmp_path / 'out')!r})) as stage:\n"
        "    (stage / 'x').write_text('x')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


# -- 4. model directories are untrusted ------------------------------------------------------------


def _every_reader(model: Path, tmp_path: Path, keys) -> list[subprocess.CompletedProcess]:
    sig = tmp_path / "m.sig"
    return [
        cli("lock", model, "-o", tmp_path / "l.lock"),
        cli("manifest", model, "-o", tmp_path / "m.json"),
        cli("validate", model),
        cli("validate", model, "--quick"),
        cli("sign", model, "--private-key", keys.private_key, "--signature", sig),
    ]


def test_fifos_and_escaping_links_are_refused_everywhere(model_dir, tmp_path, keys):
    model = model_dir("bf16")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    clean = model_dir("bf16-sharded")
    assert run("sign", clean, "--private-key", keys.private_key, "--signature", tmp_path / "clean.sig").exit_code == 0
    os.mkfifo(model / "weights.fifo")
    (model / "leak.txt").symlink_to(secret)
    for result in _every_reader(model, tmp_path, keys):
        assert result.returncode == 1, (result.args, result.stdout, result.stderr)
        out = result.stdout + result.stderr
        assert "special-file" in out or "symlink-escape" in out, out
        assert "Traceback" not in out
    assert not (tmp_path / "l.lock").exists() and not (tmp_path / "m.sig").exists()
    os.mkfifo(clean / "late.fifo")
    result = cli("verify", clean, "--signature", tmp_path / "clean.sig", "--public-key", keys.public_key)
    assert result.returncode == 1 and "hygiene/special-file" in result.stdout + result.stderr


def test_huge_json_and_allocating_config_values_are_bounded(model_dir):
    model = model_dir("bf16")
    (model / "config.json").write_text('{"a": "' + "x" * (17 * 1024 * 1024) + '"}')
    result = cli("validate", model, "--quick")
    assert result.returncode == 1 and "config/invalid" in result.stdout and "allowed" in result.stdout
    config = {"model_type": "qwen3", "num_hidden_layers": 10**10, "hidden_size": 64,
              "quantization": {"bits": 0, "group_size": 0}}  # fmt: skip
    (model / "config.json").write_text(json.dumps(config))
    for args in (["validate", model], ["validate", model, "--mlx-lm"], ["manifest", model]):
        result = cli(*args, timeout=60)
        assert result.returncode == 1 and "config/out-of-range" in result.stdout, result.stdout + result.stderr
        assert "internal/error" not in result.stdout + result.stderr
    (model / "config.json").write_text("[" * 100000 + "]" * 100000)
    result = cli("validate", model, "--quick")
    assert result.returncode == 1 and "config/invalid" in result.stdout
    import resource

    # the documented bound: no hostile input makes a reader allocate (every child process so far)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 512 * 1024


# -- 5. specs, locks and manifests are untrusted ---------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("tuned = 0.423", "tuned = inf", "spec/invalid"),
        ("tuned = 0.423", "tuned = nan", "spec/invalid"),
        ("tuned = 0.95", "tuned = 1.5", "spec/invalid"),
        ("stock = 0.58", "stock = -0.1", "spec/invalid"),
        ('checks = ["weight-distribution"]', "checks = [1, {}]", "spec/invalid"),
        ('name = "qwen3-4b-fileops"', 'name = "../package"', "spec/invalid"),
        ('repo_id = "tinygpt/qwen3-4b-fileops"', 'repo_id = "not a repo"', "spec/invalid"),
        ("routed_only = true", 'routed_only = true\nforbidden_copy = ["(unclosed"]', "spec/invalid"),
        ("routed_only = true", "routed_only = true\nforbidden_copy = [1]", "spec/invalid"),
        ('version = "0.1.0"', 'version = "0.1 0/../x"', "spec/invalid"),
        ("not_for = [", "not_for = [1, ", "spec/invalid"),
    ],
)
def test_malformed_spec_values_get_a_code_and_a_line(example, old, new, code):
    edit(spec_path(example), old, new)
    result = run("check", "--offline", cwd=example)
    assert result.exit_code == 1 and f"error[{code}]" in result.output, result.output
    assert "internal/error" not in result.output and "qwen3-4b-fileops.toml:" in result.output


def test_a_catastrophic_forbidden_copy_pattern_is_time_bounded(example):
    edit(spec_path(example), "routed_only = true", 'routed_only = true\nforbidden_copy = ["(x+x+)+y"]')
    edit(spec_path(example), 'summary = """', 'summary = """' + "x" * 5000 + " ")
    started = time.time()
    result = cli("check", "--offline", cwd=example, timeout=60)
    assert time.time() - started < 30
    assert result.returncode == 1 and "took too long" in result.stdout + result.stderr


def test_an_unpinned_hub_lock_entry_does_not_pass_weight_distribution(example):
    (example / "tinyrel.lock").write_text(
        'schema = "tinyrel.lock/1"\n[[sources]]\nname = "qwen3-4b-fileops"\nuri = "hf://tinygpt/qwen3-4b-fileops"\n'
        'kind = "hub"\nrevision = "main"\ndurable = true\npublic = true\nfiles = []\n'
    )
    assert "blocker/weight-distribution" in codes(run_json("check", "--offline", cwd=example)[1])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["files"].append({"path": "/abs/secret", "size": 1, "sha256": "0" * 64}),
        lambda d: d["files"].append({"path": "../outside", "size": 1, "sha256": "0" * 64}),
        lambda d: d["files"].append(dict(d["files"][0])),
        lambda d: d["tensors"].append(dict(d["tensors"][0])),
        lambda d: d["files"][0].update(size=-1),
        lambda d: d["files"][0].update(size=[1]),
        lambda d: d["tensors"][0].update(data_offsets=[5, 1]),
        lambda d: d["tensors"][0].update(shape={"a": 1}),
        lambda d: d["tensors"][0].pop("data_offsets"),
    ],
)
def test_hostile_manifests_are_refused_with_a_code(example, keys, mutate):
    path = example / "manifests" / f"{NAME}.json"
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "manifest/invalid" in codes(doc)
    result = run("publish", "--mode", "metadata", "--out", "dist", "--allow", "weight-distribution", "--reason", "x",
                 cwd=example)  # fmt: skip
    assert result.exit_code == 1 and not (example / "dist").exists()


@pytest.mark.parametrize(
    "entry",
    [
        'name = "a"\nuri = "x"\nkind = "local-path"\nfiles = [{path = "/etc/passwd", size = 1, sha256 = "' + "0" * 64
        + '"}]',
        'name = "a"\nuri = "x"\nkind = "local-path"\nfiles = [{path = "a", size = 1, sha256 = "' + "0" * 64 + '"}, '
        '{path = "a", size = 1, sha256 = "' + "0" * 64 + '"}]',
        'name = "a"\nuri = 1\nkind = "hub"',
        'name = "a"\nuri = "x"\nkind = "hub"\nfiles = [{path = "a", size = 1e400, sha256 = "x"}]',
    ],
)  # fmt: skip
def test_hostile_locks_are_refused_with_a_code(tmp_path, entry):
    lock = tmp_path / "tinyrel.lock"
    lock.write_text(f'schema = "tinyrel.lock/1"\n[[sources]]\n{entry}\n')
    result = run("lock", "--check", "-o", lock)
    assert result.exit_code == 1 and "error[lock/invalid]" in result.output and "internal/error" not in result.output


# -- 6. the Hub is untrusted: tests/test_hostile_hub.py ---------------------------------------


# -- 7. verification sees everything ---------------------------------------------------------------


def test_files_added_under_dot_cache_are_reported_as_extra(model_dir, keys):
    model = model_dir("bf16")
    assert run("sign", model, "--private-key", keys.private_key, "--signature", model / "model.sig").exit_code == 0
    payload = model / ".cache" / "huggingface" / "payload.py"
    payload.parent.mkdir(parents=True)
    payload.write_text("import os; os.system('echo pwned')")
    code, doc = run_json("verify", model, "--public-key", keys.public_key)
    assert code == 1 and "verify/extra" in codes(doc)


def test_a_rerun_over_a_release_signed_by_another_key_is_not_success(example, hub, keys):
    base = ["publish", "--mode", "weights", "--repo-id", "org/name", "--allow-other-repo"]
    assert run(*base, "--private-key", keys.p384_private_key, cwd=example).exit_code == 0
    lock = (example / "tinyrel.lock").read_text()
    code, doc = run_json(*base, "--private-key", keys.private_key, cwd=example)
    assert code == 1 and codes(doc) == {"publish/tag-signed-elsewhere"}
    assert (example / "tinyrel.lock").read_text() == lock
    code, doc = run_json(*base, "--private-key", keys.p384_private_key, cwd=example)
    assert code == 0 and "publish/already-published" in codes(doc, "info")


# -- 8. terminal safety ----------------------------------------------------------------------------


def test_control_characters_are_escaped_in_every_format(model_dir):
    model = model_dir("bf16")
    (model / f"evil{ESC}name.bin").write_bytes(b"x")
    for fmt in ("text", "json", "github"):
        result = cli("validate", model, "--quick", "--format", fmt)
        assert result.returncode == 1
        assert "\x1b" not in result.stdout + result.stderr, fmt
        assert "evil" in result.stdout + result.stderr


def test_control_characters_in_spec_text_are_escaped(example):
    edit(spec_path(example), 'summary = """', 'summary = """\\u001b]0;owned\\u0007 ')
    edit(spec_path(example), 'name = "File-ops hard gate"', 'name = "File-ops hard gate\\u001b[2J"')
    for fmt in ("text", "json", "github"):
        result = cli("check", "--offline", "--format", fmt, cwd=example)
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr, fmt
