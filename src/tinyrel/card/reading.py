"""Read a rendered card the way a reader on the Hub sees it.

The gate's card checks must judge what is *shown*, not the raw text: an HTML comment can hide a
table, raw HTML renders nothing of itself, and Unicode look-alikes (a non-breaking hyphen, an
entity, a zero-width space) make forbidden copy look innocent to a substring search.  So the card
body is parsed as Markdown (markdown-it-py, CommonMark plus GFM tables, as Hugging Face renders
it); sections, tables and paragraphs are taken from the parse; raw HTML is read as a browser lays
it out (an inline tag such as ``<b>`` joins its neighbours, a block tag or ``<br>`` separates
them, entities are decoded, comments show nothing); and text is normalised (NFKC, hyphen and space
look-alikes, invisible characters) before matching.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2043"), "-")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
# Elements a browser lays out apart from their neighbours: their tags separate words, while an
# inline element's tags (``<b>``, ``<span>``, ``<i></i>``) join them ("drop<i></i>-in" is "drop-in").
_SEPARATING = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Markup that a reader skims past when it is shown as text (escaped spec text: ``<b>x</b>``, ``**x**``).
_LITERAL_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_LITERAL_MARKS = dict.fromkeys(map(ord, "*_`~"), None)
_SPACED_HYPHEN = re.compile(r" ?- ?")


def normalize(text: str) -> str:
    """What a reader perceives: NFKC, look-alike hyphens as '-', invisible characters removed,
    all white space (including no-break spaces) as single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_HYPHENS).translate(_INVISIBLE)
    return " ".join(text.split())


class _VisibleHTML(HTMLParser):
    """Collects the text of raw HTML as a browser shows it (see ``html_text``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SEPARATING:
            self.parts.append(" ")
        alt = dict(attrs).get("alt") if tag == "img" else None
        if alt:
            self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SEPARATING:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(raw: str) -> str:
    """Visible text of raw HTML: comments show nothing (an unclosed one hides the rest), inline tags
    join their neighbours without a space, block tags and line breaks separate them, entities are
    decoded, an image shows its alt text."""
    parser = _VisibleHTML()
    parser.feed(_COMMENT.sub("", raw))
    parser.close()
    return "".join(parser.parts)


def skim(text: str) -> str:
    """``text`` read past markup that is shown literally (``<b>general</b>-purpose``, ``**gen**eral``,
    ``general&#45;purpose`` as printed characters): tags, comments and emphasis marks dropped,
    entities decoded, and a hyphen joined to the words around it ("general -purpose" after a
    line break).  A reader perceives the words, not the debris, so forbidden copy is sought here too."""
    text = _LITERAL_TAG.sub("", _COMMENT.sub("", text))
    text = normalize(html.unescape(text).translate(_LITERAL_MARKS))
    return _SPACED_HYPHEN.sub("-", text)


@dataclass
class Section:
    title: str
    level: int
    texts: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)  # tables → rows (header first) → cells

    @property
    def text(self) -> str:
        return " ".join(self.texts + [" ".join(" ".join(row) for row in t) for t in self.tables])


@dataclass
class CardView:
    front_matter: str
    intro: Section
    sections: list[Section]
    html_texts: list[str]  # text of raw HTML blocks: not structure, but still shown to a reader

    def find(self, title: str) -> list[Section]:
        want = normalize(title).casefold()
        return [s for s in self.sections if normalize(s.title).casefold() == want]

    @property
    def visible_text(self) -> str:
        parts = [self.intro.text, *(f"{s.title} {s.text}" for s in self.sections), *self.html_texts]
        return normalize(" ".join(parts))

    @property
    def skimmed_text(self) -> str:
        """The visible text read past literal markup (see ``skim``)."""
        return skim(self.visible_text)


def split_front_matter(card: str) -> tuple[str, str]:
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            return card[4:end], card[end + 5 :]
    return "", card


def _inline_text(token) -> str:
    """Visible text of an inline token; inline HTML shows what a browser shows for it (see ``html_text``)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline":
            parts.append(html_text(child.content))
        elif child.type == "image":
            parts.append(child.content)
    return normalize("".join(parts))


def read_card(card: str) -> CardView:
    from markdown_it import MarkdownIt

    front, body = split_front_matter(card)
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    intro = Section("", 0)
    sections: list[Section] = []
    html_texts: list[str] = []
    current = intro
    heading_level: int | None = None
    table: list[list[str]] | None = None
    row: list[str] | None = None
    in_cell = False
    for token in tokens:
        kind = token.type
        if kind == "html_block":
            html_texts.append(html_text(token.content))
        elif kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "heading_close":
            heading_level = None
        elif kind == "table_open":
            table = []
        elif kind == "table_close":
            if table is not None:
                current.tables.append(table)
            table = None
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if table is not None and row is not None:
                table.append(row)
            row = None
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "inline":
            text = _inline_text(token)
            if heading_level is not None and heading_level <= 2:
                if heading_level == 2:
                    current = Section(text, 2)
                    sections.append(current)
                else:
                    current.texts.append(text)
            elif in_cell and row is not None:
                row.append(text)
            else:
                current.texts.append(text)
        elif kind in ("fence", "code_block"):
            current.texts.append(normalize(token.content))
    return CardView(front, intro, sections, html_texts)


def whole_name(name: str) -> re.Pattern[str]:
    """A pattern matching ``name`` as a whole (``Qwen`` does not match inside ``Qwen/Qwen3-4B``)."""
    return re.compile(rf"(?<![\w/\-.]){re.escape(normalize(name))}(?![\w/\-]|\.\w)", re.I)
