"""``tinyrel lock SOURCE [-o FILE] [--name N]`` and ``tinyrel lock --check [FILE]``."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.atomic import check_output_target
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import TinyrelError
from tinyrel.scaffold.init import check_name
from tinyrel.sources.lock import check_lock, lock_source, read_lock, update_lock


@click.command("lock")
@click.argument("source", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("tinyrel.lock"),
    show_default=True,
    help="Lock file to write or check.",
)
@click.option(
    "--name",
    help="Name of the source entry [default: the workspace's release, when the lock's directory holds exactly one; "
    "else weights].",
)
@click.option("--check", is_flag=True, help="Exit 1 when the lock no longer matches what it points to.")
@output_options
@report_command
def lock_command(source: str | None, output: Path, name: str | None, check: bool) -> Outcome:
    """Resolve SOURCE (a directory, HF cache snapshot, hf-cache:// or hf:// reference) into the lock."""
    if check:
        target = Path(source) if source else output
        return Outcome(check_lock(target, base=target.parent.resolve()), f"checked {target}")
    if not source:
        raise TinyrelError("usage/missing-source", "give a SOURCE to lock, or --check", usage=True)
    name = name or default_entry_name(output)
    check_name(name)
    check_output_target(output, "lock")
    if output.exists():
        read_lock(output)  # a malformed lock is refused before any work, and never overwritten
    entry, report = lock_source(source, name, base=output.parent.resolve())
    report.data["source"] = entry.to_toml()
    if not report.ok:
        return Outcome(report, f"not locked: {name} did not resolve cleanly")
    update_lock(output, entry)
    durable = str(entry.durable).lower()
    return Outcome(report, f"locked {name} -> {output}: {len(entry.files)} files, durable={durable}")


def default_entry_name(lock_file: Path) -> str:
    """The entry a lock in a workspace belongs to: its only release (``tinyrel.lock`` holds one entry
    per release, named after it), so ``tinyrel lock SOURCE`` re-pins that release instead of adding a
    stray ``weights`` entry the gate never reads.  Outside a workspace: ``weights``."""
    from tinyrel.workspace.layout import Workspace

    releases = Workspace(lock_file.parent).releases()
    if len(releases) > 1:
        raise TinyrelError("usage/name", f"the workspace has releases {releases}; say which with --name", usage=True)
    return releases[0] if releases else "weights"
