"""What an exporter wrote into the ONNX file's metadata, as `.sgm` META (docs/format.md).

Ultralytics detection exports (YOLOv8, YOLO11, … `model.export(format="onnx")`) carry their
class names, input size and task in `metadata_props`; from those a converted detector gets
`labels`, `preprocess` (Ultralytics' letterbox: RGB, /255, gray 114 borders) and `postprocess`
(kind "yolov8": one output 1 x (4 + classes) x N, cx cy w h, sigmoid scores), so the JS and
Python detection helpers decode it with no hand-written metadata. Anything unexpected in the
(untrusted) strings means no metadata, never an error: conversion does not depend on it."""
from __future__ import annotations

import ast

import onnx

MAX_PROP = 1 << 20  # characters of one property parsed (names of a few thousand classes)


def _literal(text: str | None):
    if text is None or len(text) > MAX_PROP:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _labels(names) -> list[str] | None:
    """{0: 'person', 1: 'bicycle', …} (or a list) -> labels in class order, if complete."""
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    if not isinstance(names, dict) or sorted(names) != list(range(len(names))):
        return None
    labels = [names[i] for i in range(len(names))]
    return labels if all(isinstance(n, str) for n in labels) else None


def ultralytics_metadata(model: onnx.ModelProto, output_shapes: list[tuple]) -> dict:
    """META for an Ultralytics detect export with one raw (no NMS) output; {} otherwise."""
    props = {p.key: p.value for p in model.metadata_props}
    if props.get("author") != "Ultralytics" or props.get("task") != "detect" \
            or props.get("end2end") == "True" or len(output_shapes) != 1:
        return {}
    labels, size = _labels(_literal(props.get("names"))), _literal(props.get("imgsz"))
    shape = output_shapes[0]
    if labels is None or len(shape) != 3 or shape[1] != 4 + len(labels):
        return {}
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        return {}
    return {
        "task": "detection",
        "description": props.get("description", "Ultralytics detector")[:200].strip(),
        "license": props.get("license", "")[:200],
        "labels": labels,
        "preprocess": {"layout": "NCHW", "size": size, "color": "RGB", "scale": 1 / 255,
                       "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
                       "resize": "letterbox", "pad_value": 114},
        "postprocess": {"kind": "yolov8", "num_classes": len(labels), "box_format": "cxcywh",
                        "scores_activated": True, "score_threshold": 0.25, "iou_threshold": 0.45,
                        "max_detections": 300},
    }
