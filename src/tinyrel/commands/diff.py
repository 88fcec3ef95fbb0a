"""``tinyrel diff A B``: tensors added, removed and changed between two manifests, dirs or releases."""

from __future__ import annotations

import click

from tinyrel.commands._common import Outcome, output_options, report_command
from tinyrel.commands._text import diff_summary
from tinyrel.findings import TinyrelError


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--exit-code", is_flag=True, help="Exit 1 when A and B differ (like git diff --exit-code).")
@output_options
@report_command
def diff_command(a: str, b: str, exit_code: bool) -> Outcome:
    """Compare A and B: each a manifest (JSON), a model directory, or hf://org/name@rev.

    Exit codes: 0 identical (or differences without --exit-code), 1 different with --exit-code,
    2 an operand is invalid.
    """
    from tinyrel.diffing.compare import diff_report
    from tinyrel.diffing.sides import load_side

    try:
        sides = load_side(a), load_side(b)
    except TinyrelError as exc:  # invalid input is exit 2; "they differ" is exit 1
        exc.usage = exc.usage or not exc.code.startswith("hub/")
        raise
    report = diff_report(*sides, a, b)
    if exit_code and not report.data["identical"]:
        report.error("diff/different", f"{a} and {b} differ")
    return Outcome(report, diff_summary(report.data))
