"""The Python API, called directly (the CLI tests call the same functions through Click)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import tinyrel


def test_every_public_name_is_documented_with_a_call():
    for name in tinyrel.__all__:
        obj = getattr(tinyrel, name)
        assert obj.__doc__, name
        if inspect.isfunction(obj):
            assert f"tinyrel.{name}(" in obj.__doc__, name
    assert "import tinyrel" in tinyrel.__doc__


def test_help_shows_the_api_with_examples():
    text = subprocess.run([sys.executable, "-c", "import tinyrel, pydoc; print(pydoc.render_doc(tinyrel))"],
                          capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    for name in ("validate", "write_manifest", "lock_source", "check", "render_card", "sign", "verify", "publish",
                 "diff", "import tinyrel"):  # fmt: skip
        assert name in text, name


def test_importing_tinyrel_stays_light():
    heavy = ("numpy", "huggingface_hub", "jinja2", "model_signing")
    code = f"import sys, tinyrel; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_validate_manifest_lock_and_diff(model_dir, tmp_path):
    model = model_dir("bf16")
    assert tinyrel.validate(model).ok
    manifest = tinyrel.write_manifest(model, tmp_path / "m.json").data["manifest"]
    assert manifest["totals"]["tensors"] > 0 and (tmp_path / "m.json").is_file()
    assert tinyrel.validate(model, manifest=tmp_path / "m.json").ok
    entry, report = tinyrel.lock_source(str(model), "tiny", lock_file=tmp_path / "tinyrel.lock")
    assert report.ok and entry.kind == "local-path" and (tmp_path / "tinyrel.lock").is_file()
    assert tinyrel.diff(tmp_path / "m.json", model).data["identical"] is True
    (model / "config.json").write_text("{")
    with pytest.raises(tinyrel.Refused) as failure:
        tinyrel.write_manifest(model)
    assert failure.value.code == "manifest/not-written" and not failure.value.report.ok


def test_check_render_publish_sign_and_verify(example, keys, tmp_path):
    gate = tinyrel.check(example)
    assert not gate.report.ok and {b["id"]: b["status"] for b in gate.blockers}["weight-distribution"] == "open"
    assert "## Negative transfer" in tinyrel.render_card(example)
    signer = tinyrel.SignerConfig(method="key", private_key=Path(keys.private_key))
    result = tinyrel.publish(example, mode="metadata", out=tmp_path / "dist", signer=signer)
    assert result.report.ok and result.gate.blockers
    trust = tinyrel.VerifierConfig(public_key=Path(keys.public_key))
    assert tinyrel.verify(tmp_path / "dist", trust).data["verified"] is True
    assert tinyrel.sign(tmp_path / "dist", tmp_path / "again.sig", signer).ok
    assert tinyrel.verify(tmp_path / "dist", trust, signature=tmp_path / "again.sig").ok
