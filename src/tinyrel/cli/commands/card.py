"""``tinyrel card [RELEASE] [-o FILE]``: render the model card exactly as the gate checks it."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.atomic import write_text_atomic
from tinyrel.cli.common import Outcome, output_options, report_command


@click.command("card")
@click.argument("release", required=False)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the card here (atomically)."
)
@click.option("--offline", is_flag=True, help="Do not read the weights (blockers that need them show as not checked).")
@output_options
@report_command
def card_command(release: str | None, output: Path | None, offline: bool) -> Outcome:
    """Render the Hugging Face model card for RELEASE (stdout, or -o FILE)."""
    result = api.check(".", release, offline=offline)
    report = result.card_findings()
    report.data["card"] = str(output) if output else None
    if output is None:
        click.echo(result.card, nl=False)
        return Outcome(report, stderr=True)
    write_text_atomic(output, result.card)
    return Outcome(report, f"wrote {output}")
