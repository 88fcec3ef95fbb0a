"""Issue 18: an internal error can be diagnosed — ``--debug`` (or ``TINYREL_DEBUG=1``) prints its
traceback, and the ``tinyrel`` logger says what tinyrel does; without it, one line."""

from __future__ import annotations

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
