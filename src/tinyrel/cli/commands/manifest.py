"""``tinyrel manifest DIR [-o FILE]``: describe a model directory as a deterministic manifest."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import Report
from tinyrel.weights import manifest as mf
from tinyrel.weights.validate import inspect_weights


@click.command("manifest")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (atomically) instead of stdout."
)
@output_options
@report_command
def manifest_command(directory: Path, output: Path | None) -> Report | Outcome:
    """Validate DIR and write its weight manifest (files, tensors, digests, totals)."""
    inspection = inspect_weights(directory, build_manifest=True)
    report = inspection.report
    if inspection.manifest is None:
        report.error("manifest/not-written", "validation failed; no manifest written")
        return report
    if output is None:
        click.echo(mf.dumps(inspection.manifest), nl=False)
        return Outcome(report, stderr=True)
    mf.write(inspection.manifest, output)
    report.data["manifest"] = str(output)
    totals = inspection.manifest["totals"]
    return Outcome(report, f"wrote {output}: {totals['tensors']} tensors, {totals['files']} files")
