"""Benchmark: ``tinyrel sign`` / ``tinyrel verify`` vs ``python -m model_signing sign|verify key``.

Same Qwen3-4B-shaped directory and key as bench_validate.py (warm page cache), commands run
alternately; prints median wall time, throughput and peak RSS.  A figure, not a test.

    python bench/bench_sign.py [--dir bench/out/qwen3-4b] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from bench_validate import HERE, prepare, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-4b")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = args.dir.parent / "bench-work"
    _, pub, ref_sig = prepare(args.dir, work)
    key, ours = work / "k.pem", work / "tinyrel.sig"
    model = str(args.dir)
    commands = {
        "tinyrel sign (key)": [sys.executable, "-m", "tinyrel", "sign", model, "--private-key", str(key),
                               "--signature", str(ours)],
        "model_signing sign key": [sys.executable, "-m", "model_signing", "sign", "key", model,
                                   "--private_key", str(key), "--signature", str(work / "ref2.sig")],
        "tinyrel verify (key)": [sys.executable, "-m", "tinyrel", "verify", model, "--signature", str(ours),
                                 "--public-key", str(pub)],
        "model_signing verify key": [sys.executable, "-m", "model_signing", "verify", "key", model,
                                     "--signature", str(ref_sig), "--public_key", str(pub)],
    }  # fmt: skip
    for path in sorted(args.dir.iterdir()):  # warm the page cache
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            results[name].append(timed(cmd))
    size = sum(p.stat().st_size for p in args.dir.iterdir())
    print(f"model: {args.dir} ({size / 1e9:.2f} GB), cores: {os.cpu_count()}, rounds: {args.rounds}")
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        rate = size / medians[name] / 1e9
        print(f"{name:28s} median {medians[name]:6.2f} s  ({rate:5.2f} GB/s)  peak RSS {rss:6.0f} MB")
    print(f"sign ratio tinyrel/model_signing = {medians['tinyrel sign (key)'] / medians['model_signing sign key']:.2f}")
    print(f"verify ratio = {medians['tinyrel verify (key)'] / medians['model_signing verify key']:.2f}")


if __name__ == "__main__":
    main()
