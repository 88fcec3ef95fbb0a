"""Issue 18: private names of third-party libraries are fenced — one adapter module per library,
each name there with its reason — and every one of them still exists in the installed version, so
an upgrade that renames one fails here instead of turning into a false "does not verify"."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import tinyrel

PACKAGE = Path(tinyrel.__file__).parent
ADAPTERS = {
    "huggingface_hub": "hub/_hf_private.py",
    "hf_xet": "hub/_hf_private.py",
    "model_signing": "signing/_oms.py",
    "sigstore": "signing/_oms.py",
    "mlx_lm": "weights/_mlx_lm.py",
}
LIBRARIES = "|".join(ADAPTERS)
# ``library.module._private`` anywhere, or ``from library[.x] import _private`` / ``import library._x``.
PRIVATE = re.compile(rf"\b(?:{LIBRARIES})(?:\.\w+)*\._[a-z]\w*|from (?:{LIBRARIES})[\w.]* import [^\n#]*\b_[a-z]")


def test_private_names_appear_only_in_their_adapter_module():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("testing/"):  # the test doubles speak the libraries' wire formats, not their internals
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for match in PRIVATE.finditer(code):
                library = re.match(r"(?:from )?(\w+)", match.group(0)).group(1)
                assert rel == ADAPTERS[library], f"{rel}:{number} uses {match.group(0)!r} outside {ADAPTERS[library]}"


def test_every_fenced_private_name_still_exists():
    from tinyrel.hub import _hf_private
    from tinyrel.signing import _oms
    from tinyrel.weights import _mlx_lm

    names = [f"{module}.{name}" for adapter in (_hf_private, _mlx_lm) for module, found in
             adapter.PRIVATE_NAMES.items() for name in found]  # fmt: skip
    names += list(_oms.PRIVATE_NAMES)
    for dotted in names:
        module, _, attr = dotted.rpartition(".")
        try:
            importlib.import_module(dotted)
        except ImportError:
            assert hasattr(importlib.import_module(module), attr), dotted
    holder = importlib.import_module("huggingface_hub.utils._xet")._GLOBAL_XET_HOLDER
    assert hasattr(holder, "_lock") and hasattr(holder, "_session") and hasattr(holder, "_session_pid")
    assert hasattr(importlib.import_module("model_signing._signing.signing").Verifier, "_verify_signed_content")
