"""Issue 23: hostile eval records — log bombs, partial credit, incomplete logs, duplicate keys.

Every log here is written by inspect-ai's own writer; the bombs are such logs with sample members
rewritten to inflate to hundreds of megabytes of spaces or millions of empty objects (and, for the
forged one, a central directory that understates it).  Memory is measured in a child process, so
the bound is the reader's alone.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.helpers import codes, run, run_json
from support.workspace import edit, spec_path

from tinyrel.evidence.log_limits import MAX_LOG_BYTES, MAX_LOG_SAMPLES, MAX_LOG_VALUES, MAX_MEMBER_BYTES
from tinyrel.evidence.scores import MAX_RECORDS_BYTES
from tinyrel.evidence.stats import mcnemar_exact, paired

NAME = "qwen3-4b-fileops"
pytestmark = pytest.mark.slow  # real bombs, measured in child processes: seconds each
HELDOUT = 'records = "evals/fileops-heldout.tuned.jsonl"'
MiB = 1024 * 1024
ZSTD = 93  # inspect-ai's default compression for .eval members
# The bound for reading a bomb: an interpreter with tinyrel and inspect-ai imported is ~90 MiB;
# before the limits the bombs below took 0.6, 1.3 and 1.6 GiB to load, and the objects one aborted
# asking for 4.5 GB more.
READ_BOUND_KIB = 400 * 1024


def use_records(ws: Path, name: str) -> None:
    edit(spec_path(ws), HELDOUT, f'records = "evals/{name}"')


def write_log(path: Path, n: int = 20, *, status: str = "success", planned: int | None = None,
              results: tuple[int, int] | None = None, epochs: int | None = None, limit: int | None = None,
              errored: int = 0, invalidated: bool = False, epochs_held: int | None = None) -> Path:  # fmt: skip
    """A real inspect-ai log of ``n`` samples (19 of 20 correct, like the heldout eval) by its own writer."""
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalError,
        EvalLog,
        EvalResults,
        EvalSample,
        EvalSpec,
        write_eval_log,
    )
    from inspect_ai.scorer import Score

    spec = EvalSpec(created="2026-11-25T00:00:00+00:00", task="fileops-heldout", model="mockllm/model",
                    dataset=EvalDataset(name="heldout", samples=planned if planned is not None else n),
                    config=EvalConfig(epochs=epochs, limit=limit))  # fmt: skip
    error = EvalError(message="boom", traceback="", traceback_ansi="")
    samples = [EvalSample(id=f"h{i}", epoch=epoch, input="q", target="a", error=error if i < errored else None,
                          scores={"match": Score(value="I" if i == n - 1 else "C")})
               for i in range(n) for epoch in range(1, (epochs_held or epochs or 1) + 1)]  # fmt: skip
    counts = EvalResults(total_samples=results[0], completed_samples=results[1]) if results else None
    log = EvalLog(eval=spec, samples=samples, status=status, invalidated=invalidated, results=counts)
    write_eval_log(log, str(path))
    return path


# -- 1. eval log bombs -----------------------------------------------------------------------------


def rewrite_members(log: Path, dest: Path, fields: dict[str, tuple[str, bytes, bytes, int, bytes]],
                    method: int = ZSTD) -> Path:  # fmt: skip
    """``log`` with, in each named sample member, one field written as ``head + unit * count + tail``."""
    import zipfile_zstd  # noqa: F401 - inspect-ai's dependency: zstd members through zipfile, as inspect-ai writes them

    with zipfile.ZipFile(log) as source, zipfile.ZipFile(dest, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename not in fields:
                out.writestr(info, data)
                continue
            field, head, unit, count, tail = fields[info.filename]
            sample = json.loads(data)
            sample[field] = None
            before, after = json.dumps(sample).encode().split(f'"{field}": null'.encode(), 1)
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = method
            with out.open(target, "w") as member:
                member.write(before + f'"{field}": '.encode() + head)
                for _ in range(count):
                    member.write(unit)
                member.write(tail + after)
    return dest


def padded(size: int) -> tuple[str, bytes, bytes, int, bytes]:
    """A sample's metadata holding ``size`` bytes (rounded down to MiB) of strings of spaces, a MiB each."""
    return "metadata", b'{"pad": ["', b" " * (MiB - 4) + b'", "', size // MiB, b'"]}'


def inflate_members(log: Path, dest: Path, sizes: dict[str, int], method: int = ZSTD) -> Path:
    """``log`` with each named sample member inflating to more than ``size`` bytes."""
    return rewrite_members(log, dest, {name: padded(size) for name, size in sizes.items()}, method)


def objects(field: str, count: int, head: bytes = b"[") -> tuple[str, bytes, bytes, int, bytes]:
    """A sample field holding an array of ``count`` empty objects (3 bytes of JSON, ~70 bytes of Python each)."""
    block = 100_000
    return field, head, b"{}," * block, count // block, b"{}]"


def state_size(path: Path, member: str, size: int) -> None:
    """Forge the uncompressed size the central directory and the local header state for ``member``."""
    data = bytearray(path.read_bytes())
    cd_size, cd_offset = struct.unpack_from("<II", data, len(data) - 22 + 12)
    at = cd_offset
    while at < cd_offset + cd_size:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, at + 24, size)
            struct.pack_into("<I", data, struct.unpack_from("<I", data, at + 42)[0] + 22, size)
            path.write_bytes(bytes(data))
            return
        at += 46 + name_len + extra_len + comment_len
    raise AssertionError(member)


CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a regression fails here, not on a shared machine
from tinyrel.evidence.records import read_records
from tinyrel.findings import Report


def peak_kib():
    # Linux carries ru_maxrss across execve (a child reports at least its parent's size at the spawn),
    # so the peak of this process image alone is VmHWM; elsewhere ru_maxrss (bytes on macOS).
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak


report = Report()
read_records(Path(sys.argv[1]), sys.argv[2], report)
print(json.dumps({"findings": [[f.code, f.message, f.path] for f in report.findings], "peak_kib": peak_kib()}))
"""


def read_in_child(root: Path, rel: str) -> tuple[list[list[str]], int]:
    """Findings and peak resident memory (KiB) of reading one records file in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(root), rel], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    return doc["findings"], doc["peak_kib"]


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_log(tmp_path_factory.mktemp("logs") / "real.eval", 5)


@pytest.mark.parametrize("method", [ZSTD, zipfile.ZIP_DEFLATED], ids=["zstd", "deflate"])
def test_a_member_over_the_member_limit_is_refused_before_inspect_reads_it(real_log, tmp_path, method):
    sizes = {"samples/h0_epoch_1.json": MAX_MEMBER_BYTES + MiB}
    bomb = inflate_members(real_log, tmp_path / "bomb.eval", sizes, method)
    assert bomb.stat().st_size < 2 * MiB
    findings, peak = read_in_child(tmp_path, "bomb.eval")
    assert [code for code, _, _ in findings] == ["evals/records-too-large"]
    code, message, path = findings[0]
    assert path == "bomb.eval" and f"{MAX_MEMBER_BYTES:,} bytes" in message and "samples/h0_epoch_1.json" in message
    assert peak < READ_BOUND_KIB, peak


def test_a_directory_understating_a_member_is_caught_at_the_limit_not_at_the_end(real_log, tmp_path):
    bomb = inflate_members(real_log, tmp_path / "forged.eval", {"samples/h1_epoch_1.json": 600 * MiB})
    state_size(bomb, "samples/h1_epoch_1.json", 4096)
    findings, peak = read_in_child(tmp_path, "forged.eval")
    assert [code for code, _, _ in findings] == ["evals/records-too-large"], findings
    assert f"more than {MAX_MEMBER_BYTES:,} bytes" in findings[0][1]
    assert peak < READ_BOUND_KIB, peak


def test_members_each_under_the_limit_are_refused_over_the_log_limit(real_log, tmp_path):
    each = MAX_MEMBER_BYTES - MiB
    count = MAX_LOG_BYTES // each + 1
    sizes = {f"samples/h{i}_epoch_1.json": each for i in range(count)}
    bomb = inflate_members(write_log(tmp_path / "many.eval", count), tmp_path / "total.eval", sizes)
    findings, peak = read_in_child(tmp_path, "total.eval")
    assert [code for code, _, _ in findings] == ["evals/records-too-large"], findings
    assert f"more than {MAX_LOG_BYTES:,} bytes" in findings[0][1] and bomb.stat().st_size < MiB
    assert peak < READ_BOUND_KIB, peak


def test_objects_in_a_field_inspect_builds_are_refused_over_the_value_limit(real_log, tmp_path):
    dense = {"samples/h2_epoch_1.json": objects("input", MAX_LOG_VALUES + 100_000)}  # 60 MB of "{},"
    bomb = rewrite_members(real_log, tmp_path / "objects.eval", dense)
    findings, peak = read_in_child(tmp_path, "objects.eval")
    assert [code for code, _, _ in findings] == ["evals/records-too-large"], findings
    assert f"more than {MAX_LOG_VALUES:,} JSON values" in findings[0][1] and bomb.stat().st_size < MiB
    assert peak < READ_BOUND_KIB, peak


def test_a_nan_that_makes_inspect_load_a_sample_whole_counts_its_transcript(real_log, tmp_path):
    # inspect-ai's streaming parser stops at NaN and inspect-ai then loads the member whole, transcript and all
    dense = {"samples/h0_epoch_1.json": objects("messages", MAX_LOG_VALUES // 3 + 100_000, head=b"[NaN, ")}
    rewrite_members(real_log, tmp_path / "nan.eval", dense)
    findings, peak = read_in_child(tmp_path, "nan.eval")
    assert [code for code, _, _ in findings] == ["evals/records-too-large"], findings
    assert peak < READ_BOUND_KIB, peak


def test_objects_in_a_transcript_are_not_counted_since_they_are_never_built(example):
    dense = {"samples/h4_epoch_1.json": objects("messages", MAX_LOG_VALUES // 3 + 100_000)}
    rewrite_members(write_log(example / "evals" / "raw.eval"), example / "evals" / "dense.eval", dense)
    use_records(example, "dense.eval")
    code, doc = run_json("evals", cwd=example)
    heldout = next(e for e in doc["evals"] if e["id"] == "fileops-heldout")
    assert code == 0 and heldout["tuned"]["n"] == 20, doc["findings"]


def test_a_log_with_more_samples_than_the_limit_is_refused_from_its_directory(real_log, example):
    bomb = example / "evals" / "crowd.eval"
    bomb.write_bytes(real_log.read_bytes())
    with zipfile.ZipFile(bomb, "a") as archive:  # zip64: more members than a plain end record counts
        for i in range(MAX_LOG_SAMPLES):
            archive.writestr(f"samples/x{i}_epoch_1.json", b"")
    use_records(example, "crowd.eval")
    code, doc = run_json("evals", cwd=example)
    found = [f for f in doc["findings"] if f["code"] == "evals/records-too-large"]
    assert code == 1 and found and found[0]["path"] == "evals/crowd.eval"
    assert f"{MAX_LOG_SAMPLES + 5:,} samples, more than the {MAX_LOG_SAMPLES:,}" in found[0]["message"]


@pytest.mark.parametrize("suffix", [".json", ".eval"])
def test_a_log_over_the_file_size_limit_is_refused_unread(example, suffix):
    log = write_log(example / "evals" / f"big{suffix}")
    with log.open("r+b") as handle:  # sparse: a real log followed by a quarter gigabyte of nothing
        handle.truncate(MAX_RECORDS_BYTES + 1)
    use_records(example, f"big{suffix}")
    code, doc = run_json("evals", cwd=example)
    found = [f for f in doc["findings"] if f["code"] == "evals/records-too-large"]
    assert code == 1 and found and f"{MAX_RECORDS_BYTES:,}" in found[0]["message"]


def damaged(log: bytes, how: str) -> bytes:
    data = bytearray(log)
    cd_size, cd_offset = struct.unpack_from("<II", data, len(data) - 22 + 12)
    if how == "truncated":
        return bytes(data[: len(data) // 2])
    if how == "comment":
        return bytes(data[:-2]) + struct.pack("<H", 3) + b"hi!"
    if how == "directory-outside":
        struct.pack_into("<I", data, len(data) - 22 + 16, len(data))
    elif how == "bzip2-member":
        struct.pack_into("<H", data, cd_offset + 10, 12)
    elif how == "garbage-member":
        offset = struct.unpack_from("<I", data, cd_offset + 42)[0]
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        start = offset + 30 + name_len + extra_len
        data[start : start + 8] = b"\xff" * 8
    elif how == "not-utf8-name":
        data[cd_offset + 46] = 0xFF
    elif how == "directory-junk":
        data[cd_offset : cd_offset + 4] = b"XXXX"
    elif how == "directory-short":
        struct.pack_into("<I", data, len(data) - 22 + 12, cd_size - 1)
    return bytes(data)


@pytest.mark.parametrize("how", ["truncated", "comment", "directory-outside", "bzip2-member", "garbage-member",
                                 "not-utf8-name", "directory-junk", "directory-short"])  # fmt: skip
def test_a_damaged_archive_is_a_finding_not_a_traceback(real_log, example, how):
    (example / "evals" / "damaged.eval").write_bytes(damaged(real_log.read_bytes(), how))
    use_records(example, "damaged.eval")
    code, doc = run_json("evals", cwd=example)
    assert code == 1 and "evals/records-unreadable" in codes(doc), doc["findings"]


def test_a_large_but_real_log_reads_with_its_transcripts_skipped(example):
    long = {f"samples/h{i}_epoch_1.json": 100 * MiB for i in (3, 4, 5)}  # more than a .json log may hold
    log = inflate_members(write_log(example / "evals" / "raw.eval"), example / "evals" / "long.eval", long)
    use_records(example, "long.eval")
    code, doc = run_json("evals", cwd=example)
    heldout = next(e for e in doc["evals"] if e["id"] == "fileops-heldout")
    assert code == 0 and heldout["tuned"] == {**heldout["tuned"], "score": 0.95, "n": 20}, doc["findings"]
    assert log.stat().st_size < MiB


# -- 2. partial credit -----------------------------------------------------------------------------


def test_every_fall_in_score_is_a_regression_not_only_a_crossing_of_the_pass_mark():
    stock = {"a": 1.0, "b": 0.4, "c": 0.5, "d": 0.2, "e": 0.9, "f": 1.0}
    tuned = {"a": 0.5, "b": 0.2, "c": 0.5, "d": 0.3, "e": 0.6, "f": 0.0}
    result = paired(stock, tuned)
    assert (result.n, result.regressed, result.improved) == (6, 4, 1)  # c ties; a and e never cross 0.5 downwards
    assert result.p_value == pytest.approx(mcnemar_exact(4, 1)) == pytest.approx(0.375)
    flips = paired({"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}, {"a": 0.0, "b": 1.0, "c": 1.0, "d": 0.0})
    assert (flips.regressed, flips.improved) == (1, 1)  # pass/fail: McNemar's discordant pairs, as before


def test_partial_credit_halved_on_every_item_is_a_regression_of_every_item(example):
    for side, score in (("stock", 1.0), ("tuned", 0.5)):
        lines = [json.dumps({"id": f"breadth-{i:04d}", "score": score}) for i in range(1, 1001)]
        (example / "evals" / f"breadth.{side}.jsonl").write_text("\n".join(lines) + "\n")
    edit(spec_path(example), "stock = 0.596", "stock = 1.0")
    edit(spec_path(example), "tuned = 0.423", "tuned = 0.5")
    code, doc = run_json("evals", "--lock", cwd=example)
    breadth = next(e for e in doc["evals"] if e["id"] == "breadth")
    assert code == 0 and breadth["paired"]["regressed"] == 1000 and breadth["paired"]["improved"] == 0
    assert breadth["paired"]["p_value"] < 0.001
    card = run("card", "--offline", cwd=example).stdout
    assert "−50.0 pts, 1,000 of 1,000 items regressed, 0 improved, p < 0.001" in card
    code, doc = run_json("check", "--offline", cwd=example)
    assert doc["checks"]["negative-transfer-table"] == "pass" and doc["checks"]["eval-evidence"] == "pass"
    edit(example / "templates" / "card.md.j2", "| {{ ev[e.id].paired }} |", "| −50.0 pts, 0 of 1,000 items regressed |")
    code, doc = run_json("check", "--offline", cwd=example)
    assert any("1,000 of 1,000 items regressed" in f["message"] for f in doc["findings"]), doc["findings"]


# -- 3. incomplete inspect-ai logs -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".eval", ".json"])
@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"status": "cancelled", "planned": 200}, ["status is 'cancelled'", "holds 20 of the 200 samples"]),
        ({"status": "error"}, ["status is 'error'"]),
        ({"status": "started"}, ["status is 'started'"]),
        ({"results": (200, 20)}, ["holds 20 of the 200 samples"]),
        ({"planned": 200}, ["holds 20 of the 200 samples"]),
        ({"planned": 200, "limit": 30}, ["holds 20 of the 30 samples"]),
        ({"epochs": 3, "epochs_held": 2}, ["holds 40 of the 60 samples"]),
        ({"errored": 2}, ["2 of its samples ended in an error (e.g. 'h0')"]),
        ({"results": (20, 17)}, ["17 of 20 samples completed without an error"]),
        ({"invalidated": True}, ["invalidated"]),
    ],
)
def test_an_incomplete_log_is_not_evidence(example, suffix, kwargs, says):
    write_log(example / "evals" / f"part{suffix}", **kwargs)
    use_records(example, f"part{suffix}")
    code, doc = run_json("evals", cwd=example)
    found = [f for f in doc["findings"] if f["code"] == "evals/records-incomplete"]
    assert code == 1 and len(found) == 1 and found[0]["path"] == f"evals/part{suffix}", doc["findings"]
    assert all(said in found[0]["message"] for said in says), found[0]["message"]
    heldout = next(e for e in doc["evals"] if e["id"] == "fileops-heldout")
    assert heldout["tuned"] is None


@pytest.mark.parametrize("kwargs", [{"planned": 200, "limit": 20}, {"epochs": 2}, {"results": (20, 20)}])
def test_a_complete_log_of_a_planned_subset_or_several_epochs_is_evidence(example, kwargs):
    write_log(example / "evals" / "whole.eval", **kwargs)
    use_records(example, "whole.eval")
    code, doc = run_json("evals", cwd=example)
    assert "evals/records-incomplete" not in codes(doc), doc["findings"]
    heldout = next(e for e in doc["evals"] if e["id"] == "fileops-heldout")
    assert heldout["tuned"]["n"] == 20 * kwargs.get("epochs", 1)


# -- 4. duplicate keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('{"id": "q1", "passed": false, "passed": true}', "'passed'"),
        ('{"id": "q1", "id": "q2", "passed": true}', "'id'"),
        ('{"id": "q1", "passed": true, "detail": {"judge": "a", "judge": "b"}}', "'judge'"),
        ('{"id": "q1", "passed": true, "runs": [{"ok": 1}, {"ok": 1, "ok": 0}]}', "'ok'"),
    ],
)
def test_a_key_named_twice_in_a_record_is_refused_with_its_line(example, line, key):
    (example / "evals" / "dup.jsonl").write_text('{"id": "q0", "passed": true}\n' + line + "\n")
    use_records(example, "dup.jsonl")
    code, doc = run_json("evals", cwd=example)
    found = [f for f in doc["findings"] if f["code"] == "evals/records-invalid"]
    assert code == 1 and len(found) == 1 and found[0]["line"] == 2 and found[0]["path"] == "evals/dup.jsonl"
    assert f"key {key} appears twice" in found[0]["message"]


def test_a_jsonl_file_over_the_size_limit_is_records_too_large(example):
    records = example / "evals" / "huge.jsonl"
    records.write_text('{"id": "q0", "passed": true}\n')
    with records.open("r+b") as handle:
        handle.truncate(MAX_RECORDS_BYTES + 1)
    use_records(example, "huge.jsonl")
    code, doc = run_json("evals", cwd=example)
    assert code == 1 and "evals/records-too-large" in codes(doc)
