"""What every front-door function shares: its own ``HubSession`` per call, and the argument checks
used by more than one of them."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tinyrel.findings import TinyrelError

PathLike = str | os.PathLike[str]
F = TypeVar("F", bound=Callable[..., Any])


def one_call(function: F) -> F:
    """Run an API function in its own ``HubSession``: whatever it changes in huggingface_hub to
    reach the Hub is put back when it returns (or raises)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        from tinyrel.hub.session import HubSession

        with HubSession():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]


def directory(path: PathLike, what: str = "the model directory") -> Path:
    found = Path(path).expanduser()
    if not found.is_dir():
        raise TinyrelError("usage/not-a-directory", f"{what} does not exist or is not a directory", usage=True,
                           path=str(path))  # fmt: skip
    return found


def workspace_at(workspace: PathLike):
    from tinyrel.workspace.layout import find_workspace

    return find_workspace(Path(workspace).expanduser())
