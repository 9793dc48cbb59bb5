"""The native runtime under AddressSanitizer + UBSan (fuzz/README.md): `make sanitize` runs the
fixtures, the committed regression inputs, a one-node model of every op and the cached real
models; `make fuzz` a bounded libFuzzer run over load -> create -> run. Any sanitizer report,
crash, leak or timeout fails. scripts/setup.sh installs clang, so a missing one is a failure."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "ERROR: libFuzzer")


def make(*args: str, timeout: int) -> str:
    if not shutil.which("clang++"):
        pytest.fail("clang++ is missing: run scripts/setup.sh (it installs clang, libclang-rt-dev, libsimde-dev)")
    run = subprocess.run(["make", "--no-print-directory", f"-j{os.cpu_count() or 1}", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and not any(r in out for r in REPORTS), out[-6000:]
    return out


def test_sanitizer_suite_is_clean():
    out = make("sanitize", timeout=150)
    assert "no sanitizer report" in out
    files = int(out.split("sanitize: ")[-1].split(" files")[0])
    assert files >= 250, out[-2000:]  # seeds of every op, fixtures, regressions


def test_bounded_fuzz_run_finds_nothing():
    crashes = ROOT / "build/native/crashes"
    before = set(crashes.iterdir()) if crashes.is_dir() else set()
    out = make("fuzz", "FUZZ_SECONDS=60", timeout=150)
    assert "Done " in out and "stat::number_of_executed_units" in out
    assert set(crashes.iterdir()) == before, "libFuzzer wrote a crash input: see build/native/crashes"
