// Box overlap and suppression as pytools/sparsegate/vision/detect.py computes them. Python
// holds boxes in float32, so IoU is rounded to float32 at each step here too: a box pair at
// the threshold is then kept or dropped the same way in both.

const f32 = Math.fround;

const area = (b, i) => f32(Math.max(0, f32(b[i + 2] - b[i])) * Math.max(0, f32(b[i + 3] - b[i + 1])));

/** IoU of boxes `i` and `j` of a flat Float32Array [x1, y1, x2, y2, ...]. */
export function iou(boxes, i, j) {
  const a = 4 * i, b = 4 * j;
  const w = Math.max(0, f32(Math.min(boxes[a + 2], boxes[b + 2]) - Math.max(boxes[a], boxes[b])));
  const h = Math.max(0, f32(Math.min(boxes[a + 3], boxes[b + 3]) - Math.max(boxes[a + 1], boxes[b + 1])));
  const inter = f32(w * h);
  const union = f32(f32(area(boxes, a) + area(boxes, b)) - inter);
  return union > 0 ? f32(inter / Math.max(union, f32(1e-12))) : 0;
}

/** Indices by descending score, ties by index (numpy's stable argsort of -scores). */
export function byScore(scores) {
  return Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Greedy NMS: kept indices, best first. */
export function nms(boxes, scores, iouThreshold, maxKeep = Infinity) {
  const thr = f32(iouThreshold);
  let order = byScore(scores);
  const keep = [];
  while (order.length && keep.length < maxKeep) {
    const i = order[0];
    keep.push(i);
    order = order.slice(1).filter((j) => iou(boxes, i, j) <= thr);
  }
  return keep;
}

/** MediaPipe's WEIGHTED suppression: each cluster overlapping its best box more than the
 * threshold becomes the score-weighted mean of its boxes and `extra` rows (`extraWidth`
 * values per box); the score stays the best one's. [{score, box, extra}], best first. */
export function weightedNms(boxes, scores, iouThreshold, extra, extraWidth) {
  const thr = f32(iouThreshold);
  let order = byScore(scores);
  const result = [];
  while (order.length) {
    const best = order[0];
    const overlap = order.map((j) => iou(boxes, best, j));
    let cluster = order.filter((_, n) => overlap[n] > thr);
    order = order.filter((_, n) => overlap[n] <= thr);
    // A degenerate (zero-area) box overlaps nothing, not even itself.
    if (!cluster.length) [cluster, order] = [order.slice(0, 1), order.slice(1)];
    // Means in float64 where Python sums float32: they differ by ~1e-5 pixels.
    let total = 0;
    for (const j of cluster) total += scores[j];
    const box = [0, 0, 0, 0], ext = new Array(extraWidth).fill(0);
    for (const j of cluster) {
      const wt = scores[j] / total;
      for (let k = 0; k < 4; k++) box[k] += boxes[4 * j + k] * wt;
      for (let k = 0; k < extraWidth; k++) ext[k] += extra[extraWidth * j + k] * wt;
    }
    result.push({ score: scores[cluster[0]], box, extra: ext });
  }
  return result;
}
