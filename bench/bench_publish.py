"""Benchmark: ``tinyrel publish --mode weights`` vs ``HfApi.upload_folder`` of the same directory.

Both push the 8 GB Qwen3-4B-shaped directory to the local Hub emulator (a separate process, so
only the client is measured), once over Xet (hf_xet into the emulator's local CAS) and once over
LFS (``HF_HUB_DISABLE_XET=1``).  tinyrel's figure includes its gate (validation against the
manifest), signing and the read-back; ``upload_folder`` does neither.  Prints wall time, peak RSS
and the ratio per mode, each run on a warm page cache.  A figure, not a test.

    python bench/bench_publish.py [--dir bench/out/qwen3-4b]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_validate import HERE, timed

TOKEN = "hf_bench"


def workspace(model: Path, work: Path) -> Path:
    """The example workspace with its weights replaced by the benchmark model."""
    ws = work / "ws"
    if not ws.exists():
        subprocess.run([sys.executable, "-m", "tinyrel", "init", "--example", str(ws)], check=True, capture_output=True)
        spec = ws / "release" / "qwen3-4b-fileops.toml"
        text = re.sub(r'(?m)^source = ".*"$', f'source = "{model.resolve()}"', spec.read_text(), count=1)
        # the example's 4-bit variant is of its stand-in weights, not of the benchmark model
        spec.write_text(re.split(r"(?m)^\[\[variants\]\]", text, maxsplit=1)[0])
        for args in (["manifest", str(model), "-o", "manifests/qwen3-4b-fileops.json"],
                     ["lock", str(model), "--name", "qwen3-4b-fileops"], ["evals", "--lock"]):  # fmt: skip
            subprocess.run([sys.executable, "-m", "tinyrel", *args], cwd=ws, check=True, capture_output=True)
    return ws


def emulator(data: Path, xet: bool) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "tinyrel.testing.hub", "--port", "0", "--data", str(data), "--token", TOKEN]
    proc = subprocess.Popen([*cmd, *([] if xet else ["--no-xet"])], stdout=subprocess.PIPE, text=True)
    url = re.search(r"http://[\d.:]+", proc.stdout.readline()).group(0)
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-4b")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and mode (medians are printed)")
    args = parser.parse_args()
    work = args.dir.parent / "bench-publish"
    ws = workspace(args.dir, work)
    key = args.dir.parent / "bench-work" / "k.pem"
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    print(f"model: {args.dir} ({size / 1e9:.2f} GB), cores: {os.cpu_count()}")
    publish = [sys.executable, "-m", "tinyrel", "publish", "--mode", "weights", "--repo-id", "bench/tinyrel",
               "--allow-other-repo"]
    if key.exists():
        publish += ["--private-key", str(key)]
    upload = ("from huggingface_hub import HfApi; api = HfApi(); api.create_repo('bench/plain'); "
              f"api.upload_folder(folder_path={str(args.dir)!r}, repo_id='bench/plain')")  # fmt: skip
    lock = (ws / "tinyrel.lock").read_text()
    for mode in ("xet", "lfs"):
        figures: dict[str, list[tuple[float, float]]] = {"tinyrel publish": [], "upload_folder": []}
        tools = [("tinyrel publish", publish), ("upload_folder", [sys.executable, "-c", upload])]
        for run in range(args.runs):  # alternating who goes first: the first run after a mode change pays more
            for tool, command in tools if run % 2 == 0 else tools[::-1]:
                warm(args.dir)  # the emulator's writes evict the page cache: every run starts warm
                # a fresh Hub per run: the second would otherwise find the first one's data and send nothing
                figures[tool].append(run_against_fresh_hub(command, mode, work, ws))
                (ws / "tinyrel.lock").write_text(lock)  # every run publishes from the same local state
        (ours, ours_rss), (theirs, theirs_rss) = (_medians(figures[t]) for t in ("tinyrel publish", "upload_folder"))
        pairs = zip(figures["tinyrel publish"], figures["upload_folder"], strict=True)
        runs = ", ".join(f"{s:.2f}/{t:.2f}" for (s, _), (t, _) in pairs)
        print(
            f"{mode}: tinyrel publish {ours:6.2f} s (peak RSS {ours_rss:.0f} MB) | upload_folder {theirs:6.2f} s "
            f"(peak RSS {theirs_rss:.0f} MB) | ratio {ours / theirs:.2f} (median of {args.runs}; runs: {runs})"
        )


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s for s, _ in runs), max(rss for _, rss in runs)


def warm(model: Path) -> None:
    """Flush the previous run's writes (their writeback would compete with this run) and read the model."""
    os.sync()
    for path in sorted(model.iterdir()):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def run_against_fresh_hub(command: list[str], mode: str, work: Path, cwd: Path) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(prefix=f"hub-{mode}-", dir=work))
    proc, url = emulator(data, xet=mode == "xet")
    saved = dict(os.environ)
    os.environ.update({"HF_ENDPOINT": url, "HF_TOKEN": TOKEN, "HF_HOME": str(data / "hf-home")})
    os.environ.pop("HF_HUB_DISABLE_XET", None)
    if mode == "lfs":
        os.environ["HF_HUB_DISABLE_XET"] = "1"
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return timed(command)
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
