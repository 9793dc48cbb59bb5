"""Writes the fuzzer's seed corpus and the real models of the sanitizer suite (fuzz/README.md).

    python3 fuzz/make_seeds.py SEEDS_DIR MODELS_DIR [--max-len N]

SEEDS_DIR: a one-node model of every op in wasm/src/ops/registry.h (each row of the op table
in tests/test_ops.py, valid cases and refused ones), the fixtures of tests/fixtures, and every
real model of at most N bytes (libFuzzer's -max_len; a longer seed would be cut). MODELS_DIR:
the real models over N bytes, for the sanitizer suite only. Real models are the zoo models
whose ONNX file is already in the cache (nothing is downloaded), converted once.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_ops  # noqa: E402  the op table: every op, many shapes
from test_hardening import registry_ops  # noqa: E402

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.errors import SparsegateError  # noqa: E402
from sparsegate.format import model_bytes  # noqa: E402


def op_seeds(out: Path) -> set[str]:
    """Writes one file per op-table row; returns the ops covered."""
    ops = set()
    rows = [(c, "ok") for c in test_ops.CASES] + [(c, "bad") for c, _ in test_ops.ERRORS]
    for c, tag in rows:
        try:
            graph, _ = test_ops.build(c)
            blob = model_bytes(graph)
        except (SparsegateError, ValueError, TypeError):
            continue  # rows the writer itself refuses (they test the reader's side)
        (out / f"op-{tag}-{test_ops.case_id(c)}.sgm".replace("/", "_")).write_bytes(blob)
        ops.add(c.op)
    return ops


def real_models() -> list[Path]:
    """Zoo models converted from ONNX files already cached (so nothing is downloaded)."""
    done = []
    cache = ROOT / "build" / "native" / "converted"
    cache.mkdir(parents=True, exist_ok=True)
    for name in zoo.names():
        if not any((zoo.cache_dir() / "zoo" / name).glob("*.onnx")):
            continue
        src, dest = zoo.fetch(name), cache / f"{name}.sgm"
        if not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime:
            sparsegate.convert(src, dest, metadata=zoo.info(name))
        done.append(dest)
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", type=Path)
    ap.add_argument("models", type=Path)
    ap.add_argument("--max-len", type=int, default=1 << 20)
    args = ap.parse_args()
    for d in (args.seeds, args.models):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    covered = op_seeds(args.seeds)
    missing = set(registry_ops()) - covered
    if missing:
        sys.exit(f"make_seeds: no seed for ops {sorted(missing)}: add rows to tests/test_ops.py")
    for f in sorted((ROOT / "tests" / "fixtures").glob("*.sgm")):
        shutil.copy(f, args.seeds / f"fixture-{f.name}")
    models = real_models()
    for m in models:
        small = m.stat().st_size <= args.max_len
        shutil.copy(m, (args.seeds / f"model-{m.name}") if small else (args.models / m.name))
    print(f"make_seeds: {len(list(args.seeds.iterdir()))} seeds ({len(covered)} ops), "
          f"real models: {', '.join(m.stem for m in models) or 'none cached'}")


if __name__ == "__main__":
    main()
