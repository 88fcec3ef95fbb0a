"""Real MLX model directories written by mlx-lm's own save_model / quantize_model."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

from tinyrel.scaffold.standin import TINY_CONFIG

# The example's stand-in config, with a smaller vocabulary to keep fixtures tiny.
TINY_QWEN3 = {**TINY_CONFIG, "vocab_size": 256, "max_position_embeddings": 512}


def write_mlx_model(
    out: Path, *, bits: int | None = None, shards: int = 1, seed: int = 0, config: dict | None = None
) -> Path:
    """Save a tiny Qwen3 with mlx-lm (bf16, or quantized to ``bits``), split into ``shards`` files."""
    import mlx.core as mx
    import mlx_lm.utils as mlu
    from mlx_lm.models import qwen3

    conf = dict(config or TINY_QWEN3)
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(conf))
    model.set_dtype(mx.bfloat16)
    mx.eval(model.parameters())
    if bits is not None:
        model, conf = mlu.quantize_model(model, conf, 32, bits)
    original = mlu.make_shards
    if shards > 1:
        # mlx-lm splits at 5 GB; split a tiny model into ``shards`` parts the same way.
        def split(weights: dict, max_file_size_gb: int = 5) -> list:
            names = list(weights)
            size = -(-len(names) // shards)
            return [{k: weights[k] for k in names[i : i + size]} for i in range(0, len(names), size)]

        mlu.make_shards = split
    try:
        mlu.save_model(out, model)
    finally:
        mlu.make_shards = original
    mlu.save_config(conf, out / "config.json")
    return out


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def write_safetensors(path: Path, header: dict | bytes, data: bytes = b"", *, length: int | None = None) -> Path:
    """Write a (possibly malformed) safetensors file from a header dict or raw header bytes."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path
