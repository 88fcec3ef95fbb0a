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


# What mlx-lm itself writes for a fine-tune: ``mlx_lm.utils.save`` (weights, index, config, the
# tokenizer with its chat template, generation_config.json copied from the source, and the stub
# README.md model card), and ``mlx_lm.convert -q`` of that folder.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_CORPUS = [
    "List the files in /tmp", "Move report.txt into archive/", "Delete the empty folders under ~/Downloads",
    "Rename every .jpeg file to .jpg", "Show the five largest files here", "Copy notes.md into backup/",
]  # fmt: skip


def train_tokenizer(vocab_size: int = 320):
    """A byte-level BPE trained in-process (no network) and wrapped as transformers wraps Qwen's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )


def write_mlx_lm_saved(out: Path, *, seed: int = 0, config: dict | None = None) -> Path:
    """A tiny Qwen3 fine-tune as ``mlx_lm.utils.save`` writes it, from a local source folder
    (``config``: other architecture values than ``TINY_QWEN3``'s)."""
    import mlx.core as mx
    import mlx_lm.utils as mlu
    from mlx_lm.models import qwen3
    from mlx_lm.tokenizer_utils import TokenizerWrapper

    tokenizer = train_tokenizer()
    conf = {**TINY_QWEN3, **(config or {}), "vocab_size": len(tokenizer)}
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(conf))
    model.set_dtype(mx.bfloat16)
    mx.eval(model.parameters())
    source = out.parent / f".{out.name}-source"  # what mlx_lm.save copies generation_config.json from
    source.mkdir(parents=True)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    (source / "generation_config.json").write_text(json.dumps({"eos_token_id": eos}))
    mlu.save(out, source, model, TokenizerWrapper(tokenizer), conf)
    shutil.rmtree(source)
    return out


def convert_4bit(src: Path, out: Path) -> Path:
    """``mlx_lm.convert --hf-path SRC --mlx-path OUT -q`` (4 bits, mlx-lm's default group size)."""
    import contextlib
    import io

    from mlx_lm.convert import convert

    with contextlib.redirect_stdout(io.StringIO()):  # its "[INFO] Quantizing" lines
        convert(str(src), str(out), quantize=True, q_bits=4)
    return out


def hf_cache_from_hub(model: Path, repo_id: str, endpoint: str, token: str, cache: Path) -> Path:
    """Upload ``model`` to a Hub (the emulator) and download it back with huggingface_hub's own
    ``snapshot_download`` and its defaults (over Xet: the cache-wide shared blob store of
    huggingface_hub >= 2.4); returns the snapshot directory inside ``cache``."""
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(folder_path=str(model), repo_id=repo_id)
    return Path(snapshot_download(repo_id, cache_dir=cache, endpoint=endpoint, token=token))


def train_adapter(base: Path, out: Path, *, fine_tune_type: str = "lora", num_layers: int = 2, rank: int = 4,
                  base_id: str = "lab/base") -> Path:  # fmt: skip
    """An adapter as ``mlx_lm.lora`` writes one: its own ``train_model`` (``linear_to_lora_layers``, one
    training step, ``adapters.safetensors`` of the trainable parameters and ``adapter_config.json``
    of its arguments), on ``base`` loaded with ``mlx_lm.load``.  ``adapter_path`` is relative, as
    on the command line (run from ``out``'s parent)."""
    import contextlib
    import io
    import os
    import types

    import mlx_lm
    from mlx_lm import lora
    from mlx_lm.tuner.datasets import TextDataset

    model, tokenizer = mlx_lm.load(str(base))
    args = {**lora.CONFIG_DEFAULTS, "model": base_id, "train": True, "fine_tune_type": fine_tune_type,
            "num_layers": num_layers, "iters": 1, "batch_size": 1, "val_batches": 1, "steps_per_report": 1,
            "steps_per_eval": 1000, "save_every": 1000, "adapter_path": out.name, "max_seq_length": 64,
            "lora_parameters": {"rank": rank, "dropout": 0.0, "scale": 20.0}}  # fmt: skip
    data = [{"text": line} for line in _CORPUS]
    here = os.getcwd()
    out.parent.mkdir(parents=True, exist_ok=True)
    os.chdir(out.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            lora.train_model(types.SimpleNamespace(**args), model, TextDataset(data, tokenizer),
                             TextDataset(data, tokenizer))  # fmt: skip
    finally:
        os.chdir(here)
    return out


def convert_variant(src: Path, out: Path, **options) -> Path:
    """``mlx_lm.convert`` of SRC into OUT with ``quantize=True`` and ``options`` (``q_bits``,
    ``q_group_size``, ``quant_predicate`` — a mixed recipe such as ``"mixed_3_6"``)."""
    import contextlib
    import io

    from mlx_lm.convert import convert

    with contextlib.redirect_stdout(io.StringIO()):
        convert(str(src), str(out), quantize=True, **options)
    return out
