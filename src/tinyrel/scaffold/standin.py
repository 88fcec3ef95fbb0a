"""Stand-in weights for the example: a tiny Qwen3-architecture model written with mlx.

The parameter table mirrors mlx-lm's Qwen3 model (the test suite checks this with
``validate --mlx-lm``) but is built here with mlx alone, because mlx-lm is only a dev extra.
Values come from a fixed seed, so the manifest and lock of a fresh example are reproducible.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tinyrel.hub.client import git_blob_sha1

TINY_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "rms_norm_eps": 1e-06,
    "vocab_size": 512,
    "max_position_embeddings": 2048,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}


def qwen3_shapes(c: dict) -> dict[str, tuple[int, ...]]:
    h, hd, inter = c["hidden_size"], c["head_dim"], c["intermediate_size"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (c["vocab_size"], h), "model.norm.weight": (h,)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes |= {
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
            p + "self_attn.q_proj.weight": (q, h),
            p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h),
            p + "self_attn.o_proj.weight": (h, q),
            p + "self_attn.q_norm.weight": (hd,),
            p + "self_attn.k_norm.weight": (hd,),
            p + "mlp.gate_proj.weight": (inter, h),
            p + "mlp.up_proj.weight": (inter, h),
            p + "mlp.down_proj.weight": (h, inter),
        }
    if not c.get("tie_word_embeddings"):
        shapes["lm_head.weight"] = (c["vocab_size"], h)
    return shapes


def write_standin(out: Path, seed: int = 0) -> Path:
    """Write config.json, model.safetensors and its index into ``out`` (the mlx-lm layout)."""
    import mlx.core as mx

    out.mkdir(parents=True, exist_ok=True)
    # An explicit key rather than mx.random.seed: a library must not reseed its host's global
    # generator.  Splitting the key before each draw is exactly what mlx's global generator does
    # after seed(seed), so the values (and the example's digests) are those seed(seed) gave.
    key = mx.random.key(seed)
    weights = {}
    for name, shape in sorted(qwen3_shapes(TINY_CONFIG).items()):
        if len(shape) == 1:
            weights[name] = mx.ones(shape, dtype=mx.bfloat16)
        else:
            key, draw = mx.random.split(key)
            weights[name] = (mx.random.normal(shape, key=draw) * 0.02).astype(mx.bfloat16)
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    index = {
        "metadata": {"total_size": sum(v.nbytes for v in weights.values())},
        "weight_map": {k: "model.safetensors" for k in sorted(weights)},
    }
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=4))
    (out / "config.json").write_text(json.dumps(TINY_CONFIG, indent=4, sort_keys=True))
    return out


def write_standin_variant(parent: Path, out: Path, bits: int = 4, group_size: int = 64) -> Path:
    """A quantized conversion of the stand-in, as ``mlx_lm.convert -q`` makes one: every linear and
    embedding weight quantized with mlx's own ``quantize`` (affine), the norms kept as they are, and
    ``quantization`` (and mlx-lm's ``quantization_config`` copy) in config.json."""
    import mlx.core as mx

    out.mkdir(parents=True, exist_ok=True)
    weights = {}
    for name, value in sorted(mx.load(str(parent / "model.safetensors")).items()):
        if value.ndim == 2 and name.endswith(".weight") and value.shape[-1] % group_size == 0:
            prefix = name[: -len(".weight")]
            weights[name], weights[f"{prefix}.scales"], weights[f"{prefix}.biases"] = mx.quantize(
                value, group_size, bits
            )
        else:
            weights[name] = value
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    index = {
        "metadata": {"total_size": sum(v.nbytes for v in weights.values())},
        "weight_map": {k: "model.safetensors" for k in sorted(weights)},
    }
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=4))
    config = json.loads((parent / "config.json").read_text())
    quantization = {"group_size": group_size, "bits": bits, "mode": "affine"}
    config |= {"quantization": quantization, "quantization_config": dict(quantization)}
    (out / "config.json").write_text(json.dumps(config, indent=4, sort_keys=True))
    return out


def place_in_cache(model: Path, cache_root: Path, repo_id: str) -> Path:
    """Move ``model``'s files into a Hugging Face cache layout; return the snapshot directory.

    Blobs are named as huggingface_hub names them (SHA-256 for weights, git SHA-1 for small
    files) and the snapshot holds relative symlinks, so ``tinyrel lock`` can verify them.
    """
    repo_dir = cache_root / ("models--" + repo_id.replace("/", "--"))
    files = sorted(p for p in model.iterdir() if p.is_file())
    revision = hashlib.sha1(b"".join(hashlib.sha256(p.read_bytes()).digest() for p in files)).hexdigest()
    snapshot = repo_dir / "snapshots" / revision
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    for path in files:
        data = path.read_bytes()
        # The HF cache names LFS blobs by SHA-256 and the others by their git blob id.
        blob = hashlib.sha256(data).hexdigest() if path.suffix == ".safetensors" else git_blob_sha1(data)
        (repo_dir / "blobs" / blob).write_bytes(data)
        link = snapshot / path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(Path("..") / ".." / "blobs" / blob, link)
        path.unlink()
    model.rmdir()
    return snapshot
