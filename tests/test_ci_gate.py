"""The reusable GitHub Action and the pre-commit hook, run locally the way their hosts run them.

The action's steps run in order through bash (``-eo pipefail``, like a runner), with GitHub's
expression syntax, step outputs, ``$GITHUB_OUTPUT`` and ``$GITHUB_STEP_SUMMARY`` emulated; the
install step really installs this repository into a scratch virtualenv.  ``uses:`` steps
(setup-python, upload-artifact) are the hosts' own: the venv stands in for the first, and the
test checks the file the second would upload.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from support.helpers import run

pytestmark = pytest.mark.slow  # child processes, real servers or real bombs: seconds each

REPO = Path(__file__).resolve().parents[1]
EXPR = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


@dataclass
class ActionRun:
    exit_code: int
    stdout: str
    summary: str
    values: dict[str, str]
    uploads: list[Path] = field(default_factory=list)


@pytest.fixture(scope="session")
def action_python(tmp_path_factory) -> Path:
    """A virtualenv that sees this environment's dependencies (via a .pth) but not tinyrel's install."""
    venv = tmp_path_factory.mktemp("action") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "parent-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def run_action(workspace: Path, inputs: dict[str, str], bin_dir: Path, tmp: Path) -> ActionRun:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    values = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    values |= {f"inputs.{k}": v for k, v in inputs.items()}
    values |= {"github.action_path": str(REPO), "runner.temp": str(tmp / "runner-temp")}
    (tmp / "runner-temp").mkdir(parents=True, exist_ok=True)
    summary = tmp / "step-summary.md"
    base_env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RUNNER_TEMP=str(tmp / "runner-temp"))
    base_env["GITHUB_STEP_SUMMARY"] = str(summary)
    base_env.pop("VIRTUAL_ENV", None)

    def sub(text: str) -> str:
        return EXPR.sub(lambda m: values[m.group(1)], str(text))

    stdout, uploads = [], []
    for number, step in enumerate(action["runs"]["steps"]):
        assert step.get("if", "always()") == "always()", "the harness only knows always()"
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                uploads.append(Path(sub(step["with"]["path"])))
            continue
        output = tmp / f"github-output-{number}"
        output.write_text("")
        env = base_env | {k: sub(v) for k, v in step.get("env", {}).items()} | {"GITHUB_OUTPUT": str(output)}
        cwd = workspace / sub(step.get("working-directory", "."))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", sub(step["run"])],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        stdout.append(proc.stdout)
        for line in output.read_text().splitlines():
            key, _, value = line.partition("=")
            values[f"steps.{step.get('id')}.outputs.{key}"] = value
        if proc.returncode != 0:
            text = summary.read_text() if summary.exists() else ""
            return ActionRun(proc.returncode, "".join(stdout) + proc.stderr, text, values, uploads)
    return ActionRun(0, "".join(stdout), summary.read_text() if summary.exists() else "", values, uploads)


def test_action_fails_the_job_with_annotations_and_a_summary_naming_the_blocker(example, action_python, tmp_path):
    result = run_action(example, {"release": "qwen3-4b-fileops"}, action_python, tmp_path)
    assert result.exit_code != 0
    assert result.values["steps.gate.outputs.exit-code"] == "1"
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert any(
        "file=release/qwen3-4b-fileops.toml" in a and "line=" in a and "title=blocker/weight-distribution" in a
        for a in annotations
    ), annotations
    assert "## tinyrel release gate: `qwen3-4b-fileops` 0.1.0 — failed" in result.summary
    row = next(line for line in result.summary.splitlines() if "weight-distribution" in line and "open" in line)
    assert "Decide metadata-only release vs durable hosted weight release" in row
    assert "breadth-regression" in result.summary and "✅ resolved" in result.summary
    [card] = result.uploads
    assert card.is_file() and "routed-only" in card.read_text()


def test_action_passes_on_a_passing_workspace(example, action_python, tmp_path):
    spec = example / "release" / "qwen3-4b-fileops.toml"
    spec.write_text(spec.read_text().replace('mode = "undecided"', 'mode = "metadata"'))
    result = run_action(example, {}, action_python, tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "::error" not in result.stdout
    assert "— passed" in result.summary and "❌" not in result.summary
    # the action installed tinyrel from its wheel: the shipped test double runs from it too
    hub = subprocess.run([str(action_python / "python"), "-m", "tinyrel.testing.hub", "--help"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert hub.returncode == 0 and "--token" in hub.stdout


def test_pre_commit_hook_runs_the_offline_gate_without_reading_weights(example):
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(hook["files"])
    assert pattern.search("release/qwen3-4b-fileops.toml") and pattern.search("CHANGELOG.md")
    assert not pattern.search("README.md") and not pattern.search("src/tinyrel/cli.py")
    argv = shlex.split(hook["entry"])
    assert argv[0] == "tinyrel" and hook["pass_filenames"] is False

    weights = next((example / "hf-cache").glob("models--*/blobs/*"))
    weights.chmod(0o644)
    weights.write_bytes(b"corrupt")  # the offline gate must not notice: it never reads weights
    offline = run(*argv[1:], "--format", "json", cwd=example)
    assert offline.exit_code == 1
    assert '"blocker/weight-distribution"' in offline.output and '"weights": "skipped"' in offline.output
    assert '"blocker/weights"' not in offline.output
    online = run("check", "--format", "json", cwd=example)
    assert '"blocker/weights"' in online.output


def test_annotations_are_relative_to_the_checkout_when_the_workspace_is_a_subdirectory(example, monkeypatch):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(example.parent))
    output = run("check", "--format", "github", cwd=example).output
    assert f"file={example.name}/release/qwen3-4b-fileops.toml" in output
    monkeypatch.delenv("GITHUB_WORKSPACE")
    assert "file=release/qwen3-4b-fileops.toml" in run("check", "--format", "github", cwd=example).output
