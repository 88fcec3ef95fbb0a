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


# What the run does to each file (``publishing.hosted.plan_rows``), as the dry run announces it and
# as the real run reports it afterwards.
_WILL = {
    "upload": "upload",
    "blob already on the Hub": "commit (blob on the Hub)",
    "unchanged on the Hub": "unchanged on the Hub",
    "signed at publish": "sign, then commit",
    "delete": "delete",
}
_DID = {
    "upload": "uploaded",
    "blob already on the Hub": "committed (blob on the Hub)",
    "unchanged on the Hub": "unchanged on the Hub",
    "signed at publish": "signed and committed",
    "delete": "deleted",
}


def _rows(plan: dict[str, Any], labels: dict[str, str]) -> list[str]:
    lines = []
    for row in plan["files"]:
        size = f"{row['size']:>14,}" if row["size"] is not None else f"{'-':>14}"
        lines.append(f"  {labels.get(row['status'], row['status']):<28} {size}  {row['path']}")
    return lines


def _repo_future(plan: dict[str, Any]) -> str:
    if not plan["repo_exists"]:
        if plan["private"]:
            return "repo will be created private and stay private (--private)"
        return "repo will be created private and made public after the tag"
    shown = "private" if plan.get("repo_private") else "public"
    after = " after the tag" if plan["action"] != "done" else ""  # a finished release is already tagged
    return f"repo exists, {shown}" + (f"; it will be made public{after}" if plan["make_public"] else "")


def plan_text(plan: dict[str, Any]) -> str:
    """What the real run will do (the dry run's headline): future tense, nothing done yet."""
    action = {
        "commit": f"one new commit of {plan['file_count']} files, then the tag",
        "tag-head": f"tag the untagged release at the branch head {plan.get('existing_commit')} ({plan['file_count']} "
        "files; no new commit)",
        "done": f"nothing: {plan['tag']} already holds this release ({plan['file_count']} files)",
    }[plan["action"]]
    lines = [f"plan for hf://{plan['repo_id']} ({plan['tag']}; {_repo_future(plan)}): {action}"]
    lines += _rows(plan, _WILL)
    if plan["action"] != "commit":
        lines.append(f"  total {plan['bytes']:,} bytes; nothing to upload")
    elif plan.get("transfer") == "xet":
        lines.append(f"  total {plan['bytes']:,} bytes; to upload at most {plan['upload_bytes']:,} bytes (through Xet: "
                     "files are cut into chunks and only chunks the Hub lacks are sent)")  # fmt: skip
    else:
        lines.append(f"  total {plan['bytes']:,} bytes; to upload {plan['upload_bytes']:,} bytes")
    return "\n".join(lines)


def published_text(data: dict[str, Any]) -> str:
    """What the real run did: past tense, from the plan it carried out and the commit it made."""
    plan = data["plan"]
    where = f"hf://{data['repo_id']}@{data['commit'][:12]} ({data['tag']})"
    signed = "signed" if plan.get("signed") else "unsigned"
    headline = {
        "commit": f"published {where}: one new commit of {data['files']} files ({signed}), then the tag",
        "tag-head": f"published {where}: the branch head already held this release untagged (an interrupted "
        f"publish); tagged it, no new commit ({data['files']} files, {signed})",
        "done": f"nothing to publish: {where} already holds this release ({data['files']} files, {signed})",
    }[plan["action"]]
    lines = [headline]
    if plan["action"] == "commit":
        lines += _rows(plan, _DID)
        if plan.get("transfer") == "xet":
            lines.append(f"  total {plan['bytes']:,} bytes; uploaded at most {plan['upload_bytes']:,} bytes (through "
                         "Xet: only chunks the Hub lacked were sent)")  # fmt: skip
        else:
            lines.append(f"  total {plan['bytes']:,} bytes; uploaded {plan['upload_bytes']:,} bytes")
    repo = f"hf://{data['repo_id']}"
    if not plan["repo_exists"]:
        lines.append(f"  created {repo} private" + (", then made it public after the tag" if plan["make_public"]
                     else "; it stays private (--private)"))  # fmt: skip
    elif plan["make_public"]:
        lines.append(f"  made {repo} public" + (" after the tag" if plan["action"] != "done" else ""))
    elif plan.get("repo_private"):
        lines.append(f"  {repo} is private")
    return "\n".join(lines)


def variants_text(variants: list[dict[str, Any]]) -> str:
    """Each variant's repo in a tree publish: its plan (dry run), what was published, or that it was not."""
    lines = []
    for v in variants:
        if v.get("dry_run") and "plan" in v:
            lines.append(f"variant {v['id']}: " + plan_text(v["plan"]))
        elif "commit" in v:
            lines.append(f"variant {v['id']}: " + published_text(v))
        else:
            lines.append(f"variant {v['id']}: not published (see the errors below; re-run to finish)")
    return "".join("\n" + line for line in lines)


def diff_summary(data: dict[str, Any]) -> str:
    t = data["tensors"]
    counts = (
        f"{len(t['changed'])} changed, {len(t['added'])} added, {len(t['removed'])} removed, "
        f"{len(t['dtype_changed'])} dtype and {len(t['shape_changed'])} shape changes, {t['unchanged']} unchanged"
    )
    same = "identical" if data.get("values_compared", True) else "same tensor names, shapes and dtypes (header-only)"
    what = same if data["identical"] else data["summary"]["text"]
    text = f"{data['a']} → {data['b']}: {what}\n  tensors: {counts}; {data['bytes_changed']:,} bytes changed"
    for side in ("a", "b") if "encoding" in data else ():
        summary = data["encoding"][side]
        parts = [f"{q['modules']} modules {q['bits'] or '?'}-bit {q['mode']} (group size {q['group_size'] or '?'})"
                 for q in summary["quantized"]]  # fmt: skip
        kept = summary["unquantized"]
        named = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
        text += (f"\n  encoding of {data[side]}: {', '.join(parts) or 'nothing quantized'}; "
                 f"{len(kept)} tensors left unquantized" + (f" ({named})" if kept and parts else ""))  # fmt: skip
    return text


# -- OCI registries (tinyrel.publishing.oci) ------------------------------------------------------
_OCI_WILL = {"upload": "will upload", "blob already in the registry": "blob already in the registry",
             "unchanged in the registry": "unchanged in the registry", "signed at publish": "will sign and attach",
             "attached in the registry": "signature already attached"}  # fmt: skip
_OCI_DID = {"upload": "uploaded", "blob already in the registry": "blob already in the registry",
            "unchanged in the registry": "unchanged in the registry", "signed at publish": "signed and attached",
            "attached in the registry": "signature already attached"}  # fmt: skip


def oci_plan_text(plan: dict[str, Any]) -> str:
    """What the real OCI publish will do (the dry run's headline)."""
    where = f"oci://{plan['oci_repo']}:{plan['tag']}"
    action = (f"nothing: {plan['tag']} already names this release ({plan['manifest_digest'][:19]})"
              if plan["action"] == "done" else
              f"one manifest of {plan['file_count'] - plan['signed']} layers ({plan['manifest_digest'][:19]})"
              + (", model.sig attached as a referrer" if plan["signed"] else "") + ", then the tag")  # fmt: skip
    lines = [f"plan for {where}: {action}", *_rows(plan, _OCI_WILL)]
    lines.append(f"  total {plan['bytes']:,} bytes; to upload {plan['upload_bytes']:,} bytes")
    return "\n".join(lines)


def oci_published_text(data: dict[str, Any]) -> str:
    """What the real OCI publish did."""
    plan = data["plan"]
    signed = "signed" if plan.get("signed") else "unsigned"
    where = f"oci://{data['oci_repo']}:{data['tag']} ({data['digest'][:19]})"
    if plan["action"] == "done":
        return f"nothing to publish: {where} already holds this release ({data['files']} files, {signed})"
    lines = [f"published {where}: {data['files']} files ({signed}), the tag last", *_rows(plan, _OCI_DID)]
    lines.append(f"  total {plan['bytes']:,} bytes; uploaded {plan['upload_bytes']:,} bytes")
    return "\n".join(lines)
