"""Benchmark: ``tinyrel publish --oci-repo`` and ``tinyrel pull oci://…`` vs the oras SDK's ``push``
and ``pull`` of the same files, against a local CNCF Distribution registry (``docker-registry``).

A 2.4 GB Qwen3-shaped model of unique data (``make_qwen3_4b.py --layers 8 --unique``) is the
weights of the example workspace.  Publish: every run pushes into a fresh registry (empty storage),
so every blob is sent; tinyrel's figure includes its gate (the weights validated against the
manifest) and signing, oras' its hashing of every file.  Pull: one registry holding tinyrel's
signed release; every run pulls into an empty directory after flushing the previous run's writes;
tinyrel's figure includes the signature check, the digest of every blob as it arrives and the
rename, oras' writes whatever arrives.  The tools alternate who goes first.  Prints medians of wall
time and the peak RSS of each tool.  A figure, not a test.

    python bench/bench_oci.py [--dir bench/out/qwen3-2b] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_publish import workspace
from bench_validate import HERE, prepare

sys.path.insert(0, str(HERE.parent / "tests"))
from oci_registry import Registry  # the tests' registry, outside pytest

PATH = "bench/model"
ORAS_PUSH = """
import os, sys
import oras.provider
host, target, *files = sys.argv[1:]
os.chdir(os.path.dirname(files[0]))
oras.provider.Registry(hostname=host, insecure=True).push(target=target, files=[os.path.basename(f) for f in files])
"""
ORAS_PULL = """
import sys
import oras.provider
host, target, out = sys.argv[1:]
oras.provider.Registry(hostname=host, insecure=True).pull(target=target, outdir=out)
"""


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (``bench_validate.timed``, in ``cwd``)."""
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def publish_run(tool: str, ws: Path, model: Path, key: Path, scratch: Path) -> tuple[float, float]:
    """One push into a fresh, empty registry: (seconds, peak RSS MB)."""
    os.sync()
    registry = Registry(Path(tempfile.mkdtemp(prefix="registry-", dir=scratch))).start()
    try:
        if tool == "tinyrel publish":
            return timed([sys.executable, "-m", "tinyrel", "publish", "--mode", "weights", "--oci-repo",
                          registry.repo(PATH), "--private-key", str(key), "--quiet"], cwd=ws)  # fmt: skip
        files = [str(p) for p in sorted(model.iterdir())]
        return timed([sys.executable, "-c", ORAS_PUSH, registry.host, f"{registry.repo(PATH)}:v0.1.0", *files])
    finally:
        registry.stop()
        shutil.rmtree(registry.root, ignore_errors=True)


def pull_run(tool: str, registry: Registry, public: Path, scratch: Path) -> tuple[float, float]:
    """One pull of the signed release into an empty directory: (seconds, peak RSS MB)."""
    os.sync()
    target = Path(tempfile.mkdtemp(prefix="pull-", dir=scratch)) / "model"
    try:
        if tool == "tinyrel pull":
            return timed([sys.executable, "-m", "tinyrel", "pull", f"oci://{registry.repo(PATH)}:v0.1.0",
                          "--public-key", str(public), "--local-dir", str(target)])  # fmt: skip
        return timed([sys.executable, "-c", ORAS_PULL, registry.host, f"{registry.repo(PATH)}:v0.1.0", str(target)])
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)


def report(what: str, figures: dict[str, list[tuple[float, float]]], base: str, size: int) -> None:
    reference = statistics.median(s for s, _ in figures[base])
    for tool, runs in figures.items():
        wall = statistics.median(s for s, _ in runs)
        rss = max(r for _, r in runs)
        shown = ", ".join(f"{s:.1f}" for s, _ in runs)
        print(f"{what}: {tool:16s} {wall:6.2f} s  {size / wall / 1e9:5.2f} GB/s  {wall / reference:4.2f}x  "
              f"peak RSS {rss:5.0f} MB  (runs: {shown})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-2b")
    parser.add_argument("--work", type=Path, help="where the workspace and registries go (default: beside --dir)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (medians are printed)")
    args = parser.parse_args()
    if not (args.dir / "config.json").exists():
        subprocess.run([sys.executable, str(HERE / "make_qwen3_4b.py"), str(args.dir), "--layers", "8", "--unique"],
                       check=True)  # fmt: skip
    work = (args.work or args.dir.parent / "bench-oci").resolve()
    _, public, _ = prepare(args.dir, work / "keys")
    key = public.parent / "k.pem"
    ws = workspace(args.dir, work)
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    print(f"model: {args.dir} ({size / 1e9:.2f} GB), cores: {os.cpu_count()}, runs: {args.runs}")
    scratch = work / "runs"
    scratch.mkdir(parents=True, exist_ok=True)

    pushes = {"tinyrel publish": [], "oras push": []}
    for run in range(args.runs):
        for tool in list(pushes) if run % 2 == 0 else list(pushes)[::-1]:
            pushes[tool].append(publish_run(tool, ws, args.dir, key, scratch))
    report("push", pushes, "oras push", size)

    registry = Registry(work / "registry-pull").start()
    try:
        subprocess.run([sys.executable, "-m", "tinyrel", "publish", "--mode", "weights", "--oci-repo",
                        registry.repo(PATH), "--private-key", str(key)], cwd=ws, check=True,
                       capture_output=True)  # fmt: skip
        pulls = {"tinyrel pull": [], "oras pull": []}
        for run in range(args.runs):
            for tool in list(pulls) if run % 2 == 0 else list(pulls)[::-1]:
                pulls[tool].append(pull_run(tool, registry, public, scratch))
        report("pull", pulls, "oras pull", size)
    finally:
        registry.stop()
        shutil.rmtree(registry.root, ignore_errors=True)


if __name__ == "__main__":
    main()
