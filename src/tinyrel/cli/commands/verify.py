"""``tinyrel verify TARGET --signature FILE (--public-key | --certificate-chain | --identity --issuer)``."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, option_group, output_options, report_command
from tinyrel.findings import Finding, Report

# The signed statements a release must carry (tinyrel.attesting): shared by ``verify`` and ``pull``.
require_option = click.option(
    "--require",
    "require",
    multiple=True,
    metavar="KINDS",
    help="Also require these signed statements, comma-separated: provenance, evals, gate, sbom (or all).",
)

# Who must have signed: shared by ``verify`` and ``pull``.
trust_options = option_group(
    click.option(
        "--public-key",
        type=click.Path(path_type=Path),
        help="EC public key (PEM) paired with the signing key.",
    ),
    click.option(
        "--certificate-chain",
        "chain",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Trusted certificate chain for certificate-signed bundles (repeatable).",
    ),
    click.option("--identity", help="Sigstore keyless: the signer identity (e.g. a workflow URL or e-mail)."),
    click.option("--issuer", help="Sigstore keyless: the OIDC issuer URL."),
    click.option("--offline", is_flag=True, help="Sigstore keyless: use the embedded trust root, no network."),
    click.option(
        "--trust-config",
        type=click.Path(path_type=Path),
        help="Sigstore keyless: a custom client trust config (JSON).",
    ),
)


@click.command("verify")
@click.argument("target")
@click.option(
    "--signature",
    type=click.Path(path_type=Path),
    help="The OMS bundle (default: TARGET/model.sig, or the repo's model.sig for hf:// targets).",
)
@trust_options
@click.option("--ignore-path", "ignore", multiple=True, help="Also ignore this path (relative to TARGET).")
@click.option("--no-download", is_flag=True, help="hf:// and oci://: check the host's size/sha256 metadata, fetch no "
              "weights.")
@click.option("--plain-http", is_flag=True, help="oci:// only: plain HTTP to a non-loopback registry.")
@require_option
@click.option(
    "--base-dir",
    type=click.Path(path_type=Path),
    help="Also check this directory against the base pins the release signs (default for a pulled adapter: "
    "TARGET/base).",
)
@output_options
@report_command
def verify_command(
    target: str,
    signature: Path | None,
    public_key: Path | None,
    chain: tuple[Path, ...],
    identity: str | None,
    issuer: str | None,
    offline: bool,
    trust_config: Path | None,
    ignore: tuple[str, ...],
    no_download: bool,
    require: tuple[str, ...],
    plain_http: bool,
    base_dir: Path | None,
) -> Outcome:
    """Check TARGET (file, directory, hf://org/name@rev or oci://host/path:tag) against an OMS signature."""
    from tinyrel.verifying.bundle import VerifierConfig

    config = VerifierConfig(public_key, chain, identity, issuer, offline, trust_config)
    report = api.verify(target, config, signature=signature, ignore=ignore, no_download=no_download, require=require,
                        plain_http=plain_http, base_dir=base_dir)  # fmt: skip
    remote = target.startswith(("hf://", "oci://"))
    return _outcome(report if remote else group_download_state(report, target))


def group_download_state(report: Report, target: str) -> Report:
    """``hf download --local-dir`` leaves huggingface_hub's download state in ``.cache/huggingface/``
    (a ``.metadata`` and a ``.lock`` per file): one finding that says what it is and how to verify the
    release, instead of one unexplained ``verify/extra`` per file.  Still an error: a file added after
    signing is extra wherever it is, and these are not signed."""
    from tinyrel.release_files import HF_LOCAL_DIR_STATE

    prefix = HF_LOCAL_DIR_STATE + "/"
    state = [f for f in report.findings if f.code == "verify/extra" and (f.path or "").startswith(prefix)]
    if not state:
        return report
    grouped = {id(f) for f in state}
    first = next(i for i, f in enumerate(report.findings) if id(f) in grouped)
    kept = [f for f in report.findings if id(f) not in grouped]
    message = (
        f"{len(state)} files under {HF_LOCAL_DIR_STATE}/ are not signed: huggingface_hub's download state (written "
        "by `hf download --local-dir`), not part of the release; verify without it: add --ignore-path .cache, or "
        f"delete {target}/.cache"
    )
    kept.insert(first, Finding("verify/extra", "error", message, HF_LOCAL_DIR_STATE))
    report.findings = kept
    return report


def _outcome(report: Report) -> Outcome:
    verdict = "verified" if report.ok else "NOT verified"
    return Outcome(report, f"{report.data['target']}: {verdict} ({report.data['method']})" + statements_text(report))


def statements_text(report: Report) -> str:
    """The signed statements ``--require`` checked, one line each (nothing without ``--require``)."""
    rows = report.data.get("attestations")
    if rows is None:
        return ""
    lines = [f"\n  statements: {sum(r['verified'] for r in rows)} of {len(rows)} verified"]
    for row in rows:
        state = "verified" if row["verified"] else "NOT verified"
        verdict = f", says {row['result']}" if row.get("result") else ""
        lines.append(f"  {state:<13} {row['path']}{verdict}")
    return "\n".join(lines)
