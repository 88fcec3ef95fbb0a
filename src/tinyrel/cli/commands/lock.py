"""``tinyrel lock SOURCE [-o FILE] [--name N]`` and ``tinyrel lock --check [FILE]``."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import TinyrelError


@click.command("lock")
@click.argument("source", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
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
@click.option(
    "--base",
    "base",
    is_flag=True,
    help="Pin the workspace release's base (its spec's [base] source) as the entry RELEASE.base; --name names the "
    "release.",
)
@output_options
@report_command
def lock_command(source: str | None, output: Path, name: str | None, check: bool, base: bool) -> Outcome:
    """Resolve SOURCE (a directory, HF cache snapshot, hf-cache:// or hf:// reference) into the lock.

    Without SOURCE, in a workspace: re-pin every source of the release spec (--name picks the release),
    its [[variants]] included, each under its own entry; --base pins its [base] instead."""
    if base:
        if source or check:
            raise TinyrelError("usage/base", "--base pins the spec's [base] source: give no SOURCE and no --check",
                               usage=True)  # fmt: skip
        entry, report = api.lock_base(".", name)
        report.data["source"] = entry.to_toml()
        if not report.ok:
            return Outcome(report, f"not locked: {entry.name} did not resolve cleanly")
        at = f" at commit {entry.revision}" if entry.revision else ""
        return Outcome(report, f"locked {entry.name} -> tinyrel.lock: {entry.uri}{at}, {len(entry.files)} files")
    if check:
        target = Path(source) if source else output
        return Outcome(api.check_lock(target), f"checked {target}")
    if not source:  # a workspace: every source its spec names (the weights and each [[variants]] entry)
        report = api.lock_release(".", name)
        locked = ", ".join(f"{e['name']} ({e['files']} files)" for e in report.data["locked"]) or "nothing"
        return Outcome(report, f"locked {locked}")
    entry, report = api.lock_source(source, name, lock_file=output)
    report.data["source"] = entry.to_toml()
    if not report.ok:
        return Outcome(report, f"not locked: {entry.name} did not resolve cleanly")
    durable = str(entry.durable).lower()
    return Outcome(report, f"locked {entry.name} -> {output}: {len(entry.files)} files, durable={durable}")
