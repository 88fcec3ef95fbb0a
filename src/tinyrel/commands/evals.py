"""``tinyrel evals [RELEASE] [--lock]``: the numbers behind the card, recomputed from per-item records."""

from __future__ import annotations

import click

from tinyrel.commands._common import Outcome, output_options, report_command
from tinyrel.evidence.collect import fmt_interval, fmt_paired
from tinyrel.policy.workspace import find_workspace


@click.command("evals")
@click.argument("release", required=False)
@click.option("--lock", "pin", is_flag=True, help="Pin every records file (size, SHA-256) in the release's lock entry.")
@output_options
@report_command
def evals_command(release: str | None, pin: bool) -> Outcome:
    """Recompute every eval from its records: score, n, Wilson 95% interval, paired regression."""
    from tinyrel.evidence.report import evals_report

    ws = find_workspace()
    spec = ws.spec(release)
    report = evals_report(ws, spec, pin=pin)
    report.data["workspace"] = str(ws.root)
    lines = [f"evals of {spec.name} {spec.version}"]
    for item in report.data["evals"]:
        tuned, stock = item["tuned"], item["stock"]
        if tuned is None and stock is None:
            lines.append(f"  {item['id']} ({item['kind']}): no per-item records")
            continue
        parts = []
        for label, summary in (("stock", stock), ("tuned", tuned)):
            if summary:
                parts.append(f"{label} {summary['score']:.3f} (n={summary['n']:,}, 95% {fmt_interval(_S(summary))})")
        lines.append(f"  {item['id']} ({item['kind']}): " + "; ".join(parts))
        if item["paired"]:
            lines.append(f"      paired: {_paired_text(item)}")
    if pin:
        lines.append(f"  pinned {len(report.data['pinned'])} records files in {ws.lock_path.name}")
    return Outcome(report, "\n".join(lines))


class _S:
    """A summary dict seen as the attributes ``fmt_interval`` reads."""

    def __init__(self, data: dict) -> None:
        self.ci_low, self.ci_high = data["ci_low"], data["ci_high"]


def _paired_text(item: dict) -> str:
    from tinyrel.evidence.stats import Paired, Summary

    class _E:
        paired = Paired(**item["paired"])
        tuned = Summary(**item["tuned"])
        stock = Summary(**item["stock"])

    return fmt_paired(_E())  # type: ignore[arg-type]
