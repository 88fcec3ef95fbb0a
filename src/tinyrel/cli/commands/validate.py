"""``tinyrel validate DIR [--manifest FILE] [--quick]``: check weights in one read pass."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command


@click.command("validate")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(path_type=Path),
    help="Also require an exact match with this manifest.",
)
@click.option("--quick", is_flag=True, help="Headers only: no digests, no NaN/Inf scan.")
@click.option("--full-sha256", is_flag=True, help="Also compute every file's SHA-256 (sequential per file).")
@click.option(
    "--mlx-lm", "against_mlx_lm", is_flag=True, help="Also require the tensor table to equal mlx-lm's model parameters."
)
@output_options
@report_command
def validate_command(
    directory: Path, manifest_path: Path | None, quick: bool, full_sha256: bool, against_mlx_lm: bool
) -> Outcome:
    """Check safetensors framing, shard index, MLX layout, values and hygiene of DIR."""
    report = api.validate(directory, manifest=manifest_path, quick=quick, full_sha256=full_sha256,
                          against_mlx_lm=against_mlx_lm)  # fmt: skip
    summary = report.data["summary"]
    verdict = "validated" if report.ok else "validation FAILED for"
    report.data["workspace"] = str(directory)  # findings are relative to the model directory
    return Outcome(report, f"{verdict} {directory}: {summary['files']} files, {summary['tensors']} tensors "
                   f"({summary['mode']})")  # fmt: skip
