// Detector and classifier outputs → results, as pytools/sparsegate/vision/detect.py `decode`
// and `sparsegate run` compute them: same structure, same order, float32 where Python's
// arrays are float32 (so that thresholds cut at the same boxes).

import { SparsegateError } from "../errors.js";
import { describe } from "../tensor.js";
import { byScore, nms, weightedNms } from "./boxes.js";
import { toOriginal } from "./images.js";

const f32 = Math.fround;
const fail = (message) => new SparsegateError(message, "input");

/** {data: Float32Array, dims} of one output ({data, dims} or a Tensor). */
function readOutput(o, what) {
  const data = o?.data;
  if (!ArrayBuffer.isView(data) && !Array.isArray(data)) {
    throw fail(`${what}: expected {data, dims}, got ${describe(o)}`);
  }
  const dims = o.dims === undefined ? [data.length] : Array.from(o.dims, Number);
  return { data: data instanceof Float32Array ? data : Float32Array.from(data, Number), dims };
}

function firstOutput(outputs, caller) {
  const entries = Object.entries(outputs ?? {});
  if (!entries.length) throw fail(`${caller}: no outputs given`);
  return readOutput(entries[0][1], `${caller}: output "${entries[0][0]}"`);
}

/** Input pixels → source pixels, clipped to the image (Python's `_finish_box`). */
function finishBox(box, t) {
  if (!t) return Array.from(box);
  return toOriginal(t, box).map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? t.width : t.height));
}

function decodeYolov8(out, t, labels, scoreThreshold, iouThreshold, maxDetections) {
  let dims = out.dims;
  if (dims.length === 3) {
    if (dims[0] !== 1) throw fail(`YOLOv8 output batch ${dims[0]}: decode one image at a time`);
    dims = dims.slice(1);
  }
  if (dims.length !== 2 || dims[0] < 5) {
    throw fail(`YOLOv8 output shape [${out.dims.join(", ")}]; expected 1 x (4 + classes) x N`);
  }
  const [rows, n] = dims, d = out.data, thr = f32(scoreThreshold);
  const cls = [], scores = [], boxes = [];
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let k = 1; k < rows - 4; k++) if (d[(4 + k) * n + i] > d[(4 + c) * n + i]) c = k;
    const score = d[(4 + c) * n + i];
    if (!(score >= thr)) continue;
    const cx = d[i], cy = d[n + i], w = d[2 * n + i], h = d[3 * n + i];
    boxes.push(f32(cx - w / 2), f32(cy - h / 2), f32(cx + w / 2), f32(cy + h / 2));
    cls.push(c);
    scores.push(score);
  }
  // Per-class NMS in one pass, as Python: each class's boxes shifted far from the others.
  const span = f32(2 * boxes.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1);
  const shifted = Float32Array.from(boxes, (v, j) => f32(v + f32(cls[j >> 2] * span)));
  return nms(shifted, scores, iouThreshold, maxDetections).map((i) => ({
    box: finishBox(boxes.slice(4 * i, 4 * i + 4), t), score: scores[i], class: cls[i],
    label: labels && cls[i] < labels.length ? labels[cls[i]] : String(cls[i]),
  }));
}

/** MediaPipe's SSD anchor centres for BlazeFace (front model: 896), flat [cx, cy, ...] in 0..1;
 * Python's `blazeface_anchors()` with its defaults, used when the metadata lists none. */
function blazefaceAnchors(inputSize = 128, strides = [8, 16, 16, 16], offset = 0.5) {
  const anchors = [];
  for (let i = 0; i < strides.length;) {
    let j = i;
    while (j < strides.length && strides[j] === strides[i]) j++;
    const cells = Math.ceil(inputSize / strides[i]);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let a = 0; a < 2 * (j - i); a++) anchors.push((x + offset) / cells, (y + offset) / cells);
      }
    }
    i = j;
  }
  return Float32Array.from(anchors);
}

/** Regressors (N x 16) and logits (N) from the outputs named in the metadata, in its order;
 * failing that, from every output by its last dim, in the given order (as Python). */
function blazefaceTensors(outputs, post) {
  const names = [...(post.scores ?? []), ...(post.regressors ?? [])];
  const missing = names.filter((nm) => !(nm in outputs));
  const list = names.length && !missing.length ? names.map((nm) => [nm, outputs[nm]]) : Object.entries(outputs);
  const arrays = list.map(([nm, o]) => readOutput(o, `decodeDetections: output "${nm}"`));
  const concat = (last) => {
    const parts = arrays.filter((a) => a.dims.at(-1) === last).map((a) => a.data);
    if (!parts.length) return null;
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const regs = concat(16), logits = concat(1);
  const why = missing.length ? `; missing outputs ${missing.map((nm) => `"${nm}"`).join(", ")}` : "";
  if (!regs || !logits) {
    throw fail("BlazeFace outputs: expected regressors (..., 16) and scores (..., 1), got "
      + (arrays.map((a) => `[${a.dims.join(", ")}]`).join(", ") || "none") + why);
  }
  return { regs, logits, why };
}

function decodeBlazeface(outputs, post, t, opts) {
  const { regs, logits, why } = blazefaceTensors(outputs, post);
  const anchors = post.anchors ? Float32Array.from(post.anchors.flat(), Number) : blazefaceAnchors();
  const count = anchors.length / 2;
  if (regs.length / 16 !== count || logits.length !== count) {
    throw fail(`BlazeFace outputs hold ${regs.length / 16} boxes and ${logits.length} scores `
      + `for ${count} anchors${why}`);
  }
  const clip = f32(post.score_clip ?? 100), boxScale = f32(post.box_scale ?? 128);
  const [inH, inW] = (post.input_size ?? [128, 128]).map((v) => f32(v));
  const thr = f32(opts.scoreThreshold ?? post.score_threshold ?? 0.75);
  const scores = [], boxes = [], kps = [];
  for (let i = 0; i < count; i++) {
    // Sigmoid in float64: logits are clipped to +-100 and exp(100) overflows float32.
    const score = f32(1 / (1 + Math.exp(-Math.min(Math.max(logits[i], -clip), clip))));
    if (!(score >= thr)) continue;
    const rel = (k) => f32(regs[16 * i + k] / boxScale);
    const ax = anchors[2 * i], ay = anchors[2 * i + 1];
    const cx = f32(ax + rel(0)), cy = f32(ay + rel(1)), w = rel(2), h = rel(3);
    boxes.push(f32(f32(cx - w / 2) * inW), f32(f32(cy - h / 2) * inH),
               f32(f32(cx + w / 2) * inW), f32(f32(cy + h / 2) * inH));
    for (let k = 4; k < 16; k += 2) kps.push(f32(f32(ax + rel(k)) * inW), f32(f32(ay + rel(k + 1)) * inH));
    scores.push(score);
  }
  const iouThreshold = opts.iouThreshold ?? post.iou_threshold ?? 0.3;
  const boxArray = Float32Array.from(boxes);
  const clusters = (post.nms ?? "weighted") === "weighted"
    ? weightedNms(boxArray, scores, iouThreshold, kps, 12)
    : nms(boxArray, scores, iouThreshold).map((i) => (
      { score: scores[i], box: boxes.slice(4 * i, 4 * i + 4), extra: kps.slice(12 * i, 12 * i + 12) }));
  return clusters.slice(0, opts.maxDetections ?? Infinity).map(({ score, box, extra }) => {
    const kp = t ? toOriginal(t, extra) : extra;
    return { box: finishBox(box, t), score, class: 0, label: "face",
             keypoints: Array.from({ length: 6 }, (_, k) => [kp[2 * k], kp[2 * k + 1]]) };
  });
}

/**
 * Decodes a detector's outputs with its metadata's `postprocess`, as Python's
 * `sparsegate.vision.detect.decode`: YOLOv8 heads (per-class NMS) and BlazeFace (anchors,
 * MediaPipe's weighted suppression, 6 keypoints).
 *
 * @param {{metadata: object}} session a Session (its `metadata.postprocess` and `labels`)
 * @param {Object<string, {data: ArrayLike<number>, dims: number[]}>} outputs what `run` returned
 * @param {{scaleX: number, scaleY: number, offsetX: number, offsetY: number, width: number, height: number}} [transform]
 *   from `imageToTensor`: boxes come back in source pixels, clipped to the image; without
 *   it, in model-input pixels
 * @param {{scoreThreshold?: number, iouThreshold?: number, maxDetections?: number}} [options]
 *   override the metadata's `score_threshold`, `iou_threshold`, `max_detections` (BlazeFace:
 *   no limit unless given)
 * @returns {{box: number[], score: number, class: number, label: string, keypoints?: number[][]}[]}
 *   best first; `box` is [x1, y1, x2, y2]
 * @throws {SparsegateError} code "input": an unknown `postprocess.kind`, outputs missing or
 *   of the wrong shape
 */
export function decodeDetections(session, outputs, transform, { scoreThreshold, iouThreshold, maxDetections } = {}) {
  const meta = session?.metadata ?? {};
  const post = meta.postprocess ?? {};
  if (post.kind === "yolov8") {
    return decodeYolov8(firstOutput(outputs, "decodeDetections"), transform, meta.labels,
      scoreThreshold ?? post.score_threshold ?? 0.25, iouThreshold ?? post.iou_threshold ?? 0.45,
      maxDetections ?? post.max_detections ?? 100);
  }
  if (post.kind === "blazeface") {
    if (!outputs || !Object.keys(outputs).length) throw fail("decodeDetections: no outputs given");
    return decodeBlazeface(outputs, post, transform, { scoreThreshold, iouThreshold, maxDetections });
  }
  throw fail(`decodeDetections: no detection decoder for postprocess kind ${JSON.stringify(post.kind ?? null)}; `
    + "known: yolov8, blazeface");
}

/**
 * The `k` likeliest classes of a classifier, as `sparsegate run` prints them: softmax (in
 * float64) over the first output, labels from the metadata (else the index as text).
 *
 * @param {{metadata: object}} session a Session
 * @param {Object<string, {data: ArrayLike<number>}>} outputs what `run` returned
 * @param {number} [k=5]
 * @returns {{index: number, label: string, score: number}[]} best first; `score` is the probability
 * @throws {SparsegateError} code "input" when no outputs are given
 */
export function topK(session, outputs, k = 5) {
  const logits = firstOutput(outputs, "topK").data;
  const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((s, v) => s + v, 0);
  const probs = exps.map((v) => v / sum);
  const labels = session?.metadata?.labels;
  return byScore(probs).slice(0, k).map((index) => (
    { index, label: labels?.[index] ?? String(index), score: probs[index] }));
}
