from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixtures import copy_model, write_mlx_model  # noqa: E402


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "bf16": write_mlx_model(root / "bf16"),
        "bf16-sharded": write_mlx_model(root / "bf16-sharded", shards=2),
        "q4": write_mlx_model(root / "q4", bits=4),
        "q4-sharded": write_mlx_model(root / "q4-sharded", bits=4, shards=3),
    }


@pytest.fixture
def model_dir(model_store: dict[str, Path], tmp_path: Path):
    """A fresh, writable copy of one stored model: ``model_dir("q4")``."""

    def make(kind: str = "bf16") -> Path:
        return copy_model(model_store[kind], tmp_path / kind)

    return make


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
