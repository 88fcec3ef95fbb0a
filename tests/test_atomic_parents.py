"""A failed write or staging leaves no directory it made, and a withdrawn pull leaves its target as
it found it.

``write_bytes_atomic``, ``staged_directory`` and ``staged_new_directory`` create the missing parents
of their target; when they fail, they remove those again — only those, only while empty (``rmdir``),
so a parent that was there before, or one into which another party put a file meanwhile, stays.
``pull --local-dir new/deep/dir --base-dir …`` whose base cannot be placed leaves neither the release
nor the parents it made, and an empty target it had to withdraw the release from keeps its mode.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from test_adapters import BASE, adapter_workspace, upload

from tinyrel.atomic import staged_directory, staged_new_directory, write_bytes_atomic
from tinyrel.findings import TinyrelError

FULL_DISK = """
import resource, signal, sys
from tinyrel.atomic import write_bytes_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
try:
    write_bytes_atomic(sys.argv[1], b"x" * 65536)
except OSError as exc:
    print(exc.errno)
"""


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_write_that_fails_on_a_full_disk_leaves_no_parent_it_made(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)  # a parent that was there before, empty: it stays
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(root / "a" / "b" / "c" / "weights.bin")],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "27", done  # EFBIG: the write itself failed
    assert _tree(root) == ["a"]


def test_a_write_that_succeeds_keeps_the_parents_it_made(tmp_path):
    write_bytes_atomic(tmp_path / "a" / "b" / "f.txt", b"kept")
    assert (tmp_path / "a" / "b" / "f.txt").read_bytes() == b"kept"


def test_a_staging_that_fails_leaves_no_parent_it_made(tmp_path):
    with pytest.raises(RuntimeError), staged_new_directory(tmp_path / "x" / "y" / "z" / "release") as stage:
        (stage / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("the download broke")
    assert _tree(tmp_path) == []
    with pytest.raises(RuntimeError), staged_directory(tmp_path / "p" / "q" / "out") as stage:
        (stage / "card.md").write_text("half")
        raise RuntimeError("rendering broke")
    assert _tree(tmp_path) == []


def test_what_another_party_put_into_a_made_parent_survives_a_failed_staging(tmp_path):
    a = tmp_path / "a"
    with pytest.raises(KeyboardInterrupt), staged_new_directory(a / "b" / "c" / "release"):
        (a / "b" / "theirs.txt").write_text("mine")  # written by someone else while tinyrel staged
        raise KeyboardInterrupt
    assert _tree(tmp_path) == ["a", "a/b", "a/b/theirs.txt"]  # c (empty) went; b and a hold their file


def test_a_target_that_became_a_file_keeps_the_file_and_its_parents(tmp_path):
    target = tmp_path / "a" / "b" / "release"
    with pytest.raises(TinyrelError) as refused, staged_new_directory(target) as stage:
        (stage / "config.json").write_text("{}")
        target.write_text("another party's file")
    assert refused.value.code == "output/target-changed"
    assert _tree(tmp_path) == ["a", "a/b", "a/b/release"] and target.read_text() == "another party's file"


def test_a_symlinked_parent_is_followed_and_kept(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    with pytest.raises(RuntimeError), staged_new_directory(link / "m" / "n" / "release"):
        assert (real / "m" / "n").is_dir()
        raise RuntimeError("broke")
    assert link.is_symlink() and os.readlink(link) == str(real) and _tree(real) == []


def test_a_dangling_symlink_in_the_way_fails_and_makes_nothing(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OSError), staged_new_directory(tmp_path / "dangling" / "x" / "release"):
        pass
    assert _tree(tmp_path) == ["dangling"] and not (tmp_path / "nowhere").exists()


# -- pull with a base: the release and its base both visible, or neither, and no parents made ----


@pytest.fixture
def adapter_release(lfs_hub, adapter_store, keys, tmp_path):
    """The LoRA adapter of tests/test_adapters.py published as ``hf://lab/my-adapter@v0.1.0``, its base
    (mlx-lm's model, ``lab/base``) pinned; over LFS only (the staging does not depend on the transfer)."""
    upload(lfs_hub, adapter_store["base"], BASE)
    ws = adapter_workspace(tmp_path, adapter_store["lora"])
    result = run("publish", "--mode", "weights", "--private-key", keys.private_key, cwd=ws)
    assert result.exit_code == 0, result.output
    return "hf://lab/my-adapter@v0.1.0"


def _pull_through(proxy_url: str, monkeypatch, release: str, keys, target: Path, base_dir: Path):
    monkeypatch.setenv("HF_ENDPOINT", proxy_url)
    return run_json("pull", release, "--public-key", keys.public_key, "--local-dir", target, "--base-dir", base_dir)


def test_a_pull_whose_base_fails_leaves_no_parent_it_made(adapter_release, lfs_hub, keys, tmp_path, monkeypatch):
    from support.hostile_hub import TamperingProxy

    out = tmp_path / "out"
    out.mkdir()
    proxy = TamperingProxy(lfs_hub.base_url, {"config.json"})  # the base's config.json arrives changed
    try:
        code, doc = _pull_through(proxy.base_url, monkeypatch, adapter_release, keys, out / "new" / "deep" / "dir",
                                  out / "bases" / "deep" / "base")  # fmt: skip
    finally:
        proxy.close()
    assert code == 1 and "pull/base-changed" in codes(doc), doc
    assert _tree(out) == []


def _base_dir_written_meanwhile(lfs_hub, base_dir: Path):
    """A proxy that, when the base's first file is asked for, writes a file into ``base_dir``: the
    release is placed, then the base's rename fails and the release is withdrawn."""
    from support.hostile_hub import TamperingProxy

    def meanwhile(line: str) -> None:
        if f"/{BASE}/resolve/" in line and not (base_dir / "notes.txt").exists():
            (base_dir / "notes.txt").write_text("mine")

    return TamperingProxy(lfs_hub.base_url, set(), on_request=meanwhile)


def test_a_withdrawn_release_takes_the_parents_it_made_with_it(adapter_release, lfs_hub, keys, tmp_path,
                                                               monkeypatch):  # fmt: skip
    out, base_dir = tmp_path / "out", tmp_path / "base-dir"
    out.mkdir()
    base_dir.mkdir()
    proxy = _base_dir_written_meanwhile(lfs_hub, base_dir)
    try:
        code, doc = _pull_through(proxy.base_url, monkeypatch, adapter_release, keys, out / "new" / "deep" / "dir",
                                  base_dir)  # fmt: skip
    finally:
        proxy.close()
    assert code == 1 and "output/target-changed" in codes(doc), doc
    assert _tree(out) == [] and _tree(base_dir) == ["notes.txt"]


def test_a_withdrawn_release_leaves_an_empty_0700_target_0700(adapter_release, lfs_hub, keys, tmp_path, monkeypatch):
    target, base_dir = tmp_path / "D", tmp_path / "base-dir"
    target.mkdir()
    target.chmod(0o700)
    base_dir.mkdir()
    proxy = _base_dir_written_meanwhile(lfs_hub, base_dir)
    umask = os.umask(0o022)  # a plain mkdir would make it 0755: world-readable
    try:
        code, doc = _pull_through(proxy.base_url, monkeypatch, adapter_release, keys, target, base_dir)
    finally:
        os.umask(umask)
        proxy.close()
    assert code == 1 and "output/target-changed" in codes(doc), doc
    assert target.is_dir() and _tree(target) == [] and stat.S_IMODE(target.stat().st_mode) == 0o700
    assert [p.name for p in tmp_path.iterdir() if "tinyrel" in p.name] == []  # no staging or old copy left
