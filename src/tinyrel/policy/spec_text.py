"""Where a text on the card comes from: the spec key (file and line) or the card template line.

A finding about card text is only useful if it points at what the author edits: the spec field
whose value carries the text (``summary``, a ``not_for`` entry, a context row's readout…), and
only when no spec field does, the line of the card template that writes it.  The parsed spec keeps
no positions, so the spec file is read again and its keys located by ``_spec_reader``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from typing import Any

from tinyrel.card.render import MAX_TEMPLATE_BYTES
from tinyrel.safe_io import read_small
from tinyrel.workspace.spec import MAX_SPEC_BYTES, ReleaseSpec


def spec_line(spec: ReleaseSpec, key: str, section: str = "", index: int = 0) -> int | None:
    """The line of ``key`` in the spec's table ``section`` (the ``index``-th ``[[section]]``), read
    from the spec file; ``None`` when the file cannot be read."""
    from tinyrel.workspace._spec_reader import _Reader

    try:
        return _Reader(spec.path, read_small(spec.path, MAX_SPEC_BYTES)).line_of(key, section, index)
    except (OSError, UnicodeDecodeError):
        return None


def spec_strings(doc: dict[str, Any]) -> Iterator[tuple[str, int, str, str]]:
    """(section, index, key, text) for every string the spec holds, in file order; the
    ``forbidden_copy`` patterns are left out (they name the copy, they do not print it)."""
    for section, table in doc.items():
        tables = table if isinstance(table, list) else [table] if isinstance(table, dict) else []
        for index, entry in enumerate(tables):
            if not isinstance(entry, dict):
                continue
            for key, value in entry.items():
                if section == "routing" and key == "forbidden_copy":
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        yield section, index, key, item


def copy_carrier(ctx: Any, matches: Callable[[str], bool]) -> tuple[str, int | None]:
    """Where text that ``matches`` on the card of ``ctx`` (a ``GateContext``) comes from: the first
    spec field whose value matches (as a reader sees it, and read past literal markup) — spec file
    and that key's line —, else the first card template line that does, else the template without
    a line (the text arises only on the rendered card, e.g. across two fields or from a --reason)."""
    from tinyrel.card.reading import normalize, skim
    from tinyrel.workspace._spec_reader import _Reader

    try:
        text = read_small(ctx.spec.path, MAX_SPEC_BYTES)
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        text, doc = "", {}
    for section, index, key, value in spec_strings(doc):
        if matches(normalize(value)) or matches(skim(value)):
            return ctx.rel(ctx.spec.path), _Reader(ctx.spec.path, text).line_of(key, section, index)
    if ctx.card_template is not None:
        try:
            lines = read_small(ctx.card_template, MAX_TEMPLATE_BYTES).splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for number, line in enumerate(lines, 1):
            if matches(normalize(line)) or matches(skim(line)):
                return ctx.template_path, number
    return ctx.template_path, None
