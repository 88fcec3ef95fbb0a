"""Benchmark: ``tinyrel verify DIR`` (fast path through the signed manifest) vs ``model_signing verify key``.

A release directory is made from the Qwen3-4B-shaped model (hard links, no copy) plus its
``manifest.json`` and a tinyrel ``model.sig``; the reference tool verifies the same directory with
its own bundle.  Commands run alternately on a warm page cache; prints medians, peak RSS and the
ratio, then flips one byte in the largest shard to show the fast path still catches it (and
restores it).  A figure, not a test.

    python bench/bench_verify.py [--dir bench/out/qwen3-4b] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench_validate import HERE, prepare, run_rounds


def release_dir(model: Path, work: Path, manifest: Path, key: Path) -> Path:
    release = work / "release"
    if not (release / "model.sig").exists():
        shutil.rmtree(release, ignore_errors=True)
        release.mkdir(parents=True)
        for path in model.iterdir():
            os.link(path, release / path.name)
        shutil.copy(manifest, release / "manifest.json")
        subprocess.run([sys.executable, "-m", "tinyrel", "sign", str(release), "--private-key", str(key),
                        "--signature", str(release / "model.sig")], check=True, capture_output=True)  # fmt: skip
        subprocess.run([sys.executable, "-m", "model_signing", "sign", "key", str(release), "--private_key", str(key),
                        "--signature", str(work / "ref-release.sig"), "--ignore-paths", str(release / "model.sig")],
                       check=True, capture_output=True)  # fmt: skip
    return release


def flipped_byte_is_caught(release: Path, pub: Path) -> bool:
    shard = max((p for p in release.iterdir() if p.suffix == ".safetensors"), key=lambda p: p.stat().st_size)
    offset = shard.stat().st_size // 2
    with shard.open("r+b") as handle:
        handle.seek(offset)
        original = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([original[0] ^ 0x01]))
    try:
        proc = subprocess.run([sys.executable, "-m", "tinyrel", "verify", str(release), "--public-key", str(pub)],
                              capture_output=True, text=True)  # fmt: skip
        return proc.returncode == 1 and "verify/changed" in proc.stdout
    finally:
        with shard.open("r+b") as handle:
            handle.seek(offset)
            handle.write(original)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=HERE / "out" / "qwen3-4b")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = args.dir.parent / "bench-work"
    manifest, pub, _ = prepare(args.dir, work)
    release = release_dir(args.dir, work, manifest, work / "k.pem")
    commands = {
        "tinyrel verify (signed manifest)": [sys.executable, "-m", "tinyrel", "verify", str(release),
                                             "--public-key", str(pub)],
        "model_signing verify key": [sys.executable, "-m", "model_signing", "verify", "key", str(release),
                                     "--signature", str(work / "ref-release.sig"), "--public_key", str(pub),
                                     "--ignore-paths", str(release / "model.sig")],
    }  # fmt: skip
    medians = run_rounds(commands, release, args.rounds)
    ratio = medians["tinyrel verify (signed manifest)"] / medians["model_signing verify key"]
    print(f"verify ratio tinyrel/model_signing = {ratio:.2f}")
    print(f"one flipped byte in the largest shard caught: {flipped_byte_is_caught(release, pub)}")


if __name__ == "__main__":
    main()
