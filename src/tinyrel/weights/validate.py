"""Validate a model directory (and optionally build its manifest) in one read pass.

``inspect_weights`` is the single engine behind ``tinyrel validate`` and ``tinyrel manifest``:
structure first (headers, index, MLX rules — no data read), then one parallel scan that computes
whatever the caller needs (value scan, tensor digests, file SHA-256) from the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyrel.findings import Report
from tinyrel.progress import byte_progress
from tinyrel.weights import config as cfg
from tinyrel.weights import layout
from tinyrel.weights import manifest as mf
from tinyrel.weights.model_dir import ModelDir, open_model_dir
from tinyrel.weights.scan import TENSOR_DIGEST, TensorJob, blake3_bytes, run_scan


@dataclass
class Inspection:
    report: Report
    model: ModelDir
    manifest: dict[str, Any] | None = None


def inspect_weights(
    root: Path,
    *,
    expected: dict[str, Any] | None = None,
    quick: bool = False,
    build_manifest: bool = False,
    full_sha256: bool = False,
    progress: bool = True,
    file_sha256: bool = True,
) -> Inspection:
    """Check ``root``; compare with ``expected`` if given; build a manifest if asked.

    ``quick`` reads headers only (no digests, no value scan).  File SHA-256 of safetensors files is
    computed only for ``build_manifest``/``full_sha256`` (``file_sha256=False`` builds a manifest
    with tensor digests only, which is all ``tinyrel diff`` needs): validation against a manifest verifies
    header digests and per-tensor digests instead, which cover the same bytes in parallel.
    """
    from tinyrel.weights.adapter import inspect_adapter, is_adapter_dir

    if is_adapter_dir(root):  # an mlx-lm LoRA/DoRA adapter (tinyrel.weights.adapter), not a model directory
        return Inspection(*inspect_adapter(root, expected=expected, quick=quick, build_manifest=build_manifest,
                                           full_sha256=full_sha256, progress=progress, file_sha256=file_sha256))
    report = Report()
    model = open_model_dir(root, report)
    layout.check_index(model, report)
    layout.check_with_reference_loader(model, report)
    layout.check_mlx(model, report)
    if model.config is not None and model.headers and quick:
        report.info("validate/quick", "header-only mode: digests and values were not read")

    want_digests = build_manifest or expected is not None
    scan_data = not quick
    tensor_jobs = []
    if scan_data:
        for rel, header in model.headers.items():
            for t in header.tensors:
                job = TensorJob(t.name, root / rel, header.data_start + t.begin, t.nbytes, t.dtype, want_digests, True)
                tensor_jobs.append((rel, job))
    sha_files: list[tuple[str, Path]] = []
    if scan_data and (want_digests or full_sha256):
        sha_files = [
            (rel, root / rel)
            for rel in model.files
            if (build_manifest and file_sha256) or full_sha256 or rel not in model.headers
        ]
    total = sum(j.nbytes for _, j in tensor_jobs) + sum(p.stat().st_size for _, p in sha_files)
    with byte_progress("scanning weights", total, enabled=progress) as advance:
        scan = run_scan(tensor_jobs, sha_files, advance)

    for (rel, name), result in sorted(scan.tensors.items()):
        if result.nonfinite:
            report.error("values/nonfinite", f"tensor {name!r} contains NaN or Inf", rel)

    files: dict[str, dict[str, Any]] = {}
    for rel in model.files:
        entry: dict[str, Any] = {"path": rel, "size": (root / rel).stat().st_size}
        if rel in scan.file_sha256:
            entry["sha256"] = scan.file_sha256[rel]
        if rel in model.headers:
            entry["header_digest"] = blake3_bytes(model.headers[rel].header_bytes)
        files[rel] = entry
    tensors = {
        (t.file, t.name): mf.tensor_record(t, scan.tensors[(t.file, t.name)].digest if scan_data else None)
        for t in layout.all_tensors(model)
    }
    if expected is not None:
        mf.compare(expected, files, tensors, report, digests_checked=scan_data)

    inspection = Inspection(report, model)
    if build_manifest and report.ok:
        inspection.manifest = mf.assemble(
            cfg.summary(model.config),
            list(files.values()),
            list(tensors.values()),
            layout.parameter_count(layout.all_tensors(model), model.config),
            TENSOR_DIGEST,
        )
    report.data["summary"] = {
        "files": len(model.files),
        "tensors": len(tensors),
        "bytes": sum(f["size"] for f in files.values()),
        "mode": "quick" if quick else "full",
    }
    return inspection
