"""Benchmark: ``tinyrel validate --manifest`` vs ``python -m model_signing verify key``.

Runs the commands alternately on the same Qwen3-4B-shaped directory (warm page cache), then
prints median wall time and peak RSS of each.  A figure, not a test: nothing here asserts time.

    python bench/bench_validate.py [--dir bench/out/qwen3-4b] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def prepare(model: Path, work: Path) -> tuple[Path, Path, Path]:
    if not (model / "config.json").exists():
        subprocess.run([sys.executable, str(HERE / "make_qwen3_4b.py"), str(model)], check=True)
    work.mkdir(parents=True, exist_ok=True)
    manifest, key, pub, sig = work / "manifest.json", work / "k.pem", work / "pub.pem", work / "model.sig"
    if not manifest.exists():
        seconds, rss = timed([sys.executable, "-m", "tinyrel", "manifest", str(model), "-o", str(manifest)])
        print(f"tinyrel manifest (once, includes file SHA-256): {seconds:.2f} s, peak RSS {rss:.0f} MB")
    if not key.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        private = ec.generate_private_key(ec.SECP256R1())
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        pub.write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    if not sig.exists():
        sign = [sys.executable, "-m", "model_signing", "sign", "key", str(model), "--private_key", str(key)]
        subprocess.run([*sign, "--signature", str(sig)], check=True, capture_output=True)
    return manifest, pub, sig


def run_rounds(commands: dict[str, list[str]], model: Path, rounds: int) -> dict[str, float]:
    """Warm the page cache, run the commands alternately ``rounds`` times, print medians and
    peak RSS; return the median wall time of each."""
    for path in sorted(model.iterdir()):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            results[name].append(timed(cmd))
    size = sum(p.stat().st_size for p in model.iterdir())
    print(f"model: {model} ({size / 1e9:.2f} GB), cores: {os.cpu_count()}, rounds: {rounds}")
    medians = {}
    for name, runs in results.items():
        medians[name] = wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        print(f"{name:32s} median {wall:6.2f} s  ({size / wall / 1e9:5.2f} GB/s)  peak RSS {rss:6.0f} MB")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-4b")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    manifest, pub, sig = prepare(args.dir, args.dir.parent / "bench-work")
    commands = {
        "tinyrel validate --manifest": [
            sys.executable,
            "-m",
            "tinyrel",
            "validate",
            str(args.dir),
            "--manifest",
            str(manifest),
        ],
        "model_signing verify key": [
            sys.executable,
            "-m",
            "model_signing",
            "verify",
            "key",
            str(args.dir),
            "--signature",
            str(sig),
            "--public_key",
            str(pub),
        ],  # fmt: skip
        "tinyrel validate --quick": [sys.executable, "-m", "tinyrel", "validate", str(args.dir), "--quick"],
    }
    medians = run_rounds(commands, args.dir, args.rounds)
    ratio = medians["tinyrel validate --manifest"] / medians["model_signing verify key"]
    print(f"validate --manifest / model_signing verify = {ratio:.2f}")


if __name__ == "__main__":
    main()
