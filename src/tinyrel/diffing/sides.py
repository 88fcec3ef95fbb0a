"""Turn a diff operand into a manifest: a manifest file, a model directory, or an ``hf://`` release.

Manifests and Hub releases are compared without reading any weights (a Hub release is read through
its ``manifest.json``); a directory is scanned once for per-tensor digests (no file SHA-256).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyrel.findings import TinyrelError
from tinyrel.weights import manifest as mf


def load_side(operand: str) -> dict[str, Any]:
    if operand.startswith("hf://"):
        return _from_hub(operand)
    path = Path(operand)
    if path.is_file():
        return mf.load(path)
    if path.is_dir():
        return _from_directory(path)
    raise TinyrelError("usage/diff-operand", f"{operand} is not a manifest, a model directory or hf:// ref", usage=True)


def _from_directory(path: Path) -> dict[str, Any]:
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(path, build_manifest=True, file_sha256=False)
    if inspection.manifest is None:
        first = inspection.report.errors[0] if inspection.report.errors else None
        detail = f": {first.code}: {first.message}" if first else ""
        raise TinyrelError("diff/invalid-weights", f"{path} does not validate (run tinyrel validate){detail}")
    return inspection.manifest


def _from_hub(uri: str) -> dict[str, Any]:
    import tempfile

    from tinyrel.hub.client import download, hub_ref
    from tinyrel.hub.errors import hub_errors

    ref = hub_ref(uri)
    with tempfile.TemporaryDirectory(prefix="tinyrel-diff-") as scratch:
        with hub_errors(uri):
            local = download(ref.repo_id, "manifest.json", ref.revision, local_dir=Path(scratch)).path
        try:
            return mf.load(local)
        except TinyrelError as exc:
            raise TinyrelError(exc.code, f"{uri}: manifest.json: {exc.message}") from None
