"""An mlx-lm adapter directory: ``adapter_config.json`` + ``adapters.safetensors``, as ``mlx_lm.lora``
writes them (LoRA or DoRA), validated on its own and turned into a manifest.

``mlx_lm.lora`` saves ``vars(args)`` as ``adapter_config.json`` and the trainable parameters as
``adapters.safetensors``: for every adapted module ``P`` (a linear layer in the last ``num_layers``
blocks, or whatever ``lora_parameters.keys`` names) ``P.lora_a`` and ``P.lora_b`` — shapes
``(in, r)`` and ``(r, out)`` for a linear layer, ``(rows, r)`` and ``(r, dims)`` for an embedding,
``(experts, r, in)`` and ``(experts, out, r)`` for a mixture-of-experts layer — and, for DoRA,
``P.m``.  ``mlx_lm.load(base, adapter_path=DIR)`` reads exactly those two files and builds the
layers from ``fine_tune_type``, ``num_layers`` and ``lora_parameters``.

What can be checked without the base is checked here (framing, names, ranks, config values,
NaN/Inf); whether the modules exist in the base with those dimensions is the gate's ``base-model``
check (``tinyrel.weights.base_compat``).  Anything else in the directory would be published with
the adapter, so it is refused: a training checkpoint (``0000100_adapters.safetensors``) is not the
adapter.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from tinyrel.findings import Report, TinyrelError, first_line
from tinyrel.progress import byte_progress
from tinyrel.safe_io import read_small
from tinyrel.weights import manifest as mf
from tinyrel.weights.model_dir import MAX_JSON, ModelDir, _listing, note_release_files
from tinyrel.weights.safetensors_format import read_header
from tinyrel.weights.scan import TENSOR_DIGEST, TensorJob, blake3_bytes, run_scan

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapters.safetensors"
ADAPTER_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS)
FINE_TUNE_TYPES = ("lora", "dora")
LEAVES = {"lora": ("lora_a", "lora_b"), "dora": ("lora_a", "lora_b", "m")}
FLOAT_DTYPES = {"F32", "F16", "BF16"}
MAX_RANK = 1 << 16
LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")
_CHECKPOINT = re.compile(r"^\d+_adapters\.safetensors$")


def is_adapter_dir(root: Path) -> bool:
    """An mlx-lm adapter directory: both adapter files, and no model ``config.json`` beside them."""
    return all((root / name).is_file() for name in ADAPTER_FILES) and not (root / "config.json").exists()


def is_embedding(module: str) -> bool:
    """mlx-lm's embedding modules (``embed_tokens``, ``wte``…): their LoRA factors are (rows, r), (r, dims)."""
    return "embed" in module.rsplit(".", 1)[-1] or module.rsplit(".", 1)[-1] == "wte"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_adapter_config(root: Path, report: Report) -> dict[str, Any] | None:
    """``adapter_config.json`` checked for what mlx-lm's loader uses; ``None`` if it cannot be used.
    The summary it returns is what the manifest records (``model.adapter``)."""
    where = ADAPTER_CONFIG
    try:
        doc = json.loads(read_small(root / ADAPTER_CONFIG, MAX_JSON))
    except TinyrelError as exc:
        report.error("adapter/config-invalid", f"{where}: {exc.message}", where)
        return None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.error("adapter/config-invalid", f"{where} does not parse as JSON: {first_line(exc)}", where)
        return None
    if not isinstance(doc, dict):
        report.error("adapter/config-invalid", f"{where} is not a JSON object", where)
        return None
    _note_local_paths(doc, report)
    kind = doc.get("fine_tune_type", "lora")
    if kind == "full":
        report.error("adapter/unsupported", f'{where}: fine_tune_type "full" saves whole layers, not an adapter: '
                     "fuse them into the model (mlx_lm.fuse) and release the model", where)  # fmt: skip
        return None
    before = len(report.errors)
    if kind not in FINE_TUNE_TYPES:
        report.error("adapter/config-invalid", f"{where}: fine_tune_type must be lora or dora (got {str(kind)[:40]!r})",
                     where)  # fmt: skip
    layers = doc.get("num_layers")
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < -1 or layers > 1 << 16:
        report.error("adapter/config-invalid", f"{where}: num_layers must be an integer (-1 for all layers), got "
                     f"{str(layers)[:40]!r}", where)  # fmt: skip
    params = doc.get("lora_parameters")
    if not isinstance(params, dict):
        report.error("adapter/config-invalid", f"{where}: lora_parameters must be an object with rank, scale and "
                     "dropout", where)  # fmt: skip
        return None
    rank, scale, dropout, keys = (params.get(k) for k in ("rank", "scale", "dropout", "keys"))
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 < rank <= MAX_RANK:
        report.error("adapter/config-invalid", f"{where}: lora_parameters.rank must be a positive integer", where)
    if not _number(scale):
        report.error("adapter/config-invalid", f"{where}: lora_parameters.scale must be a finite number (mlx-lm "
                     "calls it scale, not alpha)", where)  # fmt: skip
    if not _number(dropout) or not 0 <= dropout < 1:
        report.error("adapter/config-invalid", f"{where}: lora_parameters.dropout must be a number in [0, 1)", where)
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys)):
        report.error("adapter/config-invalid", f"{where}: lora_parameters.keys must be a list of module paths", where)
    if len(report.errors) > before:
        return None
    return {"fine_tune_type": kind, "num_layers": layers, "rank": rank, "scale": scale, "dropout": dropout,
            "keys": keys}  # fmt: skip


def _note_local_paths(doc: dict[str, Any], report: Report) -> None:
    """``mlx_lm.lora`` writes every argument into the config, paths of the trainer's machine included."""
    for key, value in sorted(doc.items()):
        if isinstance(value, str) and (value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", value)):
            report.warning("adapter/local-path", f"{ADAPTER_CONFIG}: {key} is a path of the machine that trained "
                           f"the adapter ({value[:80]}); it is published as written", ADAPTER_CONFIG)  # fmt: skip


def adapter_modules(names: list[str]) -> dict[str, set[str]]:
    """Module path -> the leaves present (``lora_a``, ``lora_b``, ``m``), from tensor names."""
    modules: dict[str, set[str]] = {}
    for name in names:
        module, _, leaf = name.rpartition(".")
        modules.setdefault(module, set()).add(leaf)
    return modules


def check_tensors(tensors: dict[str, tuple[str, tuple[int, ...]]], config: dict[str, Any], report: Report) -> None:
    """Names, leaves, dtypes and ranks of the adapter's tensors (name -> (dtype, shape))."""
    where = ADAPTER_WEIGHTS
    kind, rank = config["fine_tune_type"], config["rank"]
    leaves = LEAVES[kind]
    if not tensors:
        report.error("adapter/empty", f"{where} holds no tensors", where)
        return
    for name, (dtype, _) in sorted(tensors.items()):
        if name.rpartition(".")[2] not in leaves:
            report.error("adapter/unexpected-tensor", f"{name}: not a {kind} parameter (expected names ending in "
                         f"{', '.join('.' + leaf for leaf in leaves)})", where)  # fmt: skip
        elif dtype not in FLOAT_DTYPES:
            report.error("adapter/dtype", f"{name}: dtype {dtype}; adapter weights are floating point", where)
    for module, present in sorted(adapter_modules(list(tensors)).items()):
        if not present <= set(leaves):
            continue
        missing = [leaf for leaf in leaves if leaf not in present]
        if missing:
            report.error("adapter/incomplete-module", f"{module}: {', '.join(missing)} missing (a {kind} module has "
                         f"{', '.join(leaves)})", where)  # fmt: skip
            continue
        a, b = tensors[f"{module}.lora_a"][1], tensors[f"{module}.lora_b"][1]
        problem = _rank_problem(module, a, b, rank, tensors.get(f"{module}.m", (None, None))[1])
        if problem:
            report.error("adapter/rank", f"{module}: {problem}", where)
    layers = sorted({int(m.group(1)) for name in tensors if (m := LAYER.search(name))})
    count = config["num_layers"]
    if count > 0 and len(layers) > count:
        report.error("adapter/layers", f"the tensors adapt {len(layers)} layers ({layers[0]}–{layers[-1]}), "
                     f"{ADAPTER_CONFIG} says num_layers = {count}", where)  # fmt: skip


def _rank_problem(module: str, a: tuple[int, ...], b: tuple[int, ...], rank: int, m: tuple[int, ...] | None) -> str:
    """Why ``lora_a``/``lora_b`` (and ``m``) do not have rank ``rank`` and agreeing shapes, or ``""``."""
    if len(a) == 3 and len(b) == 3:  # mixture of experts: (E, r, in), (E, out, r)
        if a[0] != b[0] or a[1] != rank or b[2] != rank:
            return f"lora_a {list(a)} and lora_b {list(b)} are not (experts, {rank}, in) and (experts, out, {rank})"
        return ""
    if len(a) != 2 or len(b) != 2:
        return f"lora_a {list(a)} and lora_b {list(b)} must be matrices"
    if a[1] != rank or b[0] != rank:
        return f"lora_a {list(a)} and lora_b {list(b)} do not have rank {rank} (lora_parameters.rank)"
    if m is not None:
        rows = a[0] if is_embedding(module) else b[1]
        if len(m) != 1 or m[0] != rows:
            return f"m {list(m)} must be a vector of the layer's {rows} output rows"
    return ""


def inspect_adapter(
    root: Path,
    *,
    expected: dict[str, Any] | None = None,
    quick: bool = False,
    build_manifest: bool = False,
    full_sha256: bool = False,
    progress: bool = True,
    file_sha256: bool = True,
) -> tuple[Report, ModelDir, dict[str, Any] | None]:
    """The adapter's counterpart of ``tinyrel.weights.validate.inspect_weights`` (same arguments):
    findings, the directory as read, and its manifest (``model.adapter`` records the config)."""
    from tinyrel.weights.layout import check_with_reference_loader

    report = Report()
    files, left_out = _listing(root, report)
    note_release_files(left_out, report)
    for rel in files:
        if rel not in ADAPTER_FILES:
            what = "a training checkpoint, not the adapter" if _CHECKPOINT.match(rel) else "not part of an adapter"
            report.error("adapter/extra-file", f"{rel} is {what}: an adapter release is {ADAPTER_CONFIG} and "
                         f"{ADAPTER_WEIGHTS}; move it out of the directory", rel)  # fmt: skip
    model = ModelDir(root, files)
    config = read_adapter_config(root, report)
    header = read_header(root / ADAPTER_WEIGHTS, ADAPTER_WEIGHTS, report)
    if header is not None:
        model.headers[ADAPTER_WEIGHTS] = header
        check_with_reference_loader(model, report)
        if config is not None:
            check_tensors({t.name: (t.dtype, t.shape) for t in header.tensors}, config, report)
    if quick and header is not None:
        report.info("validate/quick", "header-only mode: digests and values were not read")
    want_digests = build_manifest or expected is not None
    jobs = []
    if header is not None and not quick:
        for t in header.tensors:
            path = root / ADAPTER_WEIGHTS
            jobs.append((ADAPTER_WEIGHTS, TensorJob(t.name, path, header.data_start + t.begin, t.nbytes, t.dtype,
                                                    want_digests, True)))
    sha_files = []
    if not quick and (want_digests or full_sha256):
        sha_files = [(rel, root / rel) for rel in files if (build_manifest and file_sha256) or full_sha256
                     or rel not in model.headers]  # fmt: skip
    total = sum(j.nbytes for _, j in jobs) + sum(p.stat().st_size for _, p in sha_files)
    with byte_progress("scanning the adapter", total, enabled=progress) as advance:
        scan = run_scan(jobs, sha_files, advance)
    for (rel, name), result in sorted(scan.tensors.items()):
        if result.nonfinite:
            report.error("values/nonfinite", f"tensor {name!r} contains NaN or Inf", rel)
    entries: dict[str, dict[str, Any]] = {}
    for rel in files:
        entry: dict[str, Any] = {"path": rel, "size": (root / rel).stat().st_size}
        if rel in scan.file_sha256:
            entry["sha256"] = scan.file_sha256[rel]
        if rel in model.headers:
            entry["header_digest"] = blake3_bytes(model.headers[rel].header_bytes)
        entries[rel] = entry
    tensors = {}
    if header is not None:
        for t in header.tensors:
            digest = scan.tensors[(ADAPTER_WEIGHTS, t.name)].digest if not quick else None
            tensors[(ADAPTER_WEIGHTS, t.name)] = mf.tensor_record(t, digest)
    if expected is not None:
        mf.compare(expected, entries, tensors, report, digests_checked=not quick)
    manifest = None
    if build_manifest and report.ok and config is not None and header is not None:
        parameters = sum(t.numel for t in header.tensors)
        manifest = mf.assemble({"adapter": config}, list(entries.values()), list(tensors.values()), parameters,
                               TENSOR_DIGEST)  # fmt: skip
    report.data["summary"] = {"files": len(files), "tensors": len(tensors), "mode": "quick" if quick else "full",
                              "bytes": sum(e["size"] for e in entries.values()), "adapter": config}  # fmt: skip
    return report, model, manifest
