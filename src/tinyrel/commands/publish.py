"""``tinyrel publish --mode metadata|weights [RELEASE]``: run the gate, then emit the release."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.commands._common import output_options, report_command
from tinyrel.findings import Report, TinyrelError
from tinyrel.policy.workspace import find_workspace
from tinyrel.publish import publish_metadata


@click.command("publish")
@click.argument("release", required=False)
@click.option("--mode", type=click.Choice(["metadata", "weights"]), required=True, help="What to release.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the release into this directory.")
@click.option(
    "--allow", "allow", multiple=True, metavar="BLOCKER", help="Publish despite this blocker (needs --reason)."
)
@click.option("--reason", help="Why the allowed blockers are overridden; printed on the card.")
@output_options
@report_command
def publish_command(
    release: str | None, mode: str, out: Path | None, allow: tuple[str, ...], reason: str | None
) -> Report:
    """Gate, then write a metadata-only release (card, manifest, lock, spec snapshot; no weights)."""
    if allow and not reason:
        raise TinyrelError(
            "usage/reason-required", "--allow needs --reason TEXT (it is printed on the card)", usage=True
        )
    if mode == "weights":
        raise TinyrelError(
            "publish/weights-unavailable",
            "hosted weight releases (publish --mode weights) are not implemented in this version; use --mode metadata",
        )
    if out is None:
        raise TinyrelError("usage/out-required", "publish --mode metadata needs --out DIR", usage=True)
    ws = find_workspace()
    return publish_metadata(ws, ws.spec(release), out, {blocker: reason or "" for blocker in allow})
