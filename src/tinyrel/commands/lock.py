"""``tinyrel lock SOURCE [-o FILE] [--name N]`` and ``tinyrel lock --check [FILE]``."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.commands._common import output_options, report_command
from tinyrel.findings import Report, TinyrelError
from tinyrel.sources.lock import Lock, check_lock, lock_source, read_lock, write_lock


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
@click.option("--name", default="weights", show_default=True, help="Name of the source entry.")
@click.option("--check", is_flag=True, help="Exit 1 when the lock no longer matches what it points to.")
@output_options
@report_command
def lock_command(source: str | None, output: Path, name: str, check: bool) -> Report:
    """Resolve SOURCE (a directory, HF cache snapshot, hf-cache:// or hf:// reference) into the lock."""
    if check:
        target = Path(source) if source else output
        report = check_lock(target, base=Path.cwd())
        report.data["_headline"] = f"checked {target}"
        return report
    if not source:
        raise TinyrelError("usage/missing-source", "give a SOURCE to lock, or --check", usage=True)
    entry, report = lock_source(source, name, base=Path.cwd())
    existing = read_lock(output).sources if output.exists() else []
    merged = [s for s in existing if s.name != name] + [entry]
    if report.ok:
        write_lock(output, Lock(merged))
        durable = str(entry.durable).lower()
        report.data["_headline"] = f"locked {name} -> {output}: {len(entry.files)} files, durable={durable}"
    report.data["source"] = entry.to_toml()
    return report
