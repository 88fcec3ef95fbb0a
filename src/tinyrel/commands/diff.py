"""``tinyrel diff A B``: tensors added, removed and changed between two manifests, dirs or releases."""

from __future__ import annotations

import click

from tinyrel.commands._common import output_options, report_command
from tinyrel.findings import Report


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--exit-code", is_flag=True, help="Exit 1 when A and B differ (like git diff --exit-code).")
@output_options
@report_command
def diff_command(a: str, b: str, exit_code: bool) -> Report:
    """Compare A and B: each a manifest (JSON), a model directory, or hf://org/name@rev."""
    from tinyrel.diff.compare import diff_report
    from tinyrel.diff.sides import load_side

    report = diff_report(load_side(a), load_side(b), a, b)
    if exit_code and not report.data["identical"]:
        report.error("diff/different", f"{a} and {b} differ")
    return report
