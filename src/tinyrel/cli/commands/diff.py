"""``tinyrel diff A B``: tensors added, removed and changed between two manifests, dirs or releases."""

from __future__ import annotations

import click

from tinyrel import api
from tinyrel.cli.commands.verify import trust_options
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.cli.text import diff_summary


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--exit-code", is_flag=True, help="Exit 1 when A and B differ (like git diff --exit-code).")
@trust_options
@output_options
@report_command
def diff_command(a: str, b: str, exit_code: bool, chain: tuple, **trust) -> Outcome:
    """Compare A and B: each a manifest (JSON), a model directory, or hf://org/name@rev.

    An hf:// release is read through its manifest.json, which must describe the repo's files; with
    --public-key (or --certificate-chain, --identity/--issuer) it must also be the signed one.

    Exit codes: 0 identical (or differences without --exit-code), 1 different with --exit-code,
    2 an operand cannot be compared (invalid, missing, unreachable or not the signed one).
    """
    from tinyrel.verifying.bundle import VerifierConfig

    config = VerifierConfig(certificate_chain=chain, **trust)
    report = api.diff(a, b, trust=config if any([chain, *trust.values()]) else None)
    if exit_code and not report.data["identical"]:
        report.error("diff/different", f"{a} and {b} differ")
    return Outcome(report, diff_summary(report.data))
