"""``tinyrel publish [--mode metadata|weights] [RELEASE]``: run the gate, then emit the release.

``--out DIR`` writes a metadata-only release locally; otherwise the release goes to the Hub as one
tagged commit (weights included in ``weights`` mode), to the spec's ``[distribution] repo_id``.
``--mode`` defaults to the spec's ``distribution.mode``; a ``--mode`` or ``--repo-id`` that
contradicts the spec is refused (``--allow-other-repo`` publishes to another repo on purpose).
"""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.commands.sign import signer_config, signer_options
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.cli.text import gate_summary, plan_text, published_text, variants_text
from tinyrel.findings import TinyrelError


@click.command("publish")
@click.argument("release", required=False)
@click.option(
    "--mode",
    type=click.Choice(["metadata", "weights"]),
    help="What to release (default: the spec's distribution.mode; a different one is refused).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write a metadata release here.")
@click.option("--repo-id", help="The Hub repo (ORG/NAME; default: the spec's [distribution] repo_id).")
@click.option("--allow-other-repo", is_flag=True, help="Publish to a --repo-id other than the spec's, on purpose.")
@click.option("--oci-repo", metavar="HOST[:PORT]/PATH", help="Publish to this OCI registry repository instead (a "
              "ModelPack artifact tagged v<version>, model.sig attached as a referrer).")
@click.option("--plain-http", is_flag=True, help="Plain HTTP to a non-loopback --oci-repo (loopback always is).")
@click.option("--private", is_flag=True, help="Keep the Hub repo private (this does not resolve weight-distribution).")
@click.option("--dry-run", is_flag=True, help="Print the plan (files, bytes, what the Hub has); change nothing.")
@click.option(
    "--allow", "allow", multiple=True, metavar="BLOCKER", help="Publish despite this blocker (needs --reason)."
)
@click.option("--reason", help="Why the allowed blockers are overridden; printed on the card.")
@click.option("--variant", metavar="ID", help="Publish only this [[variants]] entry (its release must be on the Hub).")
@signer_options
@output_options
@report_command
def publish_command(
    release: str | None,
    mode: str | None,
    out: Path | None,
    repo_id: str | None,
    allow_other_repo: bool,
    oci_repo: str | None,
    plain_http: bool,
    private: bool,
    dry_run: bool,
    allow: tuple[str, ...],
    reason: str | None,
    variant: str | None,
    **signer: object,
) -> Outcome:
    """Gate, then publish: metadata-only (--out DIR, or the Hub) or hosted weights (the Hub)."""
    if allow and not reason:
        raise TinyrelError(
            "usage/reason-required", "--allow needs --reason TEXT (it is printed on the card)", usage=True
        )
    overrides = {blocker: reason or "" for blocker in allow}
    wants_signature = any(signer[k] for k in ("private_key", "keyless", "signing_certificate", "chain"))
    config = signer_config(**signer) if wants_signature else None
    result = api.publish(".", release, mode=mode, out=out, repo_id=repo_id, signer=config, private=private,
                         dry_run=dry_run, allow=overrides, allow_other_repo=allow_other_repo, oci_repo=oci_repo,
                         plain_http=plain_http, variant=variant)  # fmt: skip
    if oci_repo is not None:
        return Outcome(result.report, _oci_text(result))
    if out is None:
        return Outcome(result.report, _hosted_text(result))
    text = gate_summary(result.gate)
    if result.report.ok:
        signed = "signed (model.sig)" if config is not None else "unsigned"
        text += f"\npublished a metadata-only release ({signed}) to {out}: {', '.join(result.report.data['files'])}"
    return Outcome(result.report, text)


def _hosted_text(result) -> str:
    """The dry run says what the real run will do; the real run says what it did (never the plan)."""
    text, data = gate_summary(result.gate), result.report.data
    if data.get("dry_run") and "plan" in data:
        text += "\n" + plan_text(data["plan"])
    elif "commit" in data:
        text += "\n" + published_text(data)
    return text + variants_text(data.get("variants", []))


def _oci_text(result) -> str:
    """The dry run's plan, or what was published to the OCI registry."""
    from tinyrel.cli.text import oci_plan_text, oci_published_text

    text, data = gate_summary(result.gate), result.report.data
    if data.get("dry_run") and "plan" in data:
        text += "\n" + oci_plan_text(data["plan"])
    elif "digest" in data:
        text += "\n" + oci_published_text(data)
    return text
