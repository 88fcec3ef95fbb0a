"""``tinyrel check [RELEASE]``: the pre-release gate (lock → weights → manifest → blockers → card)."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.cli.text import gate_summary


@click.command("check")
@click.argument("release", required=False)
@click.option("--require-weights", is_flag=True, help="Unreachable weights are an error, not a warning.")
@click.option("--offline", is_flag=True, help="Skip the weights check: spec, card, blockers and CHANGELOG only.")
@click.option(
    "--summary",
    type=click.Path(path_type=Path),
    help="Append a Markdown summary of the gate to FILE (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--write-card", type=click.Path(path_type=Path), help="Also write the rendered card to FILE."
)
@output_options
@report_command
def check_command(
    release: str | None, require_weights: bool, offline: bool, summary: Path | None, write_card: Path | None
) -> Outcome:
    """Run every release check; exit 0 only when nothing is an error."""
    result = api.check(".", release, require_weights=require_weights, offline=offline)
    result.report.data["workspace"] = str(result.context.ws.root)
    if summary is not None:
        from tinyrel.atomic import check_output_target
        from tinyrel.cli.summary import gate_markdown

        check_output_target(summary, "--summary")
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(gate_markdown(result))
    if write_card is not None:
        from tinyrel.atomic import write_text_atomic

        write_text_atomic(write_card, result.card)
    return Outcome(result.report, gate_summary(result))
