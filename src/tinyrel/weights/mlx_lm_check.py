"""Optional: the tensor table must equal the parameter table of mlx-lm's model class.

This is the strongest structural check available — it is exactly what ``mlx_lm.load`` would
demand — and costs nothing in data reads: mlx arrays are lazy, so building the model allocates no
weights.  mlx-lm is an optional dependency (``tinyrel[mlx-lm]``); asked for without it, the check is a usage error
naming the extra, never a silent skip.
"""

from __future__ import annotations

from tinyrel.findings import Report, TinyrelError
from tinyrel.weights import config as cfg
from tinyrel.weights.layout import all_tensors
from tinyrel.weights.model_dir import ModelDir


def expected_parameters(config: dict, tensor_names: set[str]) -> dict[str, tuple[int, ...]]:
    """Names and shapes mlx-lm expects for ``config`` (quantized the way its loader would)."""
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    from tinyrel.weights._mlx_lm import model_classes

    model_class, args_class = model_classes(config)
    model = model_class(args_class.from_dict(config))
    quant = cfg.quantization(config)
    if quant is not None:

        def predicate(path: str, module: nn.Module) -> bool | dict:
            if path in quant:
                return quant[path]
            return hasattr(module, "to_quantized") and f"{path}.scales" in tensor_names

        nn.quantize(
            model,
            group_size=quant.get("group_size", 64),
            bits=quant["bits"],
            mode=quant.get("mode", "affine"),
            class_predicate=predicate,
        )
    return {name: tuple(value.shape) for name, value in tree_flatten(model.parameters())}


def check_against_mlx_lm(model: ModelDir, report: Report) -> None:
    if model.config is None:
        return
    try:
        import mlx_lm  # noqa: F401
    except ImportError:
        raise TinyrelError("usage/extra-missing", "the mlx-lm check needs mlx-lm: pip install 'tinyrel[mlx-lm]'",
                           usage=True) from None  # fmt: skip
    tensors = {t.name: t.shape for t in all_tensors(model)}
    try:
        expected = expected_parameters(dict(model.config), set(tensors))
    except Exception as exc:  # noqa: BLE001 - any failure of mlx-lm to build the model is a finding
        report.error(
            "mlx-lm/unsupported", f"mlx-lm cannot build this config: {type(exc).__name__}: {exc}", "config.json"
        )
        return
    for name in sorted(expected.keys() - tensors.keys()):
        report.error("mlx-lm/missing-parameter", f"mlx-lm expects {name!r}, which no shard holds")
    for name in sorted(tensors.keys() - expected.keys()):
        report.error("mlx-lm/unexpected-tensor", f"{name!r} is not a parameter of mlx-lm's model class")
    for name in sorted(expected.keys() & tensors.keys()):
        if expected[name] != tensors[name]:
            report.error(
                "mlx-lm/shape", f"{name!r} has shape {list(tensors[name])}, mlx-lm expects {list(expected[name])}"
            )
