"""CLI contract: version, help, README commands in sync with CI, usage errors."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run

REPO = Path(__file__).resolve().parents[1]


def test_version_and_help():
    assert run("--version").output.startswith("tinyrel, version")
    help_text = run("--help").output
    for command in ("check", "card", "init", "lock", "manifest", "publish", "validate"):
        assert command in help_text


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick)
    assert len(commands) == 2
    assert commands[1] in (REPO / ".ci" / "run").read_text()


def test_unknown_option_is_usage_error():
    result = run("validate", "--frobnicate", ".")
    assert result.exit_code == 2


def test_publish_weights_needs_a_workspace_and_a_repo_id(tmp_path):
    result = run("publish", "--mode", "weights", cwd=str(tmp_path))
    assert result.exit_code == 2 and "error[workspace/not-found]" in result.output
