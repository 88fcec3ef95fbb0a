"""The only code that touches mlx-lm's private names, each with its reason.

mlx-lm maps a ``config.json`` to its model class with ``mlx_lm.utils._get_classes`` — the function
its own ``load`` uses.  The ``--mlx-lm`` check builds that very class (lazily: no weight is
allocated) to compare its parameter table with the release's tensors; re-implementing the mapping
(model_type → module, with mlx-lm's remappings) would drift from what ``mlx_lm.load`` accepts.
``tests/test_private_names.py`` imports every name here, so an mlx-lm upgrade that renames one
fails the suite, not a user.
"""

from __future__ import annotations

from typing import Any

PRIVATE_NAMES = {"mlx_lm.utils": ("_get_classes",)}


def model_classes(config: dict) -> tuple[Any, Any]:
    """mlx-lm's (Model, ModelArgs) classes for ``config``, as ``mlx_lm.load`` chooses them."""
    from mlx_lm.utils import _get_classes

    return _get_classes(config)
