"""``tinyrel manifest DIR [-o FILE]``: describe a model directory as a deterministic manifest."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.weights import manifest as mf


@click.command("manifest")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write here (atomically) instead of stdout."
)
@output_options
@report_command
def manifest_command(directory: Path, output: Path | None) -> Outcome:
    """Validate DIR and write its weight manifest (files, tensors, digests, totals)."""
    report = api.write_manifest(directory, output)
    manifest = report.data.pop("manifest")
    if output is None:
        click.echo(mf.dumps(manifest), nl=False)
        return Outcome(report, stderr=True)
    totals = manifest["totals"]
    return Outcome(report, f"wrote {output}: {totals['tensors']} tensors, {totals['files']} files")
