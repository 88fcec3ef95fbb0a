"""A diff operand with no tinyrel manifest: ``hf://ORG/NAME@REV`` of any safetensors repo (a base
model), read from its safetensors headers alone — tensor names, dtypes and shapes, by HTTP range
reads (``tinyrel.hub.safetensors_headers``), with no weight downloaded.

Headers carry no digests, so such a side is compared by names, dtypes and shapes only; the
comparison says so (``diff/headers-only``), and a diff that finds those equal does not call the two
identical (``values_compared`` is false).
"""

from __future__ import annotations

from typing import Any

from tinyrel.findings import Finding, Report, TinyrelError
from tinyrel.weights import manifest as mf

NOTE = "diff/headers-only"


def header_manifest(uri: str, repo_id: str, commit: str, listing: dict, notes: list[Finding]) -> dict[str, Any]:
    """A manifest-shaped table of the repo's tensors at ``commit`` (``listing``: the checked listing)."""
    from tinyrel.hub.safetensors_headers import read_remote_header

    shards = sorted(rel for rel in listing if rel.endswith(".safetensors"))
    if not shards:
        raise TinyrelError("diff/no-manifest", f"{uri} has no manifest.json and no *.safetensors file whose headers "
                           "could stand for it")  # fmt: skip
    report = Report()
    files, tensors = [], []
    for rel in shards:
        size = listing[rel].size
        if size is None:
            raise TinyrelError("diff/invalid-weights", f"{uri}: the Hub states no size for {rel}")
        header = read_remote_header(repo_id, rel, commit, size, report)
        files.append({"path": rel, "size": size})
        tensors += [mf.tensor_record(t, None) for t in header.tensors] if header is not None else []
    if not report.ok:
        first = report.errors[0]
        raise TinyrelError("diff/invalid-weights", f"{uri}: {first.path}: {first.code}: {first.message}")
    notes.append(Finding(NOTE, "info", f"{uri} has no manifest.json: compared by the tensor names, shapes and dtypes "
                         f"of its safetensors headers at commit {commit[:12]} (HTTP range reads; no weights "
                         "downloaded, values not compared)"))  # fmt: skip
    return mf.assemble({}, files, tensors, 0, "")  # no digest algorithm: headers carry no digests
