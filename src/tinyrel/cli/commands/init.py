"""``tinyrel init WEIGHTS --name N --base-model ID`` and ``tinyrel init --example DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command


@click.command("init")
@click.argument("weights", required=False)
@click.option("--name", help="Release name (a file-name-safe slug).")
@click.option(
    "--base-model",
    help="The base model: its Hub id (e.g. Qwen/Qwen3-4B; pin it later with tinyrel lock --base), or "
    "hf://ORG/NAME@REV, hf-cache://ORG/NAME or a directory, pinned by commit and digests now.",
)
@click.option("--dir", "dest", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option(
    "--example",
    "example",
    type=click.Path(path_type=Path),
    help="Write the seed example workspace into this directory.",
)
@output_options
@report_command
def init_command(
    weights: str | None, name: str | None, base_model: str | None, dest: Path, example: Path | None
) -> Outcome:
    """Scaffold a release workspace (spec, lock, manifest, CHANGELOG entry, card template).

    WEIGHTS is a model directory, a Hugging Face cache snapshot or hf-cache://ORG/NAME[@REV], or an mlx-lm
    adapter directory (adapter_config.json + adapters.safetensors).
    """
    if example is not None:
        return Outcome(api.init_example(example), f"example workspace for the seed release in {example}")
    report = api.init(weights or "", name=name or "", base_model=base_model or "", directory=dest)
    return Outcome(report, f"workspace for {name} in {dest}; edit release/{name}.toml, then run tinyrel check")
