"""`make lite`: builds examples/jupyterlite/ into an offline JupyterLite site (build/lite/site).

Everything comes from this machine: JupyterLite from its PyPI packages (jupyterlite-core,
jupyterlite-pyodide-kernel), Pyodide from the npm package in tests/pyodide/ (placed where the
kernel addon expects it, static/pyodide/), its lock file pointed at the pure-Python wheels that
scripts/setup.sh downloads (micropip and the kernel's ipython, jedi, ...: tests/pyodide/wheels),
the sparsegate wheel built from this checkout (as `make dist` does) and offered to `%pip install`,
and `disablePyPIFallback`, so that nothing is fetched from anywhere else. The notebooks' data is
made here: the zoo's BlazeFace converted to .sgm, the gated BlazeFace that `sparsegate app` ships
(`compress --gate`, calibrated on its sample photos), scikit-image's astronaut photo, and the
zoo's Fashion-MNIST CNN as fp32, int8, pruned and pruned int8 (`compress`, calibrated on 64
training images) with 200 test images and their labels as .npy files.

    python3 scripts/build_lite.py            # build
    python3 scripts/build_lite.py --serve    # build, then serve it on 127.0.0.1 (COOP/COEP)
    python3 scripts/build_lite.py --add my_model.sgm   # your own files beside the notebooks
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYODIDE = ROOT / "tests" / "pyodide" / "node_modules" / "pyodide"
WHEELS = ROOT / "tests" / "pyodide" / "wheels"
NOTEBOOKS = ROOT / "examples" / "jupyterlite"
KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def build_wheel(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("sparsegate-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True)
    (whl,) = out.glob("sparsegate-*.whl")
    return whl


def stage_pyodide(dest: Path) -> list[str]:
    """Pyodide from npm at `dest`, with the lock file's entries for the downloaded wheels
    pointing at local copies (file name and sha256). Returns the packages it pointed."""
    if not (PYODIDE / "pyodide.mjs").exists():
        sys.exit(f"build_lite: no Pyodide at {PYODIDE}: run scripts/setup.sh")
    wheels = sorted(WHEELS.glob("*.whl"))
    if not any(w.name.startswith("ipython-") for w in wheels):
        sys.exit(f"build_lite: the kernel's wheels are missing from {WHEELS}: run scripts/setup.sh")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in PYODIDE.iterdir():
        if f.is_file() and not f.name.endswith(".map"):
            shutil.copy2(f, dest / f.name)
    lock = json.loads((PYODIDE / "pyodide-lock.json").read_text())
    by_name = {normalize(k): v for k, v in lock["packages"].items()}
    pointed = []
    for w in wheels:
        entry = by_name.get(normalize(w.name.split("-")[0]))
        if entry is None:
            continue  # not a lock package (comm): offered to piplite instead
        shutil.copy2(w, dest / w.name)
        entry["file_name"], entry["sha256"] = w.name, sha256(w)
        pointed.append(entry["name"])
    (dest / "pyodide-lock.json").write_text(json.dumps(lock))
    return pointed


def make_contents(dest: Path, extra: list[Path]) -> None:
    """The notebooks (every file in examples/jupyterlite/) and their data: BlazeFace as .sgm,
    plain and gated (made by `sparsegate app`'s own functions, which cache both in the zoo
    cache), the astronaut photo (PPM for pixels a notebook reads without Pillow, JPEG to show),
    and the user's `extra` files (their own .sgm models) beside them."""
    import numpy as np
    from PIL import Image
    from sparsegate.tools import app
    from sparsegate.vision import images
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in [*sorted(NOTEBOOKS.iterdir()), *extra]:
        if f.is_file():
            shutil.copy2(f, dest / f.name)
    photos = images.sample_images()
    shutil.copy2(app._converted("blazeface", print), dest / "blazeface.sgm")
    with tempfile.TemporaryDirectory() as samples:  # the app's calibration photos, if it must calibrate
        for name in app.SAMPLES:
            images.save_image(photos[name], Path(samples) / f"{name}.png")
        shutil.copy2(app._gated_blazeface(Path(samples), print), dest / "blazeface-gated.sgm")
    photo = np.asarray(photos["astronaut"], np.uint8)
    h, w = photo.shape[:2]
    (dest / "astronaut.ppm").write_bytes(b"P6\n%d %d\n255\n" % (w, h) + photo.tobytes())
    Image.fromarray(photo).save(dest / "astronaut.jpg", quality=85)


# The compress notebook's variants of the zoo's fashion_cnn: file name -> compress() options
# (None: converted, not compressed); calibrated on Fashion-MNIST training images.
FASHION = {"fashion_fp32.sgm": None,
           "fashion_int8.sgm": {"quantize": "int8"},
           "fashion_pruned.sgm": {"prune": 0.2},
           "fashion_pruned_int8.sgm": {"prune": 0.2, "quantize": "int8"}}
FASHION_CALIB, FASHION_TEST = 64, 200


def make_fashion(dest: Path) -> None:
    """The zoo's fashion_cnn converted and compressed by the CPython tooling (FASHION), and the
    first FASHION_TEST Fashion-MNIST test images (the model's float32 inputs, NCHW) with labels."""
    import numpy as np
    import sparsegate as sg
    from sparsegate import zoo
    from sparsegate.zoo import fashion_mnist
    src, info = zoo.fetch("fashion_cnn"), zoo.info("fashion_cnn")
    calib = fashion_mnist.load_inputs("train")[0][:FASHION_CALIB]
    for name, options in FASHION.items():
        if options is None:
            sg.convert(src, dest / name, metadata=info)
        else:
            sg.compress(src, dest / name, calib=calib, metadata=info, progress=False, **options)
    x, y = fashion_mnist.load_inputs("test")
    np.save(dest / "fashion_test_x.npy", x[:FASHION_TEST].astype("<f4"))
    np.save(dest / "fashion_test_y.npy", y[:FASHION_TEST].astype(np.uint8))


def build(out: Path, extra: list[Path] = ()) -> Path:
    start = time.time()
    src, site = out / "src", out / "site"
    whl = build_wheel(out / "wheels")
    pointed = stage_pyodide(src / "static" / "pyodide")
    make_contents(out / "contents", list(extra))
    make_fashion(out / "contents")
    config = {"jupyter-config-data": {
        "exposeAppInBrowser": True,  # lets tests drive the app (window.jupyterapp)
        # binary files reach the kernel as bytes (an unknown extension would be read as text)
        "fileTypes": {"sgm": {"name": "sgm", "extensions": [".sgm"], "fileFormat": "base64",
                              "mimeTypes": ["application/octet-stream"]},
                      "ppm": {"name": "ppm", "extensions": [".ppm"], "fileFormat": "base64",
                              "mimeTypes": ["image/x-portable-pixmap"]},
                      "npy": {"name": "npy", "extensions": [".npy"], "fileFormat": "base64",
                              "mimeTypes": ["application/octet-stream"]}},
        "litePluginSettings": {KERNEL: {"disablePyPIFallback": True,
                                        "pyodideUrl": "./static/pyodide/pyodide.mjs"}}}}
    (src / "jupyter-lite.json").write_text(json.dumps(config, indent=2))
    extra = [w for w in sorted(WHEELS.glob("*.whl")) if not (src / "static" / "pyodide" / w.name).exists()]
    if site.exists():
        shutil.rmtree(site)
    for state in out.glob(".jupyterlite.doit.db*"):  # a fresh build each time: its task cache
        state.unlink()                                # would skip patching a rebuilt site
    # Python's mimetypes calls .sgm text/SGML (and knows no .npy), and the site would then hand
    # the kernel a model decoded as text: the indexer runs with .sgm and .npy as bytes.
    run = ("import mimetypes; mimetypes.add_type('application/octet-stream', '.sgm'); "
           "mimetypes.add_type('application/octet-stream', '.npy'); "
           "from jupyterlite_core.app import main; main()")
    cmd = [sys.executable, "-c", run, "build", "--lite-dir", str(src), "--output-dir", str(site),
           "--contents", str(out / "contents"), "--apps", "lab", "--no-sourcemaps"]
    for w in [whl, *extra]:
        cmd += ["--piplite-wheels", str(w)]
    subprocess.run(cmd, check=True, cwd=out)
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"build_lite: {site} ({size / 1e6:.1f} MB; Pyodide lock pointed at local wheels for "
          f"{len(pointed)} packages; {time.time() - start:.0f} s)")
    return site


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "lite")
    ap.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 after building")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--add", type=Path, action="append", default=[], metavar="FILE",
                    help="a file to put beside the notebooks (a .sgm of your own); repeatable")
    args = ap.parse_args(argv)
    missing = [str(f) for f in args.add if not f.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    site = build(args.out.resolve(), [f.resolve() for f in args.add])
    if args.serve:
        from sparsegate.tools.serve import Server
        server = Server(site, port=args.port)
        print(f"build_lite: serving {server.url}/lab/index.html (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
