"""Headlines: the human text a command prints above its findings, built from library data.

Library functions return data (reports, gate results, plans); only the command layer turns them
into sentences, so a Python caller never parses text and the CLI never hides a fact in prose.
"""

from __future__ import annotations

from typing import Any

from tinyrel.policy.gate import GateResult


def gate_summary(result: GateResult) -> str:
    """Readable per-blocker report for the text format."""
    spec = result.context.spec
    lines = [f"release {spec.name} {spec.version} ({result.context.mode})"]
    marks = {"resolved": "✓", "open": "✗", "overridden": "!", "not checked": "-"}
    for b in result.blockers:
        mark = marks.get(b["status"], "?")
        if b["status"] == "resolved":
            lines.append(f"  {mark} {b['id']}: resolved (was: {b['title']})")
        else:
            lines.append(f"  {mark} {b['id']}: {b['status']}: {b['title']}")
            lines += [f"      why: {b['why']}", f"      unblock: {b['unblock']}"]
    checks = result.report.data["checks"]
    lines.append("  checks: " + ", ".join(f"{c}={s}" for c, s in checks.items()))
    return "\n".join(lines)


def plan_text(plan: dict[str, Any]) -> str:
    repo = "exists" if plan["repo_exists"] else "will be created (private until the release is tagged)"
    action = {
        "commit": "one new commit, then the tag",
        "tag-head": f"tag the untagged release at the branch head {plan.get('existing_commit')}",
        "done": f"nothing: {plan['tag']} already holds this release",
    }[plan["action"]]
    lines = [f"plan for hf://{plan['repo_id']} ({plan['tag']}; repo {repo}): {action}"]
    for row in plan["files"]:
        size = f"{row['size']:>14,}" if row["size"] is not None else f"{'-':>14}"
        lines.append(f"  {row['status']:<24} {size}  {row['path']}")
    if plan.get("transfer") == "xet":
        lines.append(f"  total {plan['bytes']:,} bytes; to upload at most {plan['upload_bytes']:,} bytes (through Xet: "
                     "files are cut into chunks and only chunks the Hub lacks are sent)")  # fmt: skip
    else:
        lines.append(f"  total {plan['bytes']:,} bytes; to upload {plan['upload_bytes']:,} bytes")
    if plan["make_public"]:
        lines.append(f"  hf://{plan['repo_id']} will be made public after the tag")
    return "\n".join(lines)


def diff_summary(data: dict[str, Any]) -> str:
    t = data["tensors"]
    counts = (
        f"{len(t['changed'])} changed, {len(t['added'])} added, {len(t['removed'])} removed, "
        f"{len(t['dtype_changed'])} dtype and {len(t['shape_changed'])} shape changes, {t['unchanged']} unchanged"
    )
    what = "identical" if data["identical"] else data["summary"]["text"]
    return f"{data['a']} → {data['b']}: {what}\n  tensors: {counts}; {data['bytes_changed']:,} bytes changed"
