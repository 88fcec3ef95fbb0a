"""The project's own Hub emulator for tests, with the real huggingface_hub client pointed at it."""

from __future__ import annotations

from pathlib import Path

import pytest

HUB_TOKEN = "hf_emulatorSecretToken0123456789"


def start_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xet: bool):
    """The local Hub emulator on a free port, with the real client pointed at it: through Xet (the
    default of every real install, hf_xet writing into the emulator's local CAS) or over LFS."""
    import huggingface_hub.constants as hf_constants

    from tinyrel.testing.hub import EmulatorServer

    server = EmulatorServer("127.0.0.1", 0, tmp_path / "hub-data", HUB_TOKEN, xet=xet)
    server.start_in_thread()
    monkeypatch.setenv("HF_ENDPOINT", server.base_url)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("HF_TOKEN", HUB_TOKEN)
    if xet:
        monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    # huggingface_hub reads these once at import; the test process imported it long ago.
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", not xet)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    return server


def hub_api(hub, token: str = HUB_TOKEN):
    """huggingface_hub's ``HfApi`` on the emulator (as a test's own client, outside tinyrel)."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.base_url, token=token)
