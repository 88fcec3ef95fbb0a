"""The weight manifest: a deterministic, schema-versioned JSON description of a model directory.

It pins every file (size, SHA-256) and every tensor (dtype, shape, offsets, BLAKE3 digest).  The
per-tensor digests are what make validation fast — they verify in parallel, where a file's SHA-256
is inherently sequential — and what lets ``tinyrel diff`` name the tensors a fine-tune changed.
Safetensors files also carry ``header_digest``: header digest + tensor digests + exact tiling of
the data buffer cover every byte of the file, so a match implies the recorded SHA-256.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tinyrel.atomic import write_text_atomic
from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.release_files import is_release_metadata
from tinyrel.safe_io import checked_relpath, read_bytes_capped
from tinyrel.weights.safetensors_format import TensorEntry

SCHEMA = "tinyrel.manifest/1"


def tensor_record(tensor: TensorEntry, digest: str | None) -> dict[str, Any]:
    return {
        "name": tensor.name,
        "file": tensor.file,
        "dtype": tensor.dtype,
        "shape": list(tensor.shape),
        "data_offsets": [tensor.begin, tensor.end],
        "digest": digest,
    }


def assemble(
    model: dict[str, Any],
    files: list[dict[str, Any]],
    tensors: list[dict[str, Any]],
    parameters: int,
    digest_algorithm: str,
) -> dict[str, Any]:
    files = sorted(files, key=lambda f: f["path"])
    tensors = sorted(tensors, key=lambda t: (t["name"], t["file"]))
    return {
        "schema": SCHEMA,
        "digest_algorithm": digest_algorithm,
        "model": model,
        "files": files,
        "tensors": tensors,
        "totals": {
            "files": len(files),
            "bytes": sum(f["size"] for f in files),
            "tensors": len(tensors),
            "tensor_bytes": sum(t["data_offsets"][1] - t["data_offsets"][0] for t in tensors),
            "parameters": parameters,
        },
    }


def dumps(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(manifest: dict[str, Any], path: Path) -> None:
    write_text_atomic(path, dumps(manifest))


# An 8 GB model's manifest is ~100 KB; 64 MiB holds ~300,000 tensors and parses in bounded memory.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_HEX = re.compile(r"^[0-9a-f]{64}$")


def load(path: Path) -> dict[str, Any]:
    """Read and validate a manifest; a hostile one is a one-line error with a stable code.

    Every path must be relative, normalised and inside the model directory (a manifest row
    ``/abs/secret`` must never reach an upload), entries must be unique and well-typed.
    """
    try:
        data = read_bytes_capped(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise TinyrelError("manifest/not-found", "the manifest does not exist", usage=True, path=str(path)) from None
    except TinyrelError as exc:
        raise TinyrelError("manifest/invalid", exc.message, path=str(path)) from None
    except OSError as exc:
        raise TinyrelError("manifest/invalid", f"not readable: {first_line(exc)}", path=str(path)) from None
    return parse(data, str(path))


def parse(data: bytes, where: str) -> dict[str, Any]:
    """A manifest from bytes already read (and, by the caller, perhaps already hashed)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise TinyrelError("manifest/invalid", f"not readable JSON: {exc.msg}", path=where, line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise TinyrelError("manifest/invalid", f"not readable JSON: {first_line(exc)}", path=where) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise TinyrelError("manifest/schema", f"not a {SCHEMA} manifest", path=where)
    try:
        _validate(doc)
    except (ValueError, TypeError, KeyError) as exc:
        raise TinyrelError("manifest/invalid", first_line(exc), path=where) from None
    return doc


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return value


def _validate(doc: dict[str, Any]) -> None:
    for key in ("files", "tensors"):
        if not isinstance(doc.get(key), list) or not all(isinstance(x, dict) for x in doc[key]):
            raise ValueError(f"'{key}' must be a list of objects")
    if not isinstance(doc.get("model", {}), dict):
        raise ValueError("'model' must be an object")
    paths: set[str] = set()
    for f in doc["files"]:
        rel = checked_relpath(f.get("path"))
        if rel in paths:
            raise ValueError(f"file {rel!r} is listed twice")
        paths.add(rel)
        _count(f.get("size"), f"size of {rel!r}")
        for key in ("sha256", "header_digest"):
            if f.get(key) is not None and not (isinstance(f[key], str) and _HEX.match(f[key])):
                raise ValueError(f"{key} of {rel!r} must be 64 hex digits")
    seen: set[tuple[str, str]] = set()
    for t in doc["tensors"]:
        name, file = t.get("name"), checked_relpath(t.get("file"))
        if not isinstance(name, str) or not name:
            raise ValueError("a tensor has no name")
        if (file, name) in seen:
            raise ValueError(f"tensor {name!r} in {file!r} is listed twice")
        seen.add((file, name))
        if file not in paths:
            raise ValueError(f"tensor {name!r} names {file!r}, which is not in 'files'")
        if not isinstance(t.get("dtype"), str):
            raise ValueError(f"tensor {name!r}: dtype must be a string")
        shape, offsets = t.get("shape"), t.get("data_offsets")
        if not isinstance(shape, list):
            raise ValueError(f"tensor {name!r}: shape must be a list")
        for dim in shape:
            _count(dim, f"tensor {name!r}: a dimension")
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise ValueError(f"tensor {name!r}: data_offsets must be [begin, end]")
        if _count(offsets[0], "an offset") > _count(offsets[1], "an offset"):
            raise ValueError(f"tensor {name!r}: data_offsets begin after they end")
        if t.get("digest") is not None and not isinstance(t["digest"], str):
            raise ValueError(f"tensor {name!r}: digest must be a string")


def compare(
    expected: dict[str, Any],
    files: dict[str, dict[str, Any]],
    tensors: dict[tuple[str, str], dict[str, Any]],
    report: Report,
    *,
    digests_checked: bool,
) -> None:
    """Report every difference between a manifest and what was observed on disk."""
    want_files = {f["path"]: f for f in expected["files"]}
    for rel in sorted(set(want_files) - set(files)):
        if is_release_metadata(rel):  # written by an older tinyrel, which counted it as a weight file
            report.error("manifest/release-file", f"{rel} is in the manifest, but a release file name in the weights "
                         "folder is not a weight (the release writes its own); regenerate the manifest with tinyrel "
                         "manifest", rel)  # fmt: skip
            continue
        report.error("manifest/missing-file", f"{rel} is in the manifest but not on disk", rel)
    for rel in sorted(set(files) - set(want_files)):
        report.error("manifest/extra-file", f"{rel} is on disk but not in the manifest", rel)
    header_intact: dict[str, bool] = {}
    for rel in sorted(set(files) & set(want_files)):
        want, got = want_files[rel], files[rel]
        if want.get("size") != got["size"]:
            report.error("manifest/size", f"{rel}: {got['size']} bytes, manifest says {want.get('size')}", rel)
        if "header_digest" in want or "header_digest" in got:
            header_intact[rel] = want.get("header_digest") == got.get("header_digest")
            if not header_intact[rel]:
                report.error("manifest/header", f"{rel}: safetensors header differs from the manifest", rel)
        elif digests_checked and want.get("sha256") != got.get("sha256"):
            report.error("manifest/sha256", f"{rel}: sha256 differs from the manifest", rel)
    want_tensors = {(t["file"], t["name"]): t for t in expected["tensors"]}
    for file, name in sorted(set(want_tensors) - set(tensors)):
        if file in files and header_intact.get(file, True):
            report.error("manifest/missing-tensor", f"tensor {name!r} missing from {file}", file)
    for file, name in sorted(set(tensors) - set(want_tensors)):
        if header_intact.get(file, True):
            report.error("manifest/extra-tensor", f"tensor {name!r} in {file} is not in the manifest", file)
    fields = ("dtype", "shape", "data_offsets") + (("digest",) if digests_checked else ())
    by_file: dict[str, list[str]] = {}
    for key in sorted(set(tensors) & set(want_tensors), key=lambda k: (k[0], want_tensors[k]["data_offsets"][0])):
        diffs = [f for f in fields if want_tensors[key].get(f) != tensors[key].get(f)]
        if diffs:
            by_file.setdefault(key[0], []).append(f"{key[1]} ({', '.join(diffs)})")
    for file, changed in sorted(by_file.items()):
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        report.error(
            "manifest/tensor-mismatch",
            f"{file}: first differing tensor is {changed[0]}{more}",
            file,
        )
