"""`sparsegate app`: lays the detection app (examples/detection) out as a folder any static
server can host: the page, the JS package in `sparsegate/`, its models in `models/` (BlazeFace
front-128 and back-256, YOLOv8n, converted from the zoo, plus a gated BlazeFace made by
`compress --gate`), photos in `samples/`, and
`app.json` listing them. Nothing in it needs Python at run time."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .. import zoo
from ..errors import SparsegateError
from ..vision.images import sample_images, save_image

ROOT = Path(__file__).resolve().parents[3]  # the checkout: pytools/sparsegate/tools/app.py
APP = ROOT / "examples/detection"
PACKAGE = ROOT / "web/src"
PAGE_FILES = ("index.html", "app.js", "app.css")
# The browser's part of the package (node.js, node/ and the CommonJS worker serve Node only).
NODE_ONLY = {"node.js", "node", "sparsegate-mt.worker.cjs"}
RUNTIME_FILES = ("sparsegate.wasm", "sparsegate-mt.mjs", "sparsegate-mt.wasm", "sparsegate-mt.worker.js")
SAMPLES = ("astronaut", "camera", "coffee", "chelsea")
MARKER = ".sparsegate-app"  # a folder holding it was made here and may be rebuilt
GATE_BUDGET = 0.3


def _models() -> list[dict]:
    face, back = zoo.info("blazeface"), zoo.info("blazeface_back")
    yolo = zoo.info("yolov8n")
    return [
        {"id": "blazeface", "file": "models/blazeface.sgm", "label": "BlazeFace front-128 (faces)",
         "about": face["description"] + f" ({face['source']}, {face['license']})."},
        {"id": "blazeface-gated", "file": "models/blazeface-gated.sgm",
         "label": "BlazeFace front-128, gated (faces)",
         "about": f"The same BlazeFace with gates calibrated by `sparsegate compress --gate {GATE_BUDGET}` on "
                  f"the bundled photos: the gate slider skips channels that barely contribute."},
        {"id": "blazeface_back", "file": "models/blazeface_back.sgm", "label": "BlazeFace back-256 (smaller, farther faces)",
         "about": back["description"] + f" ({back['source']}, {back['license']})."},
        {"id": "yolov8n", "file": "models/yolov8n.sgm",
         "label": "YOLOv8n, NudeNet's 18 body-part classes (not a general detector)",
         "about": yolo["description"] + f" ({yolo['source']}, {yolo['license']}). It finds the 18 body-part "
                  f"classes it was trained on, not everyday objects."},
    ]


def _check_sources() -> None:
    missing = [str(p.relative_to(ROOT)) for p in [APP / f for f in PAGE_FILES] + [PACKAGE / "index.js"]
               + [PACKAGE / f for f in RUNTIME_FILES] if not p.is_file()]
    if missing:
        raise SparsegateError(f"sparsegate app builds from a repository checkout; {ROOT} lacks "
                              f"{', '.join(missing)} (clone the repository and run `make wasm wasm-mt` there)")


def _prepare_folder(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SparsegateError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SparsegateError(f"{out} is not empty and was not made by `sparsegate app`; "
                              f"pick an empty or new folder (nothing in it was changed)")
    if out.is_dir() and (out / MARKER).is_file() and not force:
        raise SparsegateError(f"{out} holds an earlier build; pass --force to rebuild it")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `sparsegate app`; rebuilt by `sparsegate app --force`\n")


def _copy_package(out: Path) -> None:
    dest = out / "sparsegate"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(PACKAGE, dest, ignore=lambda folder, names: [n for n in names if n in NODE_ONLY
                                                                 and Path(folder) == PACKAGE])


def _converted(name: str, progress) -> Path:
    """The zoo model as .sgm, converted once into the zoo cache."""
    from ..compression.conversion import convert  # onnx: the [convert] extra
    out = zoo.cache_dir() / f"{name}.sgm"
    src = zoo.fetch(name)
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        progress(f"converting {name}")
        convert(src, out, metadata=zoo.info(name))
    return out


def _gated_blazeface(samples: Path, progress) -> Path:
    """BlazeFace with gates calibrated on the bundled photos, made once into the zoo cache."""
    from ..compression.driver import compress  # onnx, Pillow, tqdm: the [convert] extra
    out = zoo.cache_dir() / f"blazeface-gated-{GATE_BUDGET}.sgm"
    src = zoo.fetch("blazeface")
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        progress(f"calibrating gates for BlazeFace on {len(SAMPLES)} photos (compress --gate {GATE_BUDGET})")
        compress(src, out, gate=GATE_BUDGET, calib=str(samples), metadata=zoo.info("blazeface"),
                 progress=False)
    return out


def build_app(out, force: bool = False, progress=print) -> Path:
    """Writes the app into `out` (a new or empty folder, or an earlier build with `force`)."""
    _check_sources()
    out = Path(out)
    _prepare_folder(out, force)
    for name in PAGE_FILES:
        shutil.copy2(APP / name, out / name)
    _copy_package(out)
    samples = out / "samples"
    samples.mkdir(exist_ok=True)
    photos = sample_images()
    for name in SAMPLES:
        save_image(photos[name], samples / f"{name}.png")
    (out / "models").mkdir(exist_ok=True)
    made = {name: _converted(name, progress) for name in ("blazeface", "blazeface_back", "yolov8n")}
    made["blazeface-gated"] = _gated_blazeface(samples, progress)
    models = _models()
    for m in models:
        shutil.copy2(made[m["id"]], out / m["file"])
    (out / "app.json").write_text(json.dumps({"models": models, "samples": list(SAMPLES)}, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    progress(f"wrote {out} ({size / 2**20:.1f} MiB): serve it with any static server, "
             f"or `sparsegate serve {out}` (adds the headers threads need)")
    return out
