from __future__ import annotations

from pathlib import Path

import pytest
from support.fixtures import (
    convert_4bit,
    copy_model,
    hf_cache_from_hub,
    train_adapter,
    write_mlx_lm_saved,
    write_mlx_model,
)
from support.hub import HUB_TOKEN, start_hub

# Tests that run a Hub emulator, a private Sigstore or child processes take seconds each: they are
# ``slow`` (``pytest -m "not slow"`` is the quick loop; the README command and CI run everything).
SLOW_FIXTURES = {"hub", "lfs_hub", "xet_hub", "private_sigstore", "published", "published_lfs", "released"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def mlx_lm_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What mlx-lm really writes: ``saved`` by ``mlx_lm.utils.save`` (README.md stub card, tokenizer,
    chat template, generation config) and ``q4``, its ``mlx_lm.convert -q`` conversion."""
    root = tmp_path_factory.mktemp("mlx-lm")
    import huggingface_hub.constants as hf_constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)  # everything is local: nothing may reach for the network
        saved = write_mlx_lm_saved(root / "saved")
        return {"saved": saved, "q4": convert_4bit(saved, root / "q4")}


@pytest.fixture
def mlx_lm_model(mlx_lm_store: dict[str, Path], tmp_path: Path):
    """A fresh, writable copy of a model written by mlx-lm: ``mlx_lm_model("saved")`` or ``("q4")``."""

    def make(kind: str = "saved", dest: Path | None = None) -> Path:
        return copy_model(mlx_lm_store[kind], dest or tmp_path / f"mlx-{kind}")

    return make


@pytest.fixture(scope="session")
def adapter_store(mlx_lm_store: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Adapters written by mlx-lm's own LoRA code (``mlx_lm.lora.train_model``): ``lora`` and ``dora``
    on ``base`` (mlx-lm's ``saved`` model: config, weights, tokenizer), ``qlora`` on its 4-bit
    conversion, and ``lora-other`` on ``other-base``, a Qwen3 of another intermediate size (an
    adapter made for a different base)."""
    root = tmp_path_factory.mktemp("adapters")
    import huggingface_hub.constants as hf_constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        other = write_mlx_lm_saved(root / "other-base", seed=1, config={"intermediate_size": 96})
        return {
            "base": mlx_lm_store["saved"],
            "lora": train_adapter(mlx_lm_store["saved"], root / "lora"),
            "dora": train_adapter(mlx_lm_store["saved"], root / "dora", fine_tune_type="dora", num_layers=1),
            "other-base": other,
            "lora-other": train_adapter(other, root / "lora-other"),
            "qlora": train_adapter(mlx_lm_store["q4"], root / "qlora", base_id="lab/base-4bit"),  # on mlx-lm's 4-bit
        }


XET_CACHE_REPOS = {"saved": "lab/my-specialist", "q4": "lab/my-specialist-4bit"}


@pytest.fixture(scope="session")
def xet_cache_store(mlx_lm_store: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face cache written by the installed huggingface_hub's ``snapshot_download`` with its
    defaults, over Xet from the emulator: snapshots link through ``models--…/blobs/<etag>`` into the
    cache-wide shared blob store ``<cache>/blobs/<xx>/<xet hash>``."""
    from tinyrel.testing.hub import EmulatorServer

    root = tmp_path_factory.mktemp("xet-cache")
    server = EmulatorServer("127.0.0.1", 0, root / "hub-data", HUB_TOKEN, xet=True)
    server.start_in_thread()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            for kind, repo_id in XET_CACHE_REPOS.items():
                hf_cache_from_hub(mlx_lm_store[kind], repo_id, server.base_url, HUB_TOKEN, root / "hub")
    finally:
        server.shutdown()
        server.server_close()
    return root / "hub"


@pytest.fixture
def xet_cache(xet_cache_store: Path, tmp_path: Path) -> Path:
    """A copy of ``xet_cache_store`` as this test's HF cache (``HF_HOME/hub``); ``hf-cache://lab/my-specialist``
    and ``hf-cache://lab/my-specialist-4bit`` resolve into it."""
    import shutil

    dest = tmp_path / "hf-home" / "hub"
    shutil.copytree(xet_cache_store, dest, symlinks=True)
    return dest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="session")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One example workspace per session without its 4-bit variant (the example as it was before
    issue 20, which the tests of a single release were written for); tests get copies."""
    from tinyrel.hub.session import HubSession
    from tinyrel.scaffold.init import init_example

    dest = tmp_path_factory.mktemp("example") / "ws"
    with HubSession():
        assert init_example(dest, variants=False).ok
    return dest


@pytest.fixture
def example(example_store: Path, tmp_path: Path) -> Path:
    import shutil

    dest = tmp_path / "ws"
    shutil.copytree(example_store, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def example_tree_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``tinyrel init --example`` workspace per session, as the command writes it: the release and
    its 4-bit variant (``[[variants]]``); tests get copies through ``example_tree``."""
    from support.helpers import run

    dest = tmp_path_factory.mktemp("example-tree") / "ws"
    assert run("init", "--example", dest).exit_code == 0
    return dest


@pytest.fixture
def example_tree(example_tree_store: Path, tmp_path: Path) -> Path:
    import shutil

    dest = tmp_path / "ws-tree"
    shutil.copytree(example_tree_store, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory):
    """Real EC P-256 keys and a CA-issued code-signing certificate (see support/signing_keys.py)."""
    from support.signing_keys import write_key_material

    return write_key_material(tmp_path_factory.mktemp("keys"))


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str):
    server = start_hub(tmp_path, monkeypatch, xet=mode == "xet")
    server.mode = mode
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["xet", "lfs"])
def hub(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The emulator, once per transfer protocol: every test using it runs over Xet and over LFS."""
    yield from _serve(tmp_path, monkeypatch, request.param)


@pytest.fixture
def lfs_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The emulator over LFS only: for tests of LFS-level faults (failed, dropped or slow uploads)."""
    yield from _serve(tmp_path, monkeypatch, "lfs")


@pytest.fixture
def xet_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The emulator over Xet only: for tests of Xet-level faults (a slow CAS token)."""
    yield from _serve(tmp_path, monkeypatch, "xet")


@pytest.fixture
def private_sigstore(tmp_path, monkeypatch):
    """Fulcio, Rekor and OIDC discovery served locally, a client trust config, and an identity token."""
    from tinyrel.testing.sigstore import PrivateSigstore

    sigstore = PrivateSigstore()
    sigstore.serve()
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore.identity_token("ci@example.com", "https://oidc.example"))
    return sigstore, sigstore.client_trust_config(tmp_path / "client.json")
