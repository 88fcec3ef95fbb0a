"""Every framing rule: a malformed file exits 1 with the rule's error code and no traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from support.fixtures import write_safetensors
from support.helpers import codes, run_json


def read_parts(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def rewrite(path: Path, mutate) -> None:
    header, data = read_parts(path)
    result = mutate(header, data)
    header, data = result if isinstance(result, tuple) else (header, data)
    write_safetensors(path, header, data)


def first_tensor(header: dict) -> str:
    return min((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


def last_tensor(header: dict) -> str:
    return max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][1])


def _set(header, name, key, value):
    header[name][key] = value


CASES = {
    "safetensors/unknown-dtype": lambda h, d: _set(h, first_tensor(h), "dtype", "Q7"),
    "safetensors/bad-shape": lambda h, d: _set(h, first_tensor(h), "shape", [-1, 4]),
    "safetensors/bad-offsets": lambda h, d: _set(h, first_tensor(h), "data_offsets", [10, 2]),
    "safetensors/size-mismatch": lambda h, d: _set(h, first_tensor(h), "shape", [1]),
    "safetensors/bad-metadata": lambda h, d: h.__setitem__("__metadata__", {"format": 3}),
    "safetensors/trailing-bytes": lambda h, d: (h, d + b"\0\0"),
    "safetensors/offsets-out-of-bounds": lambda h, d: (h, d[:-2]),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_header_rule(model_dir, code):
    model = model_dir("bf16")
    rewrite(model / "model.safetensors", CASES[code])
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1
    assert code in codes(doc)


def test_hole_and_overlap(model_dir):
    model = model_dir("bf16")
    path = model / "model.safetensors"
    header, data = read_parts(path)
    name = last_tensor(header)
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin + 2, end + 2]
    write_safetensors(path, header, data + b"\0\0")
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and "safetensors/hole" in codes(doc)

    header, data = read_parts(path)
    header[name]["data_offsets"] = [begin - 2, end - 2]
    write_safetensors(path, header, data[:-4])
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and "safetensors/overlap" in codes(doc)


def test_empty_name_and_duplicate_key(model_dir):
    model = model_dir("bf16")
    path = model / "model.safetensors"
    header, data = read_parts(path)
    name = first_tensor(header)
    header[""] = header.pop(name)
    write_safetensors(path, header, data)
    assert "safetensors/empty-name" in codes(run_json("validate", model)[1])

    header, data = read_parts(path)
    text = json.dumps(header)
    entry = json.dumps(header[""])
    dup = text[:-1] + f', "{last_tensor(header)}": {entry}' + "}"
    write_safetensors(path, dup.encode(), data)
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1 and "safetensors/duplicate-key" in codes(doc)


@pytest.mark.parametrize(
    ("raw", "length", "code"),
    [
        (b"", 0, "safetensors/truncated"),
        (b"{}", 200 * 1024 * 1024, "safetensors/header-too-large"),
        (b"{}", 4096, "safetensors/header-out-of-bounds"),
        (b"\xff\xfe{}", None, "safetensors/header-not-utf8"),
        (b"{not json", None, "safetensors/header-not-json"),
        (b"[1, 2]", None, "safetensors/header-not-object"),
    ],
)
def test_broken_prefix(model_dir, raw, length, code):
    model = model_dir("bf16")
    path = model / "model.safetensors"
    if code == "safetensors/truncated":
        path.write_bytes(b"\x01\x02")
    else:
        write_safetensors(path, raw, length=length)
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1
    assert code in codes(doc)


def test_nan_is_named(model_dir):
    model = model_dir("bf16")
    path = model / "model.safetensors"
    header, data = read_parts(path)
    name = "model.layers.1.mlp.down_proj.weight"
    begin = header[name]["data_offsets"][0]
    data = data[: begin + 6] + struct.pack("<H", 0x7FC0) + data[begin + 8 :]
    write_safetensors(path, header, data)
    exit_code, doc = run_json("validate", model)
    assert exit_code == 1
    nonfinite = [f for f in doc["findings"] if f["code"] == "values/nonfinite"]
    assert len(nonfinite) == 1 and name in nonfinite[0]["message"]
    # --quick reads no values, so it cannot see the NaN
    assert run_json("validate", model, "--quick")[0] == 0


def test_negative_infinity_detected(model_dir):
    model = model_dir("bf16")
    path = model / "model.safetensors"
    header, data = read_parts(path)
    begin = header["model.norm.weight"]["data_offsets"][0]
    data = data[:begin] + struct.pack("<H", 0xFF80) + data[begin + 2 :]
    write_safetensors(path, header, data)
    assert "values/nonfinite" in codes(run_json("validate", model)[1])
