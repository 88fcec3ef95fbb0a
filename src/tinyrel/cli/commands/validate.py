"""``tinyrel validate DIR [--manifest FILE] [--quick]``: check weights in one read pass."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.weights import manifest as mf
from tinyrel.weights.validate import inspect_weights


@click.command("validate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
    expected = mf.load(manifest_path) if manifest_path else None
    inspection = inspect_weights(directory, expected=expected, quick=quick, full_sha256=full_sha256)
    if against_mlx_lm:
        from tinyrel.weights.mlx_lm_check import check_against_mlx_lm

        check_against_mlx_lm(inspection.model, inspection.report)
    report = inspection.report
    summary = report.data["summary"]
    verdict = "validated" if report.ok else "validation FAILED for"
    report.data["workspace"] = str(directory)  # findings are relative to the model directory
    return Outcome(report, f"{verdict} {directory}: {summary['files']} files, {summary['tensors']} tensors "
                   f"({summary['mode']})")  # fmt: skip
