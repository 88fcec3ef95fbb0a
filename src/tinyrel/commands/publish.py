"""``tinyrel publish --mode metadata|weights [RELEASE]``: run the gate, then emit the release.

``--out DIR`` writes a metadata-only release locally; ``--repo-id ORG/NAME`` pushes the release
to the Hub as one tagged commit (weights included with ``--mode weights``).
"""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.commands._common import Outcome, output_options, report_command
from tinyrel.commands._text import gate_summary, plan_text
from tinyrel.commands.sign import signer_config, signer_options
from tinyrel.findings import TinyrelError
from tinyrel.policy.workspace import find_workspace


@click.command("publish")
@click.argument("release", required=False)
@click.option("--mode", type=click.Choice(["metadata", "weights"]), required=True, help="What to release.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write a metadata release here.")
@click.option("--repo-id", help="Push the release to this Hub repo (ORG/NAME) as one tagged commit.")
@click.option("--private", is_flag=True, help="Create the Hub repo private (it then does not count as public).")
@click.option("--dry-run", is_flag=True, help="Print the plan (files, bytes, what the Hub has); change nothing.")
@click.option(
    "--allow", "allow", multiple=True, metavar="BLOCKER", help="Publish despite this blocker (needs --reason)."
)
@click.option("--reason", help="Why the allowed blockers are overridden; printed on the card.")
@signer_options
@output_options
@report_command
def publish_command(
    release: str | None,
    mode: str,
    out: Path | None,
    repo_id: str | None,
    private: bool,
    dry_run: bool,
    allow: tuple[str, ...],
    reason: str | None,
    **signer: object,
) -> Outcome:
    """Gate, then publish: metadata-only (--out DIR or --repo-id) or hosted weights (--repo-id)."""
    if allow and not reason:
        raise TinyrelError(
            "usage/reason-required", "--allow needs --reason TEXT (it is printed on the card)", usage=True
        )
    if repo_id is not None and out is not None:
        raise TinyrelError("usage/destination", "give --out DIR or --repo-id ORG/NAME, not both", usage=True)
    if repo_id is None and (dry_run or private):
        raise TinyrelError("usage/destination", "--dry-run and --private apply to --repo-id releases", usage=True)
    overrides = {blocker: reason or "" for blocker in allow}
    ws = find_workspace()
    spec = ws.spec(release)
    wants_signature = any(signer[k] for k in ("private_key", "keyless", "signing_certificate", "chain"))
    config = signer_config(**signer) if wants_signature else None
    if repo_id is not None:
        from tinyrel.publishing.hosted import publish_to_hub

        result = publish_to_hub(
            ws, spec, mode=mode, repo_id=repo_id, signer=config, private=private, dry_run=dry_run, overrides=overrides
        )
        return Outcome(result.report, _hosted_text(result))
    if mode == "weights":
        raise TinyrelError("usage/repo-id-required", "publish --mode weights needs --repo-id ORG/NAME", usage=True)
    if out is None:
        raise TinyrelError("usage/out-required", "publish --mode metadata needs --out DIR or --repo-id", usage=True)
    from tinyrel.publishing.local import publish_metadata

    result = publish_metadata(ws, spec, out, overrides, config)
    text = gate_summary(result.gate)
    if result.report.ok:
        signed = "signed (model.sig)" if config is not None else "unsigned"
        text += f"\npublished a metadata-only release ({signed}) to {out}: {', '.join(result.report.data['files'])}"
    return Outcome(result.report, text)


def _hosted_text(result) -> str:
    text, data = gate_summary(result.gate), result.report.data
    if "plan" in data:
        text += "\n" + plan_text(data["plan"])
    if "commit" in data:
        text += f"\npublished hf://{data['repo_id']}@{data['commit'][:12]} ({data['tag']}): {data['files']} files"
    return text
