"""Hostile `.sgm` files through both hosts: each file is loaded and run (on 0.5 everywhere) in
CPython (wasmtime) and in Node (the JS package, tests/js/load_each.mjs), and the table says what
each host answered. Both must refuse the same files with the same kind of error, and nothing
may trap; tests/test_bad_input.py checks that and that docs/bad-inputs.md is this table.

    python3 scripts/bad_inputs.py            # prints the table
    python3 scripts/bad_inputs.py --write    # rewrites docs/bad-inputs.md
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sgm_raw import sgm  # noqa: E402
from mutations import reseal  # noqa: E402
from sparsegate.errors import SparsegateError  # noqa: E402
from sparsegate.format.layout import HEADER, SECTION  # noqa: E402
from sparsegate.runtime import Session  # noqa: E402

DOC = ROOT / "docs/bad-inputs.md"


def _relu(x_dims, meta=None, extra_tensors=(), op="Relu", ins=(0,)):
    tensors = [("x", x_dims, "input"), ("y", x_dims, "act"), *extra_tensors]
    return sgm(tensors, [(op, "n", list(ins), [1], {})], [0], [1], meta=meta)


def _with_header(blob: bytes, **fields) -> bytes:
    magic, major, minor, count, size, crc = HEADER.unpack_from(blob)
    values = dict(magic=magic, major=major, minor=minor, count=count, size=size, crc=crc) | fields
    return HEADER.pack(*values.values()) + blob[HEADER.size:]


def _with_section_size(blob: bytes, index: int, size: int) -> bytes:
    b = bytearray(blob)
    at = HEADER.size + SECTION.size * index
    kind, flags, offset, _, crc, res = SECTION.unpack_from(b, at)
    SECTION.pack_into(b, at, kind, flags, offset, size, crc, res)
    count = struct.unpack_from("<I", b, 12)[0]
    struct.pack_into("<I", b, 24, zlib.crc32(b[HEADER.size:HEADER.size + SECTION.size * count]))
    return bytes(b)


def cases() -> list[tuple[str, str, bytes]]:
    """(file name, what is wrong, bytes)."""
    good = (ROOT / "tests/fixtures/tiny_cnn.sgm").read_bytes()
    flipped = bytearray(good)
    flipped[-100] ^= 0x40
    out = [
        ("empty.sgm", "an empty file", b""),
        ("random-16-bytes.sgm", "16 random bytes", np.random.default_rng(0).bytes(16)),
        ("onnx-model.sgm", "an ONNX file given to the runtime",
         (ROOT / "pytools/sparsegate/zoo/fashion_cnn.onnx").read_bytes()),
        ("bad-magic.sgm", "a valid file with another magic", b"XXXX" + good[4:]),
        ("truncated-half.sgm", "a valid file cut in half", good[:len(good) // 2]),
        ("bit-flip-in-data.sgm", "one bit flipped in the weights (checksums kept)", bytes(flipped)),
        ("bit-flip-resealed.sgm", "one bit flipped in the weights, checksums re-sealed",
         reseal(bytes(flipped))),
        ("future-major-version.sgm", "format version 2.0", _with_header(good, major=2)),
        ("section-past-end.sgm", "a section reaching 4 GiB past the file (table re-sealed)",
         _with_section_size(good, 2, 1 << 32)),
        ("concat-absent-input.sgm", "Concat with an absent (-1) input",
         sgm([("x", [2, 3], "input"), ("y", [4, 3], "act")],
             [("Concat", "c", [0, -1], [1], {"axis": 0})], [0], [1])),
        ("duplicate-outputs.sgm", "two outputs named y",
         sgm([("x", [2], "input"), ("y", [2], "act"), ("y", [2], "act")],
             [("Relu", "r1", [0], [1], {}), ("Relu", "r2", [0], [2], {})], [0], [1, 2])),
        ("duplicate-inputs.sgm", "two inputs named x",
         sgm([("x", [2], "input"), ("x", [2], "input"), ("y", [2], "act")],
             [("Add", "add", [0, 1], [2], {})], [0, 1], [2])),
        ("unknown-op.sgm", "an op this runtime does not have (Det)", _relu([2], op="Det")),
        ("reads-before-written.sgm", "a node reading a tensor no earlier node wrote",
         sgm([("x", [2], "input"), ("a", [2], "act"), ("y", [2], "act")],
             [("Relu", "r1", [1], [2], {}), ("Relu", "r2", [0], [1], {})], [0], [2])),
        ("rank-9.sgm", "a tensor of rank 9", _relu([1] * 9)),
        ("dim-2e40.sgm", "a dimension of 2^40", _relu([1 << 40])),
        ("activation-2gib.sgm", "a Relu over 2^29 floats (2 GiB of activations)", _relu([1 << 29])),
        ("nested-metadata.sgm", "META nested 100,000 levels deep",
         _relu([2], meta=b"[" * 100_000 + b"]" * 100_000)),
        ("metadata-not-json.sgm", "META that is not JSON", _relu([2], meta=b"{inputs: oops")),
    ]
    for path in sorted((ROOT / "fuzz/regressions").glob("*.sgm")):
        out.append((path.name, "fuzz/regressions (fuzz/README.md says what it was)", path.read_bytes()))
    return out


def python_outcome(blob: bytes) -> tuple[str, str]:
    """(code, what CPython answered): the SparsegateError's code, "ok", or "OTHER" (a defect)."""
    try:
        sess = Session(blob)
    except SparsegateError as e:
        return e.code, f"{type(e).__name__} ({e.code}): {e}"
    except Exception as e:  # noqa: BLE001 - anything but a SparsegateError is the defect to find
        return "OTHER", f"{type(e).__name__}: {e}"
    try:
        sess.run({t["name"]: np.full(t["shape"], 0.5, np.float32) for t in sess.inputs})
        return "ok", "ok"
    except SparsegateError as e:
        return e.code, f"run: {type(e).__name__} ({e.code}): {e}"
    except Exception as e:  # noqa: BLE001
        return "OTHER", f"run: {type(e).__name__}: {e}"
    finally:
        sess.close()


def js_code(outcome: str) -> str:
    """The code in a tests/js/load_each.mjs outcome ("ok", "error: [run: ]CODE: …", "OTHER: …")."""
    if outcome == "ok" or outcome.startswith("OTHER"):
        return outcome.split(":")[0]
    return outcome.removeprefix("error: ").removeprefix("run: ").split(":")[0]


def outcomes() -> list[dict]:
    rows = cases()
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, blob in rows:
            (Path(tmp) / name).write_bytes(blob)
        js = json.loads(subprocess.run(["node", str(ROOT / "tests/js/load_each.mjs"), tmp],
                                       capture_output=True, text=True, check=True, timeout=600).stdout)
    results = []
    for name, what, blob in rows:
        code, text = python_outcome(blob)
        results.append({"file": name, "what": what, "python": text, "python_code": code,
                        "js": js[name], "js_code": js_code(js[name])})
    return results


def _cell(text: str, limit: int = 150) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def markdown(results: list[dict]) -> str:
    lines = ["# Hostile model files and what each host answers",
             "",
             "Generated by `python3 scripts/bad_inputs.py --write` (checked by",
             "`tests/test_bad_input.py`): each file is loaded and, if it loads, run on 0.5 everywhere, in",
             "CPython (the error class and its `code`) and in Node (`error: code: message` of the JS",
             "`SparsegateError`): the codes must agree. Messages are",
             "cut at 150 characters; the file names in messages are the hosts' own. Wrong feeds are",
             "tabled in `tests/test_feed_errors.py` and `tests/js/feeds.test.mjs`.",
             "",
             "| file | what is wrong | Python | JS |",
             "|---|---|---|---|"]
    for r in results:
        lines.append(f"| `{r['file']}` | {r['what']} | {_cell(r['python'])} | {_cell(r['js'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = markdown(outcomes())
    if "--write" in argv:
        DOC.write_text(text)
        print(f"wrote {DOC}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
