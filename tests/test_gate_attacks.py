"""Issue 23: three holes an adversarial review found in the release gate.

1. A hand-edited lock claimed a public Hub pin that does not exist, and the gate believed it.
2. Forbidden copy split by HTML tags (or shown as literal markup) passed the routed-only check.
3. The GitHub job summary took raw Markdown and HTML from spec text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import codes, run_json

from tinyrel.card.reading import read_card

NAME = "qwen3-4b-fileops"


def spec_file(ws: Path) -> Path:
    return ws / "release" / f"{NAME}.toml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


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
    edit(spec_file(example), 'summary = """A Mac-built', f'summary = """A {copy} Mac-built')
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
