"""Issue 18: an internal error can be diagnosed — ``--debug`` (or ``TINYREL_DEBUG=1``) prints its
traceback, and the ``tinyrel`` logger says what tinyrel does; without it, one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tinyrel.cli import cli


def _broken(monkeypatch) -> None:
    """A bug planted where validation starts, wherever the command has already imported it from."""
    import importlib

    def explode(*args, **kwargs):
        raise RuntimeError("a bug, deliberately")

    for module in ("tinyrel.weights.validate", "tinyrel.cli.commands.validate"):
        target = importlib.import_module(module)
        if hasattr(target, "inspect_weights"):
            monkeypatch.setattr(target, "inspect_weights", explode)


def test_an_internal_error_is_one_line_and_points_at_debug(monkeypatch, model_dir):
    _broken(monkeypatch)
    result = CliRunner().invoke(cli, ["validate", str(model_dir("bf16"))])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error[internal/error]: RuntimeError: a bug, deliberately (run with --debug for the traceback)"
    ]


def test_debug_prints_the_traceback_of_an_internal_error(monkeypatch, model_dir):
    _broken(monkeypatch)
    model = model_dir("bf16")
    for args, env in ((["--debug"], {}), ([], {"TINYREL_DEBUG": "1"})):
        result = CliRunner(env=env).invoke(cli, [*args, "validate", str(model)])
        assert result.exit_code == 1
        assert "Traceback (most recent call last)" in result.output and "in explode" in result.output, result.output
        assert "error[internal/error]" in result.output


def test_debug_logs_what_tinyrel_does_with_the_hub(example, hub, tmp_path):
    result = CliRunner().invoke(cli, ["--debug", "lock", "hf://org/absent", "-o", str(tmp_path / "l.lock")])
    assert "debug[tinyrel.hub.session]: installed tinyrel's client" in result.output, result.output
    assert "debug[tinyrel.hub.session]: restored huggingface_hub's own client" in result.output


@pytest.mark.slow
def test_ctrl_c_while_hashing_ends_within_a_second(tmp_path, keys):
    """lock and sign (like validate and init) hash gigabytes on every core; Ctrl-C must not wait for
    the queued work, nor end in Click's 'Aborted!' with exit 1 — one line, exit 130."""
    import signal
    import subprocess
    import sys
    import time

    model = tmp_path / "big"
    model.mkdir()
    for i in range(4):  # 16 GB of holes: no disk used, seconds of hashing
        with (model / f"part-{i}.bin").open("wb") as handle:
            handle.truncate(4 * 1024**3)
    for command in (["lock", model, "-o", tmp_path / "x.lock", "--name", "x"],
                    ["sign", model, "--private-key", keys.private_key, "--signature", tmp_path / "s.sig"]):
        proc = subprocess.Popen([sys.executable, "-m", "tinyrel", *map(str, command)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(2.0)  # started, and hashing
        assert proc.poll() is None, "finished before the test could interrupt it"
        pressed = time.time()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130 and time.time() - pressed < 1.5, (command[0], time.time() - pressed, err)
        assert "error[interrupted]" in err and "Aborted" not in err and "Traceback" not in err, err
    assert not (tmp_path / "x.lock").exists() and not (tmp_path / "s.sig").exists()
