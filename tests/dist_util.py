"""Builds the wheel as `make dist` does (`pip wheel --no-deps --no-build-isolation`), away from
the checkout: from `git archive HEAD` (what a release is made of; the wheel build makes the
runtime) or from the working tree (the code under test, with the runtime already built)."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = Path("pytools/sparsegate/runtime/sparsegate.wasm")


def tree_from_head(dest: Path) -> Path:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest)
    return dest


def tree_from_worktree(dest: Path) -> Path:
    """The files git tracks or would track, as they are now, plus the built runtime."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    if (ROOT / RUNTIME).exists():
        shutil.copy2(ROOT / RUNTIME, dest / RUNTIME)
    return dest


def build_wheel(src: Path, out: Path) -> Path:
    """The one sparsegate wheel built from the tree `src` into `out`."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(out), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = out.glob("sparsegate-*.whl")
    return whl
