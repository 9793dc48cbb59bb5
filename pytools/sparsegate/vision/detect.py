"""Decode detector outputs into boxes in original-image pixels. Pure numpy.

    x, t = images.preprocess(photo, meta["preprocess"])
    outs = session.run({"images": x})
    dets = detect.decode(meta, outs, t)   # [{"box": [x1, y1, x2, y2], "score", "class", "label"}, ...]

YOLOv8 (`postprocess.kind == "yolov8"`): one output 1 x (4 + classes) x N; rows cx, cy, w, h in
input pixels, then per-class scores (already sigmoid'ed in Ultralytics' ONNX export).
BlazeFace (`"blazeface"`): MediaPipe's SSD head over 896 fixed anchors; regressors
(896 x 16: box dx, dy, w, h then 6 keypoints dx, dy, in input pixels) and raw logits (896 x 1),
possibly split per feature map as in the Barracuda export (512 + 384).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .images import Transform


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one [x1, y1, x2, y2] box with each row of `boxes`."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int | None = None) -> np.ndarray:
    """Greedy non-maximum suppression; returns the kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and (max_keep is None or len(keep) < max_keep):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
                 extra: np.ndarray | None = None) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    """MediaPipe's WEIGHTED suppression: each cluster of boxes overlapping the best one more
    than `iou_threshold` becomes one detection whose box (and `extra` rows, e.g. keypoints)
    is the score-weighted mean of the cluster; the score stays the best one's.
    Returns (score, box, extra) per cluster, best first."""
    order = np.argsort(-scores, kind="stable")
    result = []
    while order.size:
        overlap = iou_one_to_many(boxes[order[0]], boxes[order])
        cluster, order = order[overlap > iou_threshold], order[overlap <= iou_threshold]
        if cluster.size == 0:  # a degenerate (zero-area) box overlaps nothing, not even itself
            cluster, order = order[:1], order[1:]
        w = scores[cluster] / scores[cluster].sum()
        box = (boxes[cluster] * w[:, None]).sum(0)
        ext = None if extra is None else (extra[cluster] * w[:, None]).sum(0)
        result.append((float(scores[cluster[0]]), box, ext))
    return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # float64: logits are clipped to +-100 and exp(100) overflows float32.
    return (1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))).astype(np.float32)


def _finish_box(box: np.ndarray, transform: Transform | None) -> list[float]:
    """Input pixels → original pixels, clipped to the image."""
    if transform is None:
        return [float(v) for v in box]
    b = transform.to_original(box)
    b[0::2] = np.clip(b[0::2], 0, transform.width)
    b[1::2] = np.clip(b[1::2], 0, transform.height)
    return [float(v) for v in b]


def decode_yolov8(output: np.ndarray, transform: Transform | None = None,
                  labels: Sequence[str] | None = None, score_threshold: float = 0.25,
                  iou_threshold: float = 0.45, max_detections: int = 100,
                  class_agnostic: bool = False) -> list[dict]:
    """Decode a YOLOv8 output (1 x (4 + classes) x N) with per-class NMS (or across classes
    with `class_agnostic`). Boxes are in original pixels when `transform` is given."""
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 3:
        if out.shape[0] != 1:
            raise InputError(f"YOLOv8 output batch {out.shape[0]}: decode one image at a time")
        out = out[0]
    if out.ndim != 2 or out.shape[0] < 5:
        raise InputError(f"YOLOv8 output shape {np.shape(output)}; expected 1 x (4 + classes) x N")
    pred = out.T  # N x (4 + classes)
    scores_all = pred[:, 4:]
    cls = scores_all.argmax(1)
    score = scores_all[np.arange(len(pred)), cls]
    sel = score >= score_threshold
    pred, cls, score = pred[sel], cls[sel], score[sel]
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    # Per-class NMS in one pass: shift each class's boxes far apart so they never overlap.
    shift = 0.0 if class_agnostic else (cls.astype(np.float32) * (np.abs(boxes).max(initial=0) * 2 + 1))
    keep = nms(boxes + np.asarray(shift)[..., None], score, iou_threshold, max_detections)
    dets = []
    for i in keep:
        c = int(cls[i])
        dets.append({"box": _finish_box(boxes[i], transform), "score": float(score[i]), "class": c,
                     "label": labels[c] if labels is not None and c < len(labels) else str(c)})
    return dets


def blazeface_anchors(input_size: int = 128, strides: Sequence[int] = (8, 16, 16, 16),
                      anchor_offset: float = 0.5) -> np.ndarray:
    """MediaPipe's SSD anchors for BlazeFace (front model: 896), as (N, 2) centers in 0..1.

    As in MediaPipe's SsdAnchorsCalculator: consecutive layers with the same stride share one
    feature map; each layer adds 2 anchors per cell (fixed size, so only centers matter).
    Order: feature map, then row, column, anchor."""
    anchors = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        cells = int(np.ceil(input_size / strides[i]))
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + anchor_offset) / cells, (y + anchor_offset) / cells)] * per_cell
        i = j
    return np.asarray(anchors, dtype=np.float32)


def _blazeface_tensors(outputs) -> tuple[np.ndarray, np.ndarray]:
    """Gather (regressors N x 16, logits N) from the model's outputs, in their given order."""
    arrays = list(outputs.values()) if isinstance(outputs, Mapping) else list(outputs)
    regs = [np.asarray(a, np.float32).reshape(-1, 16) for a in arrays if np.shape(a)[-1] == 16]
    logits = [np.asarray(a, np.float32).reshape(-1) for a in arrays if np.shape(a)[-1] == 1]
    if not regs or not logits:
        raise InputError("BlazeFace outputs: expected regressors (..., 16) and scores (..., 1), got "
                         + ", ".join(str(np.shape(a)) for a in arrays))
    return np.concatenate(regs), np.concatenate(logits)


def decode_blazeface(outputs, transform: Transform | None = None, anchors: np.ndarray | None = None,
                     input_size: Sequence[int] = (128, 128), score_threshold: float = 0.75,
                     iou_threshold: float = 0.3, weighted: bool = True, score_clip: float = 100.0,
                     box_scale: float = 128.0) -> list[dict]:
    """Decode BlazeFace outputs (a list or name → array dict, split per feature map or not) into
    faces: {"box", "score", "class": 0, "label": "face", "keypoints": 6 x [x, y]}."""
    regs, logits = _blazeface_tensors(outputs)
    anchors = blazeface_anchors() if anchors is None else np.asarray(anchors, np.float32)
    if len(regs) != len(anchors) or len(logits) != len(anchors):
        raise InputError(f"BlazeFace outputs hold {len(regs)} boxes and {len(logits)} scores "
                         f"for {len(anchors)} anchors")
    scores = _sigmoid(np.clip(logits, -score_clip, score_clip))
    sel = scores >= score_threshold
    regs, scores, anchors = regs[sel], scores[sel], anchors[sel]
    # Offsets are in input pixels (box_scale); anchors are fixed-size (1 x 1) in 0..1 units.
    rel = regs / box_scale
    cx, cy = anchors[:, 0] + rel[:, 0], anchors[:, 1] + rel[:, 1]
    w, h = rel[:, 2], rel[:, 3]
    in_h, in_w = input_size
    boxes = np.stack([(cx - w / 2) * in_w, (cy - h / 2) * in_h, (cx + w / 2) * in_w, (cy + h / 2) * in_h], 1)
    kps = np.empty((len(regs), 12), np.float32)
    kps[:, 0::2] = (anchors[:, :1] + rel[:, 4::2]) * in_w
    kps[:, 1::2] = (anchors[:, 1:] + rel[:, 5::2]) * in_h
    if weighted:
        clusters = weighted_nms(boxes, scores, iou_threshold, kps)
    else:
        clusters = [(float(scores[i]), boxes[i], kps[i]) for i in nms(boxes, scores, iou_threshold)]
    faces = []
    for score, box, kp in clusters:
        kp = kp.reshape(6, 2) if transform is None else transform.to_original(kp.reshape(6, 2))
        faces.append({"box": _finish_box(box, transform), "score": score, "class": 0,
                      "label": "face", "keypoints": kp.astype(float).tolist()})
    return faces


def decode(meta: dict, outputs, transform: Transform | None = None) -> list[dict]:
    """Decode `outputs` (name → array dict, or a list in the model's output order) with the
    parameters in `meta["postprocess"]` (a zoo `info()` or a `.sgm` META); boxes in original
    pixels when `transform` (from `images.preprocess`) is given."""
    post = meta.get("postprocess") or {}
    kind = post.get("kind")
    if kind == "yolov8":
        out = next(iter(outputs.values())) if isinstance(outputs, Mapping) else outputs[0]
        return decode_yolov8(out, transform, meta.get("labels"),
                             post.get("score_threshold", 0.25), post.get("iou_threshold", 0.45),
                             post.get("max_detections", 100))
    if kind == "blazeface":
        if isinstance(outputs, Mapping) and all(n in outputs for n in post.get("scores", []) + post.get("regressors", [])):
            # Named outputs: use the order the metadata gives, not the dict's.
            outputs = [outputs[n] for n in post["scores"] + post["regressors"]]
        return decode_blazeface(outputs, transform, post.get("anchors"),
                                post.get("input_size", (128, 128)), post.get("score_threshold", 0.75),
                                post.get("iou_threshold", 0.3), post.get("nms", "weighted") == "weighted",
                                post.get("score_clip", 100.0), post.get("box_scale", 128.0))
    raise InputError(f"no detection decoder for postprocess kind {kind!r}")
