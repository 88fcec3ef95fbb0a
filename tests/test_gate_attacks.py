"""Issue 23: three holes an adversarial review found in the release gate.

1. A hand-edited lock claimed a public Hub pin that does not exist, and the gate believed it.
2. Forbidden copy split by HTML tags (or shown as literal markup) passed the routed-only check.
3. The GitHub job summary took raw Markdown and HTML from spec text.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import tomli_w
from support.helpers import codes, run, run_json
from support.hub import HUB_TOKEN
from support.workspace import edit, spec_path

from tinyrel.card.reading import read_card

NAME = "qwen3-4b-fileops"
GHOST = "0123456789abcdef0123456789abcdef01234567"


# -- 1. a lock's public pin is confirmed with the Hub ----------------------------------------------


def _api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.base_url, token=HUB_TOKEN)


@pytest.fixture
def pinned(example, hub) -> Path:
    """The example's stand-in weights uploaded to a public repo of the emulator, and the workspace
    lock pointed at that commit by the real resolver (its pinned eval records kept)."""
    import tinyrel
    from tinyrel.sources.lock import read_lock, update_lock

    snapshot = next((example / "hf-cache").rglob("snapshots/*"))
    api = _api(hub)
    api.create_repo("org/name")
    api.upload_folder(folder_path=snapshot, repo_id="org/name")
    lock_path = example / "tinyrel.lock"
    evidence = read_lock(lock_path).get(NAME).evidence
    entry, report = tinyrel.lock_source("hf://org/name@main", NAME)
    assert report.ok and entry.public and len(entry.revision) == 40
    entry.evidence = evidence
    update_lock(lock_path, entry)
    return example


def _edit_lock(ws: Path, change) -> None:
    path = ws / "tinyrel.lock"
    doc = tomllib.loads(path.read_text())
    change(doc["sources"][0])
    path.write_text(tomli_w.dumps(doc))


def _file(entry: dict, name: str) -> dict:
    return next(f for f in entry["files"] if f["path"] == name)


def _weight_distribution(doc: dict) -> list[str]:
    return [f["message"] for f in doc["findings"] if f["code"] == "blocker/weight-distribution"]


def _claims_public_pin(card: str) -> bool:
    return ", a public commit" in card or "(public)" in card


def test_a_pin_the_hub_confirms_passes_without_downloading_weights(pinned, hub, monkeypatch):
    import tinyrel.hub.client as client

    fetched: list[str] = []
    real_download = client.download

    def recording_download(repo_id, filename, *args, **kwargs):
        fetched.append(filename)
        return real_download(repo_id, filename, *args, **kwargs)

    monkeypatch.setattr(client, "download", recording_download)
    lfs_downloads = hub.hub.stats["lfs_downloads"]
    code, doc = run_json("check", cwd=pinned)
    assert code == 0, doc["findings"]
    assert doc["checks"]["weight-distribution"] == "pass"
    card = run("card", cwd=pinned).stdout
    commit = tomllib.loads((pinned / "tinyrel.lock").read_text())["sources"][0]["revision"]
    assert f"pinned at hf://org/name@{commit}, a public commit the Hub confirmed" in card
    assert f"Weights: hf://org/name at commit {commit} (public)." in card
    # metadata only for the weights: the small non-LFS files are fetched to hash them, nothing else
    assert fetched and "model.safetensors" not in fetched
    assert hub.hub.stats["lfs_downloads"] == lfs_downloads


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # a commit that is not in the repo
        (lambda e: e.update(uri=f"hf://org/name@{GHOST}", revision=GHOST), "hub/revision-not-found"),
        # a repo that does not exist (the review's attack: any 40 hex digits, public = true)
        (lambda e: e.update(uri=f"hf://ghost/none@{GHOST}", revision=GHOST), "hub/not-found"),
        # a file only the Hub can contradict (the manifest does not list it)
        (lambda e: _file(e, ".gitattributes").update(sha256="0" * 64), ".gitattributes: sha256"),
        (lambda e: _file(e, "config.json").update(size=1), "config.json: size"),
        (lambda e: e["files"].append({"path": "extra.bin", "size": 1, "sha256": "0" * 64}), "extra.bin: not on"),
        (lambda e: e.update(files=[f for f in e["files"] if f["path"] != ".gitattributes"]), ".gitattributes: not in"),
    ],
    ids=["wrong-revision", "no-such-repo", "wrong-sha256", "wrong-size", "file-not-on-hub", "file-not-in-lock"],
)
def test_a_hand_edited_pin_is_refused_and_not_claimed(pinned, hub, change, expected):
    _edit_lock(pinned, change)
    code, doc = run_json("check", cwd=pinned)
    assert code == 1 and doc["checks"]["weight-distribution"] == "fail"
    messages = _weight_distribution(doc)
    assert any(expected in m for m in messages), messages
    assert {b["id"]: b["status"] for b in doc["blockers"]}["weight-distribution"] == "open"
    card = run("card", cwd=pinned).stdout
    assert not _claims_public_pin(card)
    assert "which this run did not confirm on the Hub as public and pinned" in card


def test_a_private_repo_claimed_public_is_refused(pinned, hub):
    _api(hub).update_repo_settings("org/name", private=True)
    code, doc = run_json("check", cwd=pinned)  # the token can read it: the Hub says it is private
    assert code == 1 and any("not public" in m for m in _weight_distribution(doc)), doc["findings"]
    assert not _claims_public_pin(run("card", cwd=pinned).stdout)


def test_an_unreachable_hub_does_not_pass_and_is_not_claimed(pinned, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("TINYREL_HUB_TIMEOUT", "5")
    code, doc = run_json("check", cwd=pinned)
    assert code == 1 and any("hub/unreachable" in m for m in _weight_distribution(doc)), doc["findings"]
    assert not _claims_public_pin(run("card", cwd=pinned).stdout)


def test_offline_the_pin_is_not_checked_and_the_card_says_so(pinned, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # offline must not even try
    _edit_lock(pinned, lambda e: e.update(uri=f"hf://ghost/none@{GHOST}", revision=GHOST))
    code, doc = run_json("check", "--offline", cwd=pinned)
    assert code == 0, doc["findings"]
    assert doc["checks"]["weight-distribution"] == "skipped"
    assert {b["id"]: b["status"] for b in doc["blockers"]}["weight-distribution"] == "not checked"
    card = run("card", "--offline", cwd=pinned).stdout
    assert not _claims_public_pin(card)
    assert f"hf://ghost/none at commit {GHOST}, as the lock records it (not confirmed with the Hub" in card


def test_a_metadata_release_does_not_carry_a_refuted_pin(pinned, hub):
    _edit_lock(pinned, lambda e: e.update(uri=f"hf://ghost/none@{GHOST}", revision=GHOST))
    code, doc = run_json("publish", "--mode", "metadata", "--out", "dist", cwd=pinned)
    assert code == 1 and "blocker/weight-distribution" in codes(doc) and not (pinned / "dist").exists()


def test_a_pin_whose_uri_names_another_commit_is_refused(pinned, hub):
    _edit_lock(pinned, lambda e: e.update(uri=f"hf://org/name@{GHOST}"))
    code, doc = run_json("check", cwd=pinned)
    assert code == 1 and any(GHOST in m for m in _weight_distribution(doc)), doc["findings"]


# -- 2. forbidden copy is read as the card renders it ----------------------------------------------

SPLIT_COPY = [
    "<b>general</b>-purpose",
    "drop<i></i>-in replacement for",
    "general&#45;purpose",
    "<b><i>gen</i>eral</b>-purpose",
    '<span class="x" title="y">general</span>-purpose',
    "**gen**eral-purpose",
    "gen<!-- hidden -->eral-purpose",
    "<em>all</em>&#x2d;<strong>purpose</strong>",
]


@pytest.mark.parametrize("copy", SPLIT_COPY)
@pytest.mark.parametrize(
    "wrap",
    [lambda c: f"A {c} planner.", lambda c: f"<div>\nA {c} planner.\n</div>", lambda c: f"<p>A {c} planner.</p>",
     lambda c: f"<span>\nA {c} planner."],
    ids=["paragraph", "div-block", "p-block", "span-block"],
)  # fmt: skip
def test_forbidden_copy_split_by_markup_in_a_template_is_found(example, copy, wrap):
    edit(example / "templates" / "card.md.j2", "{{ spec.summary }}", "{{ spec.summary }}\n\n" + wrap(copy) + "\n")
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "blocker/routed-only-copy" in codes(doc), doc["checks"]


@pytest.mark.parametrize("copy", SPLIT_COPY)
def test_forbidden_copy_shown_as_literal_markup_in_the_spec_is_found(example, copy):
    """Spec text is escaped (the card shows ``<b>general</b>-purpose`` as written): a reader still reads
    "general-purpose", so the gate does too."""
    edit(spec_path(example), 'summary = """A Mac-built', f'summary = """A {copy} Mac-built')
    code, doc = run_json("check", "--offline", cwd=example)
    assert code == 1 and "blocker/routed-only-copy" in codes(doc), doc["checks"]


@pytest.mark.parametrize(
    ("markdown", "visible"),
    [
        ("<div>gen<b>eral</b>-purpose</div>\n", "general-purpose"),
        ("<div>\ngen<span class='a'\ntitle=b>eral</span>&#45;purpose\n</div>\n", "general-purpose"),
        ("<p>one</p><p>two</p>\n", "one two"),
        ("<div>one<br>two</div>\n", "one two"),
        ("<table><tr><td>a</td><td>b</td></tr></table>\n", "a b"),
        ("<div>a <!-- hidden --> b &amp; c</div>\n", "a b & c"),
        ("<!--\nall hidden\n", ""),
        ("<div>1 < 2 and 3 > 2</div>\n", "1 < 2 and 3 > 2"),
        ("<div><img alt='a picture' src='x.png'>caption</div>\n", "a picture caption"),
        ("one<br>two and gen<b>eral</b>\n", "one two and general"),
        ("`gen`eral **x**_y_\n", "general xy"),
    ],
)
def test_visible_text_is_what_the_rendering_shows(markdown, visible):
    assert read_card(markdown).visible_text == visible


def test_a_routed_only_card_with_html_and_no_forbidden_copy_still_passes(example):
    extra = "<details><summary>Why routed-only</summary>\n\nA <b>file-ops</b> specialist.\n\n</details>\n"
    edit(example / "templates" / "card.md.j2", "## Routing", extra + "\n## Routing")
    code, doc = run_json("check", "--offline", cwd=example)
    assert doc["checks"]["routed-only-copy"] == "pass", doc["findings"]


# -- 3. the job summary shows spec text as text ----------------------------------------------------

HOSTILE = {
    "title": "[click me](https://evil.com/a) ![pixel](https://evil.com/p.png) <!--",
    "why": "<img src=x onerror=alert(1)> <b>bold</b> www.evil.com and https://evil.com/b or evil.com",
    "unblock": "| x | y |\\n|---|---|\\n## Heading `code` ~~struck~~ $x^2$ mail@evil.com <https://evil.com/c>",
}


def _hostile_summary(ws: Path, tmp_path: Path) -> str:
    spec = spec_path(ws)
    edit(spec, 'title = "Weight distribution undecided"', f'title = "{HOSTILE["title"]}"')
    edit(spec, 'why = "The package lock points', f'why = "{HOSTILE["why"]} The package lock points')
    edit(spec, 'unblock = "Decide metadata-only', f'unblock = "{HOSTILE["unblock"]} Decide metadata-only')
    # an unknown check name is quoted in a finding's message: spec text in the findings table
    edit(spec, 'checks = ["weight-distribution"]', 'checks = ["weight-distribution", "<!-- [x](https://evil.com/d)"]')
    summary = tmp_path / "summary.md"
    assert run("check", "--offline", "--summary", summary, cwd=ws).exit_code == 1
    return summary.read_text()


def _gfm_tokens(markdown: str):
    """Every token, nested ones included, as GitHub-flavoured Markdown with raw HTML and autolinks."""
    pytest.importorskip("linkify_it")
    from markdown_it import MarkdownIt

    out = []
    for token in MarkdownIt("gfm-like").parse(markdown):
        out.append(token)
        out.extend(token.children or [])
    return out


def test_the_job_summary_renders_spec_text_as_inert_text(example, tmp_path):
    summary = _hostile_summary(example, tmp_path)
    tokens = _gfm_tokens(summary)
    active = [(t.type, t.content or t.attrs) for t in tokens
              if t.type in ("link_open", "image", "html_inline", "html_block", "s_open", "heading_open")
              and not (t.type == "heading_open" and t.tag == "h2" and t.map and t.map[0] == 0)]  # fmt: skip
    assert active == [], active
    # the tables are intact: one row per blocker, one per finding, four cells each
    blockers, findings = _tables(summary)
    assert [len(r) for r in blockers] == [4, 4, 4] and {len(r) for r in findings} == {4} and len(findings) > 1
    assert any("unknown checks" in r[3] for r in findings[1:])
    # and every hostile string is shown, as written, in its cell
    shown = _rendered_text(summary)
    for text in HOSTILE.values():
        assert " ".join(text.replace("\\n", " ").split()) in shown, text


def _tables(markdown: str) -> list[list[list[str]]]:
    """Tables → rows → cell sources, from markdown-it's parse (GFM tables)."""
    from markdown_it import MarkdownIt

    tables: list[list[list[str]]] = []
    for token in MarkdownIt("gfm-like").parse(markdown):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append([])
        elif token.type == "inline" and tables and token.level > 2:
            tables[-1][-1].append(token.content)
    return tables


def _rendered_text(markdown: str) -> str:
    """The text a reader sees in the rendered summary (markdown-it's HTML, tags dropped, entities decoded)."""
    import html

    from markdown_it import MarkdownIt

    rendered = MarkdownIt("gfm-like").render(markdown)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u2060", "").split())


def test_summary_of_a_clean_gate_is_unchanged_in_substance(example, tmp_path):
    summary = tmp_path / "summary.md"
    run("check", "--offline", "--summary", summary, cwd=example)
    text = summary.read_text()
    assert "## tinyrel release gate: `qwen3-4b-fileops` 0.1.0 — failed" in text
    shown = _rendered_text(text)
    assert "Decide metadata-only release vs durable hosted weight release." in shown
    assert "weight-distribution" in shown and "✅ resolved" in shown
