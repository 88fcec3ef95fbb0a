"""``tinyrel card [RELEASE] [-o FILE]``: render the model card exactly as the gate checks it."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.atomic import write_text_atomic
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import Report
from tinyrel.policy.checks import CARD_CHECKS
from tinyrel.policy.gate import run_gate
from tinyrel.workspace.layout import find_workspace


@click.command("card")
@click.argument("release", required=False)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the card here (atomically)."
)
@click.option("--offline", is_flag=True, help="Do not read the weights (blockers that need them show as not checked).")
@output_options
@report_command
def card_command(release: str | None, output: Path | None, offline: bool) -> Outcome:
    """Render the Hugging Face model card for RELEASE (stdout, or -o FILE)."""
    ws = find_workspace()
    result = run_gate(ws, ws.spec(release), offline=offline)
    own = {f"blocker/{c}" for c in CARD_CHECKS}
    report = Report([f for f in result.report.findings if f.code in own or f.code.startswith(("card/", "spec/"))])
    report.data["card"] = str(output) if output else None
    if output is None:
        click.echo(result.card, nl=False)
        return Outcome(report, stderr=True)
    write_text_atomic(output, result.card)
    return Outcome(report, f"wrote {output}")
