"""What the variant check costs on the 8 GB model: the manifest comparison and the deep check (every
quantized tensor of a 4-bit variant re-quantized from the parent with mlx and compared).

    python bench/make_qwen3_4b.py bench/out/qwen3-4b     # the 8 GB bf16 parent
    python bench/bench_variant_check.py                   # writes bench/out/qwen3-4b-4bit, then measures

The 4-bit variant is written tensor by tensor with ``mlx.core.quantize`` (affine, group size 64, as
``mlx_lm.convert -q``).  Each measurement runs in a fresh process (peak RSS is that process's),
after a warm-up read, so the page cache is warm for both directories.  ``--slow-path`` also times
the path a variant converted elsewhere takes (every block compared code by code, not bit-identical).
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

OUT = Path("bench/out")


def _tensors(path: Path) -> tuple[dict, int]:
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size


def write_variant(parent: Path, out: Path, bits: int = 4, group: int = 64) -> None:
    """The 4-bit conversion, one tensor in memory at a time (the quantized result is kept: ~2.3 GB)."""
    import mlx.core as mx
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    index = json.loads((parent / "model.safetensors.index.json").read_text())
    shards: dict[str, dict] = {}
    for name, shard in index["weight_map"].items():
        shards.setdefault(shard, {})[name] = None
    weight_map = {}
    for shard, names in shards.items():
        header, start = _tensors(parent / shard)
        result = {}
        with (parent / shard).open("rb") as handle:
            for name in names:
                entry = header[name]
                begin, end = entry["data_offsets"]
                handle.seek(start + begin)
                value = mx.array(np.frombuffer(handle.read(end - begin), dtype=np.uint16).reshape(entry["shape"]))
                value = value.view(mx.bfloat16)
                if value.ndim == 2 and name.endswith(".weight") and value.shape[-1] % group == 0:
                    prefix = name[: -len(".weight")]
                    q, s, b = mx.quantize(value, group, bits)
                    mx.eval(q, s, b)
                    result |= {name: q, f"{prefix}.scales": s, f"{prefix}.biases": b}
                else:
                    result[name] = value
        mx.save_safetensors(str(out / shard), result, metadata={"format": "mlx"})
        weight_map |= {k: shard for k in result}
        print(f"wrote {shard}: {len(result)} tensors", flush=True)
    (out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    config = json.loads((parent / "config.json").read_text())
    quantization = {"group_size": group, "bits": bits, "mode": "affine"}
    (out / "config.json").write_text(json.dumps(config | {"quantization": quantization,
                                                          "quantization_config": quantization}))  # fmt: skip


def measure(parent: Path, variant: Path, slow: bool) -> dict:
    """In this (fresh) process: manifests, the comparison, the deep check; times and peak RSS."""
    from tinyrel.weights.validate import inspect_weights
    from tinyrel.weights.variant_check import compare
    from tinyrel.weights.variant_deep import deep_check

    manifests = {}
    for side, root in (("parent", parent), ("variant", variant)):
        cached = OUT / f"bench-variant-{side}.json"
        if not cached.is_file():
            cached.write_text(json.dumps(inspect_weights(root, build_manifest=True, progress=False).manifest))
        manifests[side] = json.loads(cached.read_text())
    config = json.loads((variant / "config.json").read_text())
    if slow:  # as for a variant converted on another device: no block is bit-identical, all are compared code by code
        import mlx.core as mx

        mx.array_equal = lambda a, b, **_: mx.array(False)
    started = time.monotonic()
    comparison = compare(manifests["parent"], manifests["variant"], config, "4bit")
    compared = time.monotonic() - started
    deep = deep_check(parent, variant, comparison, "4bit")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"compare_s": round(compared, 3), "deep_s": round(deep.seconds, 1), "bytes_read": deep.bytes_read,
            "modules": len(comparison.converted), "identical": len(deep.identical), "at_ties": len(deep.at_ties),
            "findings": [f.message for f in comparison.findings + deep.findings][:3], "peak_rss_mb": round(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", type=Path, default=OUT / "qwen3-4b")
    parser.add_argument("--variant", type=Path, default=OUT / "qwen3-4b-4bit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slow-path", action="store_true")
    parser.add_argument("--child", choices=["fast", "slow"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.parent, args.variant, args.child == "slow")))
        return
    if not args.parent.is_dir():
        sys.exit(f"no parent at {args.parent}: run python bench/make_qwen3_4b.py {args.parent}")
    if not args.variant.is_dir():
        write_variant(args.parent, args.variant)
    for root in (args.parent, args.variant):  # warm the page cache
        for path in root.glob("*.safetensors"):
            with path.open("rb") as handle:
                while handle.read(1 << 24):
                    pass
    for kind in ("fast", "slow") if args.slow_path else ("fast",):
        runs = []
        for _ in range(args.rounds):
            child = subprocess.run([sys.executable, __file__, "--parent", str(args.parent), "--variant",
                                    str(args.variant), "--child", kind], capture_output=True, text=True, check=True)
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["deep_s"])
        print(kind, json.dumps(runs[len(runs) // 2]))


if __name__ == "__main__":
    main()
