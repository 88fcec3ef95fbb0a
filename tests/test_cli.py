"""CLI contract: version, help, README commands in sync with CI, usage errors."""

from __future__ import annotations

import re
from pathlib import Path

from support.helpers import run

REPO = Path(__file__).resolve().parents[1]


def test_every_command_is_documented_and_every_documented_command_exists():
    """The README's CLI reference lists exactly the commands the CLI has, and each one loads."""
    import tinyrel
    from tinyrel.cli.main import COMMANDS

    assert run("--version").output == f"tinyrel, version {tinyrel.__version__}\n"
    readme = (REPO / "README.md").read_text()
    reference = readme.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `tinyrel (\w+)", reference, re.M))
    assert documented == set(COMMANDS)
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.exit_code == 0 and result.output.startswith(f"Usage: cli {name} "), name


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


def test_shell_completion_script_and_completions():
    script = run("completion", "bash").output
    assert "_TINYREL_COMPLETE=bash_complete" in script and "complete -o nosort -F" in script
    import os
    import subprocess
    import sys

    env = dict(os.environ, _TINYREL_COMPLETE="bash_complete", COMP_WORDS="tinyrel ver", COMP_CWORD="1")
    proc = subprocess.run([sys.executable, "-m", "tinyrel"], env=env, capture_output=True, text=True, timeout=60)
    assert "plain,verify" in proc.stdout.splitlines()
    assert run("completion", "tcsh").exit_code == 2


def test_missing_workspace_names_the_fix(tmp_path):
    result = run("check", cwd=str(tmp_path))
    assert result.exit_code == 2
    assert "error[workspace/not-found]" in result.output and "tinyrel init --example" in result.output


def test_publish_destination_options_are_checked_before_any_work(tmp_path):
    for args in (["--out", "dist", "--repo-id", "a/b"], ["--out", "dist", "--dry-run"], ["--private", "--out", "d"]):
        result = run("publish", "--mode", "metadata", *args, cwd=str(tmp_path))
        assert result.exit_code == 2 and "error[usage/destination]" in result.output
