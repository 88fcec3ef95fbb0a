"""Benchmark: ``tinyrel sign`` / ``tinyrel verify`` vs ``python -m model_signing sign|verify key``.

Same Qwen3-4B-shaped directory and key as bench_validate.py (warm page cache), commands run
alternately; prints median wall time, throughput and peak RSS.  A figure, not a test.

    python bench/bench_sign.py [--dir bench/out/qwen3-4b] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench_validate import HERE, prepare, run_rounds


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
    medians = run_rounds(commands, args.dir, args.rounds)
    print(f"sign ratio tinyrel/model_signing = {medians['tinyrel sign (key)'] / medians['model_signing sign key']:.2f}")
    print(f"verify ratio = {medians['tinyrel verify (key)'] / medians['model_signing verify key']:.2f}")


if __name__ == "__main__":
    main()
