from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from tinyrel.cli import cli


def run(*args: str, cwd: str | None = None) -> Result:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def run_json(*args: str, cwd: str | None = None) -> tuple[int, dict[str, Any]]:
    result = run(*args, "--format", "json", cwd=cwd)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


def codes(doc: dict[str, Any], severity: str = "error") -> set[str]:
    return {f["code"] for f in doc["findings"] if f["severity"] == severity}
