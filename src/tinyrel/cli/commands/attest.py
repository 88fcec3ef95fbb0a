"""``tinyrel attest [RELEASE] --out DIR (--private-key PEM | --sigstore …)``: signed statements, no publish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tinyrel import api
from tinyrel.cli.commands.sign import signer_config, signer_options
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import TinyrelError


@click.command("attest")
@click.argument("release", required=False)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Where to write attestations/ and the card they name (absent, empty, or an earlier output).")
@signer_options
@output_options
@report_command
def attest_command(release: str | None, out: Path, **signer: Any) -> Outcome:
    """Run the gate and write the release's signed in-toto statements (provenance, evals, gate, ML-BOM)."""
    if not any(signer[k] for k in ("private_key", "keyless", "signing_certificate")):
        raise TinyrelError("usage/attest-signer", "attest signs its statements: give --private-key PEM, "
                           "--signing-certificate with --private-key, or --sigstore", usage=True)  # fmt: skip
    report = api.attest(".", release, out=out, signer=signer_config(**signer))
    return Outcome(report, attested_text(report.data))


def attested_text(data: dict[str, Any]) -> str:
    """One line per statement written: where, what kind, and the verdict it records."""
    release = data["release"]
    lines = [f"attested {release['name']} {release['version']} ({data['signing']}) into {data['out']}:"]
    for row in data["attestations"]:
        verdict = f" — {row['result']}" if row.get("result") else ""
        lines.append(f"  {row['path']}  {row['predicate_type']}{verdict}")
    lines.append("  attestations/sbom.cdx.json  the CycloneDX 1.6 ML-BOM (the sbom statement's predicate)")
    lines.append("  README.md  the card the statements name (with the weight files) as their subject")
    return "\n".join(lines)
