"""The wheel carries the runtime: building it without `sparsegate.wasm` builds the runtime first
(`make wasm`, with Debian's emscripten) or fails, naming what is missing. Everything else is in
pyproject.toml."""
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
WASM = HERE / "pytools" / "sparsegate" / "runtime" / "sparsegate.wasm"


class BuildPyWithRuntime(build_py):
    def run(self):
        if not WASM.exists():
            if shutil.which("emcc") and shutil.which("make") and (HERE / "Makefile").exists():
                subprocess.run(["make", "--no-print-directory", "wasm"], cwd=HERE, check=True)
            if not WASM.exists():
                raise SystemExit(f"sparsegate: {WASM.relative_to(HERE)} is missing and cannot be built "
                                 "here (needs make and emcc: apt-get install emscripten); run `make wasm` "
                                 "before building the wheel")
        super().run()


setup(cmdclass={"build_py": BuildPyWithRuntime})
