"""Write a Qwen3-4B-shaped MLX bf16 model directory for benchmarks (about 8 GB of finite values).

The tensor table comes from mlx-lm's own Qwen3 model class (398 tensors, 8,044,936,192 data bytes)
and is split into shards with mlx-lm's ``make_shards`` at 5 GB, exactly as ``save_model`` would.
Values are pseudo-random finite bf16 written in streamed blocks, so generation needs little memory.

    python bench/make_qwen3_4b.py OUT_DIR [--layers N] [--unique]

``--layers 8`` gives a 2.4 GB model of the same shape family (the pull benchmark's); ``--unique``
writes every 8 MB block of its own pseudo-random data, so Xet cannot deduplicate the weights (the
default reuses four blocks, which Xet stores once).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np

CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 2560,
    "num_hidden_layers": 36,
    "intermediate_size": 9728,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000,
    "max_position_embeddings": 40960,
    "torch_dtype": "bfloat16",
}
BLOCK = 8 * 1024 * 1024


class _Sized:
    """Stand-in with ``nbytes`` so mlx-lm's make_shards can plan the split without arrays."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.nbytes = math.prod(shape) * 2


def tensor_table(config: dict) -> dict[str, _Sized]:
    from mlx.utils import tree_flatten
    from mlx_lm.models import qwen3

    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))  # lazy: nothing is allocated
    return {name: _Sized(tuple(v.shape)) for name, v in tree_flatten(model.parameters())}


def finite_block(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 16, size=BLOCK // 2, dtype=np.uint16)
    bits &= np.uint16(0xBFFF)  # clear the top exponent bit: never NaN/Inf, magnitudes < 2
    return bits.tobytes()


def write_shard(path: Path, tensors: dict[str, _Sized], pool: list[bytes], unique: bool = False) -> int:
    header: dict[str, object] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, t in tensors.items():
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        written = 0
        for i, t in enumerate(tensors.values()):
            left = t.nbytes
            while left:
                seed = zlib.crc32(f"{path.name}:{written}".encode())
                block = finite_block(seed) if unique else pool[(i + left) % len(pool)]
                chunk = block[: min(left, BLOCK)]
                out.write(chunk)
                left -= len(chunk)
                written += len(chunk)
    return offset


def main(out_dir: str, layers: int | None = None, unique: bool = False) -> None:
    from mlx_lm.utils import make_shards

    config = {**CONFIG, **({"num_hidden_layers": layers} if layers else {})}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = tensor_table(config)
    shards = make_shards(table)
    pool = [finite_block(seed) for seed in range(4)]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" if len(shards) > 1 else "model.safetensors"
        total += write_shard(out / name, shard, pool, unique)
        weight_map.update({k: name for k in shard})
        print(f"wrote {name}: {len(shard)} tensors", flush=True)
    params = sum(math.prod(t.shape) for t in table.values())
    index = {
        "metadata": {"total_size": total, "total_parameters": params},
        "weight_map": dict(sorted(weight_map.items())),
    }
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=4))
    (out / "config.json").write_text(json.dumps(config, indent=4, sort_keys=True))
    print(f"{len(table)} tensors, {total:,} data bytes, {params:,} parameters in {out}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="bench/out/qwen3-4b")
    parser.add_argument("--layers", type=int, help="decoder layers (the 4B has 36; 8 gives 2.4 GB)")
    parser.add_argument("--unique", action="store_true", help="no repeated blocks (Xet cannot deduplicate)")
    args = parser.parse_args()
    main(args.out, args.layers, args.unique)
