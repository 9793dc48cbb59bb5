#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine, then builds the
# runtime. Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v emcc >/dev/null || need_apt+=(emscripten)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
{ command -v clang++ && ls "$(clang++ -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-*.a && [ -e /usr/include/simde/wasm/simd128.h ]; } >/dev/null 2>&1 || need_apt+=(clang libclang-rt-dev libsimde-dev)  # make sanitize, make fuzz
[ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# torch (CPU) exports MobileNetV2 from its published weights; pinned to the wheel on disk.
# ultralytics builds a YOLO11n from its model YAML for the own-detector test (AGPL: tests only).
# The installed sparsegate must be this checkout's (an editable install of another clone would
# test that clone's code).
if ! python3 -c "import sys, sparsegate, onnxruntime, wasmtime, skimage, playwright, torch, matplotlib, ultralytics
sys.exit(not sparsegate.__file__.startswith('$PWD/'))" 2>/dev/null; then
  echo "setup: installing Python packages"
  python3 -m pip install -q --disable-pip-version-check -e ".[test]" "torch==2.13.0" "ultralytics==8.4.190"
fi

# JupyterLite (make lite, tests/test_jupyterlite.py; jupyter-server indexes the notebooks), for Pyodide 314.
python3 -c "import jupyterlite_core, jupyterlite_pyodide_kernel, jupyter_server" 2>/dev/null || python3 -m pip install -q \
  --disable-pip-version-check "jupyterlite-core==0.8.6" "jupyterlite-pyodide-kernel==0.8.6" "jupyter-server==2.21.1"

# npm: Pyodide for the Pyodide host test, esbuild and Vite for the bundler tests, onnxruntime-web
# for the benchmarks (pinned, locked).
for dir in tests/pyodide tests/web_apps web; do
  if [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# Pyodide's npm package ships no wheels: micropip and the JupyterLite kernel's, pinned and hashed.
if ! ls tests/pyodide/wheels/micropip-*.whl tests/pyodide/wheels/ipython-*.whl >/dev/null 2>&1; then
  echo "setup: wheels for Pyodide"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.14 \
    --require-hashes -r tests/pyodide/requirements.txt -d tests/pyodide/wheels
fi

make --no-print-directory wasm wasm-mt
