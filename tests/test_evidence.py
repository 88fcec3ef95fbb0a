"""Issue 13: every number on the card recomputed from per-item eval records."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.workspace import edit, spec_path

from tinyrel.evidence.stats import mcnemar_exact, wilson

NAME = "qwen3-4b-fileops"


# -- statistics against known values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (8, 10, 0.4902, 0.9433), (50, 100, 0.4038, 0.5962)],
)
def test_wilson_interval_matches_known_values(k, n, low, high):
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("b", "c"), [(1, 5), (0, 21), (10, 20), (7, 7), (173, 0), (0, 0)])
def test_exact_mcnemar_matches_the_binomial_tail(b, c):
    n = b + c
    expected = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)
    assert mcnemar_exact(1, 5) == pytest.approx(0.21875)


# -- the shipped example ---------------------------------------------------------------------------


def test_example_evals_reproduce_the_seed_with_a_paired_regression(example):
    code, doc = run_json("evals", cwd=example)
    assert code == 0, doc["findings"]
    by_id = {e["id"]: e for e in doc["evals"]}
    breadth = by_id["breadth"]
    assert breadth["stock"]["score"] == pytest.approx(0.596) and breadth["tuned"]["score"] == pytest.approx(0.423)
    assert breadth["tuned"]["n"] == 1000 and breadth["tuned"]["ci_low"] < 0.423 < breadth["tuned"]["ci_high"]
    assert breadth["paired"]["regressed"] == 173 and breadth["paired"]["p_value"] < 0.05
    assert by_id["fileops-hard"]["tuned"] == {"score": 1.0, "n": 50, **{k: by_id["fileops-hard"]["tuned"][k]
                                                                       for k in ("ci_low", "ci_high")}}  # fmt: skip
    assert by_id["fileops-heldout"]["tuned"]["score"] == pytest.approx(0.95)
    assert set(doc) >= {"ok", "findings", "evals"}
    code, doc = run_json("check", cwd=example)
    assert codes(doc) == {"blocker/weight-distribution"} and doc["checks"]["eval-evidence"] == "pass"
    card = run("card", "--offline", cwd=example).stdout
    assert "173 of 1,000 items regressed" in card and "p < 0.001" in card and "| 1,000 | 0.39–0.45 |" in card


def test_flipping_one_breadth_record_fails_the_gate_naming_breadth(example):
    records = example / "evals" / "breadth.tuned.jsonl"
    lines = records.read_text().splitlines()
    lines[-1] = lines[-1].replace('"passed": false', '"passed": true')
    records.write_text("\n".join(lines) + "\n")
    code, doc = run_json("check", cwd=example)
    errors = [f for f in doc["findings"] if f["code"] == "blocker/eval-evidence" and f["severity"] == "error"]
    assert code == 1 and errors
    assert any("breadth" in f["message"] and "0.4240 on n=1000" in f["message"] and f.get("line") for f in errors)
    assert any("changed since it was pinned" in f["message"] for f in errors)


def test_require_records_makes_a_missing_record_an_error(example):
    edit(spec_path(example), 'records = "evals/fileops-heldout.tuned.jsonl"', "")
    assert "blocker/eval-evidence" in codes(run_json("check", "--offline", cwd=example)[1], "warning")
    tag = 'pipeline_tag = "text-generation"'
    edit(spec_path(example), tag, f"{tag}\nrequire_records = true")
    assert "blocker/eval-evidence" in codes(run_json("check", "--offline", cwd=example)[1])


def test_the_negative_transfer_table_must_show_the_paired_regression(example):
    template = example / "templates" / "card.md.j2"
    edit(template, "| {{ ev[e.id].paired }} |", "| see records |")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and any("paired regression" in f["message"] for f in doc["findings"])


# -- record formats and their errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "code", "line"),
    [
        ('{"id": "a", "passed": true}\n{"id": "a", "passed": false}\n', "r.jsonl", "evals/duplicate-item", 2),
        ("", "r.jsonl", "evals/records-empty", None),
        ('{"id": "a", "passed": true}\nnot json\n', "r.jsonl", "evals/records-invalid", 2),
        ('{"id": "a"}\n', "r.jsonl", "evals/records-invalid", 1),
        ('{"id": "a", "score": 1.5}\n', "r.jsonl", "evals/records-invalid", 1),
        ('{"id": true, "passed": true}\n', "r.jsonl", "evals/records-invalid", 1),
        ("id,passed\na,1\n", "r.csv", "evals/records-format", None),
        ("garbage", "r.eval", "evals/records-unreadable", None),
    ],
)
def test_record_errors_are_findings_with_file_and_line(example, content, name, code, line):
    (example / "evals" / name).write_text(content)
    edit(spec_path(example), 'records = "evals/fileops-heldout.tuned.jsonl"', f'records = "evals/{name}"')
    code_, doc = run_json("evals", cwd=example)
    found = [f for f in doc["findings"] if f["code"] == code]
    assert code_ == 1 and found, doc["findings"]
    assert found[0]["path"] == f"evals/{name}" and found[0].get("line") == line


def test_stock_and_tuned_must_cover_the_same_items(example):
    records = example / "evals" / "breadth.stock.jsonl"
    records.write_text("\n".join(records.read_text().splitlines()[:-1]) + "\n")
    code, doc = run_json("evals", cwd=example)
    assert code == 1 and "evals/item-mismatch" in codes(doc)


def _inspect_log(path: Path, outcomes: list[str]) -> Path:
    from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalSample, EvalSpec, write_eval_log
    from inspect_ai.scorer import Score

    spec = EvalSpec(created="2026-11-25T00:00:00+00:00", task="fileops-heldout", model="mockllm/model",
                    dataset=EvalDataset(name="heldout", samples=len(outcomes)), config=EvalConfig())  # fmt: skip
    samples = [EvalSample(id=f"h{i}", epoch=1, input="q", target="a", scores={"match": Score(value=v)})
               for i, v in enumerate(outcomes)]  # fmt: skip
    write_eval_log(EvalLog(eval=spec, samples=samples, status="success"), str(path))
    return path


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_inspect_ai_logs_are_recomputed_from_their_samples(example, suffix):
    _inspect_log(example / "evals" / f"heldout{suffix}", ["C"] * 19 + ["I"])
    edit(spec_path(example), 'records = "evals/fileops-heldout.tuned.jsonl"', f'records = "evals/heldout{suffix}"')
    code, doc = run_json("evals", "--lock", cwd=example)
    heldout = next(e for e in doc["evals"] if e["id"] == "fileops-heldout")
    assert code == 0 and heldout["tuned"]["score"] == pytest.approx(0.95) and heldout["tuned"]["n"] == 20
    _inspect_log(example / "evals" / f"heldout{suffix}", ["C"] * 18 + ["I", "I"])
    assert run("evals", "--lock", cwd=example).exit_code == 1  # re-pinned; the spec's 0.95 now disagrees
    code, doc = run_json("check", "--offline", cwd=example)
    assert any(f["code"] == "blocker/eval-evidence" and "fileops-heldout" in f["message"] and "0.9000" in f["message"]
               for f in doc["findings"])  # fmt: skip


# -- records ship, signed --------------------------------------------------------------------------


def test_records_ship_signed_and_a_changed_record_fails_verification(example, keys, tmp_path):
    edit(spec_path(example), 'id = "breadth"', 'id = "breadth"\ndataset_id = "lab/breadth-suite"\ntask_id = "default"')
    result = run("publish", "--mode", "metadata", "--out", "dist", "--private-key", keys.private_key, cwd=example)
    assert result.exit_code == 0, result.output
    dist = example / "dist"
    shipped, source = dist / "evals" / "breadth.tuned.jsonl", example / "evals" / "breadth.tuned.jsonl"
    assert shipped.read_bytes() == source.read_bytes()
    import yaml
    from huggingface_hub import parse_eval_result_entries

    [entry] = parse_eval_result_entries(yaml.safe_load((dist / ".eval_results" / "breadth.yaml").read_text()))
    assert entry.dataset_id == "lab/breadth-suite" and entry.value == pytest.approx(0.423)
    reference = subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", str(dist), "--signature", str(dist / "model.sig"),
         "--public_key", str(keys.public_key)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    record = dist / "evals" / "breadth.tuned.jsonl"
    record.write_text(record.read_text().replace('"passed": false', '"passed": true', 1))
    code, doc = run_json("verify", dist, "--public-key", keys.public_key)
    assert code == 1 and codes(doc) == {"verify/changed"}
    card = (dist / "README.md").read_text()
    assert "[evals/breadth.tuned.jsonl](evals/breadth.tuned.jsonl)" in card
    assert json.loads(json.dumps(run_json("evals", cwd=example)[1]))["ok"] is True
