"""Issue 24 item 5: numbers in the card's prose are claims, checked against the records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.helpers import run, run_json
from support.workspace import edit, spec_path

from tinyrel.card.reading import normalize
from tinyrel.policy.prose_numbers import find_claims

NAME = "qwen3-4b-fileops"
CODE = "blocker/prose-claims"
SEED_SUMMARY = (
    "A Mac-built Qwen3-4B file-ops specialist (MLX bf16): 100% on the frozen file-ops hard gate, up \\\n"
    "from 58% for stock Qwen3-4B, and 95% on the file-ops hardgen heldout suite. Breadth drops outside the \\\n"
    "trained domain (0.596 to 0.423), which is why routing is mandatory."
)


def set_summary(ws: Path, summary: str) -> None:
    """Replace the spec's (multi-line) summary, whatever it says now."""
    text = spec_path(ws).read_text()
    start = text.index('summary = """') + len('summary = """')
    spec_path(ws).write_text(text[:start] + summary + text[text.index('"""', start) :])


def line_of(ws: Path, needle: str) -> int:
    """The 1-based line of the spec holding ``needle`` (the first one)."""
    lines = spec_path(ws).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def prose_findings(ws: Path) -> tuple[dict, list[dict]]:
    code, doc = run_json("check", cwd=ws)
    return doc, [f for f in doc["findings"] if f["code"] == CODE]


def write_records(path: Path, outcomes: dict[str, bool]) -> None:
    path.write_text("".join(json.dumps({"id": i, "passed": p}) + "\n" for i, p in outcomes.items()))


def heldout_with_stock(ws: Path, tuned_passes: int, stock_passes: int) -> None:
    """Heldout gets 20 tuned and 20 stock records with these many passes; spec numbers and lock follow."""
    ids = [f"heldout-{i:03d}" for i in range(1, 21)]
    write_records(ws / "evals" / "fileops-heldout.tuned.jsonl", {i: n < tuned_passes for n, i in enumerate(ids)})
    write_records(ws / "evals" / "fileops-heldout.stock.jsonl", {i: n < stock_passes for n, i in enumerate(ids)})
    spec = spec_path(ws)
    edit(spec, 'kind = "heldout"\ntuned = 0.95\n',
         f'kind = "heldout"\nstock = {stock_passes / 20}\ntuned = {tuned_passes / 20}\n')  # fmt: skip
    tuned_line = 'records = "evals/fileops-heldout.tuned.jsonl"\n'
    edit(spec, tuned_line, tuned_line + 'stock_records = "evals/fileops-heldout.stock.jsonl"\n')
    assert run("evals", "--lock", cwd=ws).exit_code == 0


# -- the cases, through `tinyrel check` ------------------------------------------------------


def test_a_summary_contradicting_the_records_fails_with_the_spec_line(example):
    heldout_with_stock(example, tuned_passes=19, stock_passes=11)  # records: 0.95 and 0.55
    set_summary(example, "A file-ops specialist: 99% on the file-ops hardgen heldout suite, up from 20% for stock.")
    doc, found = prose_findings(example)
    assert doc["checks"]["prose-claims"] == "fail" and not doc["ok"]
    assert doc["checks"]["eval-evidence"] == "pass"  # the spec's own numbers are right: only the prose lies
    line = line_of(example, "99% on the file-ops hardgen")
    by_claim = {f["message"].split("'")[1]: f for f in found}
    assert set(by_claim) == {"99%", "20%"}
    for f in found:
        assert f["severity"] == "error" and f["path"] == f"release/{NAME}.toml" and f["line"] == line
    assert "File-ops hardgen heldout" in by_claim["99%"]["message"]
    assert "tuned 0.9500 (n=20)" in by_claim["99%"]["message"]
    assert "stock 0.5500 (n=20)" in by_claim["20%"]["message"]


def test_the_same_summary_with_the_true_numbers_passes(example):
    heldout_with_stock(example, tuned_passes=19, stock_passes=11)
    set_summary(example, "A file-ops specialist: 95% on the file-ops hardgen heldout suite, up from 55% for stock.")
    doc, found = prose_findings(example)
    assert found == [] and doc["checks"]["prose-claims"] == "pass"


def test_a_stale_summary_after_new_records_fails(example):
    """v0.2.0: the records change (heldout now 20/20), the spec's numbers follow, the summary does not."""
    records = example / "evals" / "fileops-heldout.tuned.jsonl"
    items = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    write_records(records, {item["id"]: True for item in items})
    edit(spec_path(example), 'version = "0.1.0"', 'version = "0.2.0"')
    edit(spec_path(example), 'kind = "heldout"\ntuned = 0.95', 'kind = "heldout"\ntuned = 1.00')
    edit(example / "CHANGELOG.md", "## [0.1.0]", "## [0.2.0]\n\n### Changed\n- Heldout 20/20.\n\n## [0.1.0]")
    assert run("evals", "--lock", cwd=example).exit_code == 0
    doc, found = prose_findings(example)
    assert doc["checks"]["eval-evidence"] == "pass" and doc["checks"]["changelog-entry"] == "pass"
    assert len(found) == 1, found
    assert found[0]["line"] == line_of(example, "95% on the file-ops hardgen")
    assert "'95%'" in found[0]["message"] and "tuned 1.0000 (n=20)" in found[0]["message"]
    set_summary(example, SEED_SUMMARY.replace("and 95% on", "and 100% on"))
    assert prose_findings(example)[1] == []


@pytest.mark.parametrize(
    ("summary", "wrong"),
    [
        ("File-ops hard gate: 29/50 → 50/50 (+42 points).", None),
        ("File-ops hard gate: 28/50 → 50/50 (+42 points).", "28/50"),
        ("File-ops hard gate: from 50/50 to 29/50.", "50/50"),  # the sides swapped
        ("File-ops hard gate: 29 of 50 for stock, +42 pts.", None),
        ("File-ops hard gate: up 42% over stock.", None),
        ("File-ops hard gate: up 40 points over stock.", "40 points"),
        ("Out-of-domain breadth: 596 → 423 of 1,000, 173 of 1,000 items regressed, -17.3 pts (p < 0.001).", None),
        ("Out-of-domain breadth: 174 of 1,000 items regressed.", "174 of 1,000"),
        ("Out-of-domain breadth: +17.3 pts.", "+17.3 pts"),  # the sign is part of the claim
        ("Out-of-domain breadth drops 17.3 points, -0.173 or -29% relative.", None),
        ("Out-of-domain breadth gains 17.3 points.", "17.3 points"),
        ("Out-of-domain breadth: -17.4 pts.", "-17.4 pts"),
        ("Out-of-domain breadth: p = 0.04.", "p = 0.04"),
        ("Breadth: 42.3% (95% interval 0.39-0.45), down from 59.6%.", None),
        ("Breadth: 42.3%, down from 60%.", None),  # 0.596 rounds to 60%
        ("Breadth: 42.3%, down from 62%.", "62%"),
        ("File-ops hard gate: 99.6%.", "99.6%"),
        ("Breadth 0.423 → 0.596.", "0.423"),
    ],
)
def test_fractions_deltas_and_p_values_are_checked(example, summary, wrong):
    set_summary(example, summary)
    doc, found = prose_findings(example)
    if wrong is None:
        assert found == [], found
    else:
        assert [f["message"].split("'")[1] for f in found][:1] == [wrong], found
        assert all(f["line"] == line_of(example, "summary =") for f in found)


def test_a_hundred_percent_is_exactly_all_items(example):
    """199 of 200 (0.995) rounds to 100% as written, but "100%" says every item passed."""
    write_records(example / "evals" / "fileops-heldout.tuned.jsonl", {f"h{i}": i != 0 for i in range(200)})
    edit(spec_path(example), 'kind = "heldout"\ntuned = 0.95', 'kind = "heldout"\ntuned = 0.995')
    set_summary(example, "100% on the file-ops hardgen heldout suite.")
    _, found = prose_findings(example)
    assert len(found) == 1 and "'100%'" in found[0]["message"] and "tuned 0.9950 (n=200)" in found[0]["message"]
    set_summary(example, "99.5% on the file-ops hardgen heldout suite, 199 of 200 items.")
    assert prose_findings(example)[1] == []


# -- marks ------------------------------------------------------------------------------------------


def test_a_number_about_no_eval_fails_unless_marked(example):
    set_summary(example, SEED_SUMMARY + " The BFCL V4 leader self-reports 75.0%.")
    _, found = prose_findings(example)
    assert len(found) == 1 and "'75.0%' names no eval" in found[0]["message"]
    assert "not_eval_claims" in found[0]["message"]
    edit(spec_path(example), 'domain = "file operations"\nsummary',
         'domain = "file operations"\nnot_eval_claims = ["leader self-reports 75.0%"]\nsummary')  # fmt: skip
    doc, found = prose_findings(example)
    assert found == [] and doc["checks"]["prose-claims"] == "pass"
    assert "not_eval_claims" not in run("card", "--offline", cwd=example).stdout


def test_a_mark_that_marks_nothing_fails_at_its_line(example):
    edit(spec_path(example), 'domain = "file operations"\nsummary',
         'domain = "file operations"\nnot_eval_claims = ["self-reports 75.0%"]\nsummary')  # fmt: skip
    _, found = prose_findings(example)
    assert len(found) == 1 and "marks no number" in found[0]["message"]
    assert found[0]["line"] == line_of(example, "not_eval_claims")


def test_a_mark_without_a_number_is_an_invalid_spec(example):
    edit(spec_path(example), 'domain = "file operations"\nsummary',
         'domain = "file operations"\nnot_eval_claims = ["BFCL"]\nsummary')  # fmt: skip
    code, doc = run_json("check", cwd=example)
    assert code != 0 and any(f["code"] == "spec/invalid" and f.get("line") == line_of(example, "not_eval_claims")
                             for f in doc["findings"])  # fmt: skip


# -- readouts and context rows -------------------------------------------------------------------------


def test_an_eval_readout_is_about_its_own_eval(example):
    edit(spec_path(example), 'readout = "Regression; route only"', 'readout = "Regression of 17.3 points; route only"')
    assert prose_findings(example)[1] == []
    edit(spec_path(example), "Regression of 17.3 points", "Regression of 20 points")
    _, found = prose_findings(example)
    assert len(found) == 1 and found[0]["line"] == line_of(example, "Regression of 20 points")
    assert "'breadth' readout" in found[0]["message"] and "-17.3 points" in found[0]["message"]


def test_direct_context_rows_that_name_an_eval_are_checked(example):
    edit(spec_path(example), 'score = "58%"', 'score = "60%"')
    edit(spec_path(example), "delta is +42 points", "delta is +40 points")
    _, found = prose_findings(example)
    assert {f["line"] for f in found} == {line_of(example, 'score = "60%"'), line_of(example, "+40 points")}
    assert all("File-ops hard gate" in f["message"] for f in found)


def test_a_directional_rows_own_number_is_not_taken_for_ours(example):
    old = "LLM Stats snapshot for Qwen3.7 Max;"
    edit(spec_path(example), old, "75.0% for Qwen3.7 Max, against 42.3% for our out-of-domain breadth;")
    assert prose_findings(example)[1] == []  # 75.0% is the row's own score; 42.3% is ours, and true
    edit(spec_path(example), "against 42.3% for", "against 45% for")
    _, found = prose_findings(example)
    assert len(found) == 1 and "'45%'" in found[0]["message"] and "breadth" in found[0]["message"]


def test_an_eval_without_records_is_compared_with_the_spec_numbers(example):
    edit(spec_path(example), 'records = "evals/fileops-heldout.tuned.jsonl"\n', "")
    set_summary(example, "File-ops hardgen heldout: 19/20.")
    assert prose_findings(example)[1] == []
    set_summary(example, "File-ops hardgen heldout: 18/20.")
    _, found = prose_findings(example)
    assert len(found) == 1 and "the spec gives tuned 0.95 (no tuned records)" in found[0]["message"]


def test_a_number_dressed_in_look_alike_characters_is_read_as_shown(example):
    set_summary(example, "File-ops hardgen heldout: \uff19\uff19\uff05, hard gate 9\u200b9%.")  # "99%" twice
    _, found = prose_findings(example)
    assert [f["message"].split("'")[1] for f in found] == ["99%", "99%"]


def test_the_shipped_seed_spec_passes(example):
    doc, found = prose_findings(example)
    assert found == [] and doc["checks"]["prose-claims"] == "pass"


# -- what the reader takes as a number -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Qwen3.5-4B", "v0.2.0", "7.5 GB", "0.5 s", "13 rows", "BFCL-V4", "bf16", "2024/05/01", "a 95% interval", "4B"],
)
def test_names_versions_sizes_and_integers_are_not_claims(text):
    assert find_claims(normalize(text)) == []


@pytest.mark.parametrize(
    ("text", "kind", "role", "low", "high"),
    [
        ("95%", "score", "", 0.945, 0.955),
        ("95.0 %", "score", "", 0.9495, 0.9505),
        ("0.596", "score", "", 0.5955, 0.5965),
        ("100%", "score", "", 1.0, 1.0),
        ("up from 20%", "score", "stock", 0.195, 0.205),
        ("\u221217.3 pts", "delta", "", -0.1735, -0.1725),
        ("+0.104", "delta", "", 0.1035, 0.1045),
        ("~99\u2013100%", "score", "", 0.985, 1.0),
    ],
)
def test_claims_assert_what_they_say_rounded_as_written(text, kind, role, low, high):
    (claim,) = find_claims(normalize(text))
    assert (claim.kind, claim.role) == (kind, role)
    assert (claim.low, claim.high) == pytest.approx((low, high))
