"""``tinyrel pull hf://ORG/NAME[@REV] --public-key PEM [--local-dir DIR]``: a verified copy or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.commands._common import Outcome, output_options, report_command
from tinyrel.commands.verify import trust_options


@click.command("pull")
@click.argument("target")
@click.option("--revision", help="Revision (tag, branch or commit), as with `hf download`.")
@click.option(
    "--local-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the verified files go (default: ./NAME). Must be absent or empty.",
)
@trust_options
@output_options
@report_command
def pull_command(
    target: str, revision: str | None, local_dir: Path | None, chain: tuple[Path, ...], **trust
) -> Outcome:
    """Download TARGET (hf://org/name[@rev]) and make it visible only once every byte verifies."""
    from tinyrel.verifying.bundle import VerifierConfig
    from tinyrel.verifying.pull import pull

    report = pull(target, VerifierConfig(certificate_chain=chain, **trust), local_dir, revision=revision)
    if not report.ok:
        return Outcome(report, f"{target}: NOT verified; nothing was written")
    path = report.data["path"]
    return Outcome(
        report,
        f"pulled {target} (commit {report.data['commit'][:12]}) into {path}: {report.data['files']} files verified "
        f'({report.data["method"]})\nuse it: mlx_lm.generate --model {path} --prompt "..."',
    )
