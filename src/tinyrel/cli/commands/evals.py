"""``tinyrel evals [RELEASE] [--lock]``: the numbers behind the card, recomputed from per-item records."""

from __future__ import annotations

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.evidence.collect import fmt_interval, fmt_p, fmt_paired
from tinyrel.evidence.stats import Paired, Summary


@click.command("evals")
@click.argument("release", required=False)
@click.option("--lock", "pin", is_flag=True, help="Pin every records file (size, SHA-256) in the release's lock entry.")
@output_options
@report_command
def evals_command(release: str | None, pin: bool) -> Outcome:
    """Recompute every eval from its records: score, n, Wilson 95% interval, paired regression."""
    report = api.evals(".", release, pin=pin)
    lines = [f"evals of {report.data['release']} {report.data['version']}"]
    for item in report.data["evals"]:
        tuned, stock = _summary(item["tuned"]), _summary(item["stock"])
        if tuned is None and stock is None:
            lines.append(f"  {item['id']} ({item['kind']}): no per-item records")
            continue
        parts = [f"{label} {s.score:.3f} (n={s.n:,}, 95% {fmt_interval(s)})"
                 for label, s in (("stock", stock), ("tuned", tuned)) if s is not None]  # fmt: skip
        lines.append(f"  {item['id']} ({item['kind']}): " + "; ".join(parts))
        if item["paired"]:
            lines.append(f"      paired: {fmt_paired(stock, tuned, Paired(**item['paired']))}")
    for variant in report.data.get("variants", []):  # [[variants.evals]]: paired with the parent's and stock's records
        for item in variant["evals"]:
            tuned = _summary(item["tuned"])
            if tuned is None:
                lines.append(f"  {item['id']} ({variant['id']}): no per-item records")
                continue
            scores = f"{tuned.score:.3f} (n={tuned.n:,}, 95% {fmt_interval(tuned)})"
            lines.append(f"  {item['id']} ({variant['id']}): {scores}")
            for side in ("parent", "stock"):
                if item[f"vs_{side}"]:
                    pair = Paired(**item[f"vs_{side}"])
                    lines.append(f"      against the {side}: {pair.regressed:,} of {pair.n:,} items regressed, "
                                 f"{pair.improved:,} improved, {fmt_p(pair.p_value)}")  # fmt: skip
    if pin:
        lines.append(f"  pinned {len(report.data['pinned'])} records files in {report.data['lock']}")
    return Outcome(report, "\n".join(lines))


def _summary(data: dict | None) -> Summary | None:
    return Summary(**data) if data else None
