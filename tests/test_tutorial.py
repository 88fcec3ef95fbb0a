"""The README's tutorial, command by command as written, on a model saved by ``mlx_lm.utils.save``.

The bash block of the "Tutorial" section is read from README.md and run line by line: ``tinyrel``
through the CLI (in this process, against the Hub emulator, over Xet and over LFS), ``cd``, ``git``,
``mkdir`` and ``openssl`` as a shell would (the key made with ``cryptography`` when there is no
openssl), ``$EDITOR`` as an author would edit the spec.  The weights come from ``~/models/…`` and,
as the tutorial allows, from ``hf-cache://…`` written by the installed huggingface_hub.  Then the
consumer section: ``tinyrel pull`` and loading the pulled model with mlx-lm.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from support.fixtures import hf_cache_from_hub
from support.helpers import run
from support.hub import HUB_TOKEN

REPO = Path(__file__).resolve().parents[1]
NAME = "my-specialist"


def readme_block(section: str, language: str = "bash", index: int = 0) -> str:
    """The ``index``-th fenced ``language`` block of a README section (from its heading to the next)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)\n```", body, re.S)[index]


def shell_lines(block: str) -> list[str]:
    """Commands of a bash block: comments dropped, ``\\`` continuations joined, ``&&`` chains split."""
    lines = []
    for raw in block.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        lines += [part.strip() for part in line.split("&&") if part.strip()]
    return lines


# What an author writes into the scaffold in step 2: every placeholder replaced, the evals with
# their per-item records (an in-domain gate, and a breadth eval that shows the negative transfer).
SPEC_EDITS = {
    '"the domain this model was tuned for"': '"file operations"',
    "Describe which requests a router should send to this model.": "Requests to list, move or rename files.",
    "requests outside the tuned domain": "general chat",
    "the base model's license, as a Hub license id": "apache-2.0",
    f'repo_id = "ORG/{NAME}"': f'repo_id = "my-org/{NAME}"',
}
EVALS = """
[[evals]]
id = "fileops-gate"
name = "File-ops hard gate"
kind = "in-domain"
stock = 0.5
tuned = 1.0
records = "evals/fileops-gate.tuned.jsonl"
stock_records = "evals/fileops-gate.stock.jsonl"

[[evals]]
id = "breadth"
name = "General breadth"
kind = "breadth"
stock = 0.75
tuned = 0.5
records = "evals/breadth.tuned.jsonl"
stock_records = "evals/breadth.stock.jsonl"
"""
RECORDS = {"fileops-gate.tuned": [1] * 8, "fileops-gate.stock": [1, 0] * 4,
           "breadth.tuned": [1, 0] * 4, "breadth.stock": [1, 1, 1, 0] * 2}  # fmt: skip


def edit_spec(ws: Path) -> None:
    """``$EDITOR release/my-specialist.toml``: tell the truth, as step 2 asks."""
    spec = ws / "release" / f"{NAME}.toml"
    text = spec.read_text(encoding="utf-8")
    for old, new in SPEC_EDITS.items():
        text = text.replace(old, new)
    spec.write_text(text + EVALS, encoding="utf-8")
    for stem, passed in RECORDS.items():
        rows = [json.dumps({"id": f"q{i}", "passed": bool(p)}) for i, p in enumerate(passed)]
        (ws / "evals").mkdir(exist_ok=True)
        (ws / "evals" / f"{stem}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def make_key_pair(private: Path, public: Path) -> None:
    """``openssl ecparam -name prime256v1 -genkey`` / ``openssl ec -pubout``, with cryptography."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))  # fmt: skip
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip


class Shell:
    """Runs a README block's commands as bash would, in this process, with ``~`` as ``home``."""

    def __init__(self, cwd: Path, home: Path, editor: Callable[[Path], None], setenv: Callable[[str, str], None],
                 weights: str | None = None):  # fmt: skip
        self.cwd, self.home, self.editor, self.setenv, self.weights = cwd, home, editor, setenv, weights
        self.results: list[tuple[str, int, str]] = []
        self.env = {**os.environ, "HOME": str(home), "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
                    "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}  # fmt: skip

    def expand(self, word: str) -> str:
        return str(self.home) + word[1:] if word == "~" or word.startswith("~/") else word

    def __call__(self, line: str) -> int:
        if self.weights is not None:  # "(or in your Hugging Face cache, as hf-cache://my-org/my-specialist)"
            line = line.replace(f"~/models/{NAME}", self.weights)
        words = [self.expand(w) for w in shlex.split(line)]
        program, args = words[0], words[1:]
        if program == "cd":
            self.cwd = (self.cwd / args[0]).resolve()
            code, output = 0, ""
        elif program == "$EDITOR":
            self.editor(self.cwd / args[0])
            code, output = 0, ""
        elif program == "export":
            key, value = args[0].split("=", 1)
            self.setenv(key, HUB_TOKEN if key == "HF_TOKEN" else value)
            code, output = 0, ""
        elif program == "tinyrel":
            result = run(*args, cwd=str(self.cwd))
            code, output = result.exit_code, result.output
        elif program == "openssl" and shutil.which("openssl") is None:
            code, output = self.openssl_with_cryptography(args), ""
        else:  # mkdir, git, openssl: the real programs
            proc = subprocess.run(words, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120)
            code, output = proc.returncode, proc.stdout + proc.stderr
        self.results.append((line, code, output))
        return code

    def openssl_with_cryptography(self, args: list[str]) -> int:
        if args[0] == "ecparam":
            private = Path(args[args.index("-out") + 1])
            make_key_pair(private, private.with_suffix(".pub.tmp"))
        else:
            source, out = Path(args[args.index("-in") + 1]), self.cwd / args[args.index("-out") + 1]
            shutil.move(source.with_suffix(".pub.tmp"), out)
        return 0


def tutorial(tmp_path: Path, hub, mlx_lm_model, monkeypatch, *, from_cache: bool) -> Shell:
    home = tmp_path / "home"
    model = mlx_lm_model("saved", home / "models" / NAME)
    weights = None
    if from_cache:  # downloaded with huggingface_hub's defaults: over Xet, the shared blob store
        hf_cache_from_hub(model, "lab/my-specialist-train", hub.base_url, HUB_TOKEN, tmp_path / "hf-home" / "hub")
        weights = "hf-cache://lab/my-specialist-train"
    work = tmp_path / "work"
    work.mkdir()

    def editor(spec: Path) -> None:
        edit_spec(spec.parents[1])

    shell = Shell(work, home, editor, monkeypatch.setenv, weights)
    for line in shell_lines(readme_block("Tutorial: from a local MLX directory to a signed hosted release")):
        shell(line)
    return shell


def codes_by_step(shell: Shell) -> list[tuple[str, int]]:
    return [(line.split(" --")[0], code) for line, code, _ in shell.results]


@pytest.mark.slow
@pytest.mark.parametrize("from_cache", [False, True], ids=["local-dir", "hf-cache"])
def test_the_readme_tutorial_on_a_model_saved_by_mlx_lm(tmp_path, hub, mlx_lm_model, monkeypatch, from_cache):
    monkeypatch.delenv("HF_TOKEN")  # the tutorial exports it in step 5
    shell = tutorial(tmp_path, hub, mlx_lm_model, monkeypatch, from_cache=from_cache)
    steps = [(line, code) for line, code, _ in shell.results]
    outputs = {line: output for line, _, output in shell.results}
    init = steps[0][0]
    first_check = next(out for line, _, out in shell.results if line == "tinyrel check")
    assert steps[0][1] == 0, outputs[init]
    failing = [(line, code, out) for line, code, out in shell.results if code != 0]
    # step 3: the first check fails on weight-distribution only, as the tutorial's comment says
    assert [line for line, _, _ in failing] == ["tinyrel check"], failing
    assert set(re.findall(r"error\[([^\]]+)\]", first_check)) == {"blocker/weight-distribution"}, first_check
    # mlx-lm's README.md stub is not a weight: init says so once, and manifest and lock agree
    assert "info[weights/release-file]: README.md" in outputs[init] and "manifest-lock=pass" in first_check

    ws = shell.cwd
    assert (ws / "card.md").is_file() and "README.md" not in (ws / "card.md").read_text().split("## Files")[1]
    lock = tomllib.loads((ws / "tinyrel.lock").read_text())["sources"]
    assert [s["name"] for s in lock] == [NAME] and lock[0]["uri"].startswith("hf://my-org/my-specialist@")
    last_check = shell.results[-3]
    assert last_check[0] == "tinyrel check" and last_check[1] == 0, last_check[2]
    if any(line.startswith("tinyrel evals --lock") for line, _, _ in shell.results):
        assert "eval-evidence=pass" in last_check[2], last_check[2]  # the pins survived publish's re-lock
    assert subprocess.run(["git", "log", "--oneline"], cwd=ws, capture_output=True, text=True).stdout.strip()

    # The consumer's side: pull what was published, verified, and load it with mlx-lm.
    consumer = Shell(tmp_path / "work", shell.home, lambda _: None, monkeypatch.setenv)
    for line in shell_lines(readme_block("Using a release (for consumers)"))[:1]:
        assert consumer(line.replace("publisher.pub", str(ws / "publisher.pub"))) == 0, consumer.results[-1]
    pulled = tmp_path / "work" / NAME
    names = {p.name for p in pulled.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "chat_template.jinja", "model.sig", "README.md"} <= names
    import mlx_lm

    model, tokenizer = mlx_lm.load(str(pulled))
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "List the files in /tmp"}],
                                           add_generation_prompt=True)  # fmt: skip
    assert isinstance(mlx_lm.generate(model, tokenizer, prompt=prompt, max_tokens=3), str)


PYTHON_EXAMPLE = readme_block("Use from Python", "python")


@pytest.mark.slow
@pytest.mark.xfail('Path("publisher.pub")' in PYTHON_EXAMPLE, strict=True,
                   reason="the README's Python example runs beside my-release/, but the tutorial writes "
                   "publisher.pub inside it: README text proposed in the report of branch tutorial")  # fmt: skip
def test_the_readme_python_example_runs_as_written(tmp_path, hub, mlx_lm_model, monkeypatch):
    """"Use from Python", exactly as README.md has it, after the tutorial's steps 1, 2 and 4 (a
    workspace with a told-the-truth spec, and a key), from the directory that holds ``my-release``."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    mlx_lm_model("saved", home / "models" / NAME)
    work = tmp_path / "work"
    work.mkdir()
    shell = Shell(work, home, lambda spec: edit_spec(spec.parents[1]), monkeypatch.setenv)
    for line in shell_lines(readme_block("Tutorial: from a local MLX directory to a signed hosted release")):
        if not line.startswith(("tinyrel check", "tinyrel card", "tinyrel publish", "git add", "git commit")):
            assert shell(line) == 0, shell.results[-1]
    monkeypatch.chdir(work)
    namespace: dict = {}
    exec(compile(PYTHON_EXAMPLE, "README.md", "exec"), namespace)
    assert namespace["report"].ok and namespace["result"].report.ok  # lock_source's, then publish's
