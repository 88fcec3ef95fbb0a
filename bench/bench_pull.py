"""Benchmark: ``tinyrel pull`` vs ``snapshot_download`` alone, and vs ``snapshot_download`` followed
by ``model_signing verify`` — the consumer's three ways to get a release.

A 2.4 GB Qwen3-shaped model of unique data (``make_qwen3_4b.py --layers 8 --unique``, so Xet cannot
deduplicate it) is published, signed, to the local Hub emulator once per transfer mode (Xet, and
LFS with ``HF_HUB_DISABLE_XET=1``).  Every measured run starts a fresh emulator process on that
data, a fresh ``HF_HOME`` and an empty target, after flushing the previous run's writes; the tools
alternate who goes first.  Prints medians of wall time and the peak RSS of each tool (for the
two-step path, the larger of its two processes).  A figure, not a test.

    python bench/bench_pull.py [--dir bench/out/qwen3-2b] [--runs 3]
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

from bench_publish import TOKEN, emulator, workspace
from bench_validate import HERE, prepare, timed

REPO = "bench/model"


def publish_once(model: Path, work: Path, mode: str, key: Path) -> Path:
    """An emulator data directory holding the signed release (published by tinyrel itself)."""
    data = work / f"hub-{mode}"
    if (data / "state.json").exists():
        return data
    ws = workspace(model, work)
    proc, url = emulator(data, xet=mode == "xet")
    env = {**os.environ, "HF_ENDPOINT": url, "HF_TOKEN": TOKEN, "HF_HOME": str(work / f"hf-home-{mode}")}
    env.pop("HF_HUB_DISABLE_XET", None)
    if mode == "lfs":
        env["HF_HUB_DISABLE_XET"] = "1"
    try:
        subprocess.run([sys.executable, "-m", "tinyrel", "publish", "--mode", "weights", "--repo-id", REPO,
                        "--allow-other-repo", "--private-key", str(key)], cwd=ws, env=env, check=True,
                       capture_output=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return data


def measure(tool: str, data: Path, mode: str, public: Path, scratch: Path) -> tuple[float, float]:
    """One run of ``tool`` against a fresh emulator process on ``data``: (seconds, peak RSS MB)."""
    os.sync()
    run = Path(tempfile.mkdtemp(prefix=tool.split()[0] + "-", dir=scratch))
    target = run / "model"
    proc, url = emulator(data, xet=mode == "xet")
    saved = dict(os.environ)
    os.environ.update({"HF_ENDPOINT": url, "HF_HOME": str(run / "hf-home")})
    os.environ.pop("HF_HUB_DISABLE_XET", None)
    if mode == "lfs":
        os.environ["HF_HUB_DISABLE_XET"] = "1"
    download = ("import sys; from huggingface_hub import snapshot_download; "
                f"snapshot_download({REPO!r}, revision='v0.1.0', local_dir=sys.argv[1])")  # fmt: skip
    try:
        if tool == "tinyrel pull":
            return timed([sys.executable, "-m", "tinyrel", "pull", f"hf://{REPO}@v0.1.0", "--public-key",
                          str(public), "--local-dir", str(target)])  # fmt: skip
        seconds, rss = timed([sys.executable, "-c", download, str(target)])
        if tool == "snapshot_download":
            return seconds, rss
        verify = [sys.executable, "-m", "model_signing", "verify", "key", str(target), "--signature",
                  str(target / "model.sig"), "--public_key", str(public), "--ignore-paths", str(target / ".cache")]
        more, more_rss = timed(verify)
        return seconds + more, max(rss, more_rss)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(run, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-2b")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and mode (medians are printed)")
    parser.add_argument("--modes", default="xet,lfs")
    args = parser.parse_args()
    if not (args.dir / "config.json").exists():
        subprocess.run([sys.executable, str(HERE / "make_qwen3_4b.py"), str(args.dir), "--layers", "8", "--unique"],
                       check=True)  # fmt: skip
    work = args.dir.parent / "bench-pull"
    _, public, _ = prepare(args.dir, args.dir.parent / "bench-work")
    key = public.parent / "k.pem"
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    print(f"model: {args.dir} ({size / 1e9:.2f} GB), cores: {os.cpu_count()}, runs: {args.runs}")
    tools = ["tinyrel pull", "snapshot_download", "snapshot_download + model_signing verify"]
    for mode in args.modes.split(","):
        data = publish_once(args.dir, work, mode, key)
        scratch = work / "runs"
        scratch.mkdir(exist_ok=True)
        figures: dict[str, list[tuple[float, float]]] = {tool: [] for tool in tools}
        for run in range(args.runs):
            for tool in tools if run % 2 == 0 else tools[::-1]:
                figures[tool].append(measure(tool, data, mode, public, scratch))
        base = statistics.median(s for s, _ in figures["snapshot_download"])
        for tool in tools:
            wall = statistics.median(s for s, _ in figures[tool])
            rss = max(r for _, r in figures[tool])
            runs = ", ".join(f"{s:.1f}" for s, _ in figures[tool])
            print(f"{mode}: {tool:42s} {wall:6.2f} s  {size / wall / 1e9:5.2f} GB/s  {wall / base:4.2f}x  "
                  f"peak RSS {rss:5.0f} MB  (runs: {runs})")  # fmt: skip


if __name__ == "__main__":
    main()
