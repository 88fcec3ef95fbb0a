"""Issue 18: dependencies that are true in both directions.

Every third-party module the package imports comes from a distribution it declares — in
``dependencies`` for the runtime, in the extra that names the feature for optional code
(``inspect``, ``mlx-lm``, ``testing``) — and every declared distribution is imported.  The map from
module to distribution is the installed distributions' own metadata, not a hand-kept table.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "tinyrel"
PROJECT = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
# Optional code: the module that only an extra installs, and that extra.
OPTIONAL = {"inspect_ai": "inspect", "ijson": "inspect", "zstandard": "inspect", "mlx_lm": "mlx-lm"}
TOOLS = {"pytest", "ruff", "tinyrel"}  # the dev extra's own tools and its self-reference


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0])


def imports(paths: list[Path]) -> set[str]:
    """Top-level third-party modules imported anywhere in ``paths`` (functions included)."""
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "tinyrel"}


@functools.cache
def _installed() -> dict[str, list[str]]:
    return metadata.packages_distributions()  # seconds: every installed distribution's file list


def distributions(module: str) -> set[str]:
    return {canonical(d) for d in _installed().get(module, [])}


def declared(extra: str | None = None) -> set[str]:
    listed = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return {requirement_name(r) for r in listed}


RUNTIME = [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]
TESTING = list((PACKAGE / "testing").rglob("*.py"))


def test_every_imported_module_is_declared():
    runtime = declared()
    for module in sorted(imports(RUNTIME)):
        allowed = runtime | (declared(OPTIONAL[module]) if module in OPTIONAL else set())
        assert distributions(module) & allowed, f"{module} ({distributions(module)}) is imported but not declared"
    for module in sorted(imports(TESTING)):
        assert distributions(module) & (runtime | declared("testing")), f"tinyrel.testing imports {module}"


def test_every_declared_distribution_is_imported():
    modules = imports(RUNTIME) | imports(TESTING)
    provided = set().union(*(distributions(m) for m in modules))
    extras = {canonical(r) for name, rs in PROJECT["optional-dependencies"].items() for r in map(requirement_name, rs)}
    for name in sorted((declared() | extras) - {canonical(t) for t in TOOLS}):
        assert name in provided, f"{name} is declared but nothing imports it"


def test_optional_modules_are_imported_only_behind_their_extra():
    """An optional module is imported inside a function, never at module level, so a user without
    the extra gets tinyrel's own error naming it (tests/test_wheel_install.py runs that install)."""
    for path in RUNTIME:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in OPTIONAL for n in names), f"{path.name} imports {names} at top level"
