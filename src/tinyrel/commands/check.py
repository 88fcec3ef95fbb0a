"""``tinyrel check [RELEASE]``: the pre-release gate (lock → weights → manifest → blockers → card)."""

from __future__ import annotations

import click

from tinyrel.commands._common import output_options, report_command
from tinyrel.findings import Report
from tinyrel.policy.gate import gate_summary, run_gate
from tinyrel.policy.workspace import find_workspace


@click.command("check")
@click.argument("release", required=False)
@click.option("--require-weights", is_flag=True, help="Unreachable weights are an error, not a warning.")
@output_options
@report_command
def check_command(release: str | None, require_weights: bool) -> Report:
    """Run every release check; exit 0 only when nothing is an error."""
    ws = find_workspace()
    result = run_gate(ws, ws.spec(release), require_weights=require_weights)
    result.report.data["_headline"] = gate_summary(result)
    return result.report
