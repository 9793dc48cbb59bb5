// Client-side detection helpers for the sparsegate example page: preprocessing from a
// model's metadata and decoding of YOLOv8 and BlazeFace outputs. Mirrors
// pytools/sparsegate/images.py and detect.py (the Python tests compare the two).

/** Letterboxes (or stretches) an image source into the model input: {data, dims, transform}. */
export function preprocess(source, width, height, pre) {
  const [outH, outW] = pre.size;
  const canvas = new OffscreenCanvas(outW, outH);
  const ctx = canvas.getContext("2d");
  let t = { scaleX: outW / width, scaleY: outH / height, offsetX: 0, offsetY: 0, width, height };
  if (pre.resize === "letterbox") {
    const r = Math.min(outW / width, outH / height);
    const nw = Math.max(1, Math.round(width * r)), nh = Math.max(1, Math.round(height * r));
    const left = Math.floor((outW - nw) / 2), top = Math.floor((outH - nh) / 2);
    const pad = pre.pad_value ?? 0;
    ctx.fillStyle = `rgb(${pad},${pad},${pad})`;
    ctx.fillRect(0, 0, outW, outH);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, left, top, nw, nh);
    t = { scaleX: nw / width, scaleY: nh / height, offsetX: left, offsetY: top, width, height };
  } else {
    ctx.drawImage(source, 0, 0, outW, outH);
  }
  const rgba = ctx.getImageData(0, 0, outW, outH).data;
  const plane = outW * outH, data = new Float32Array(3 * plane);
  const nhwc = pre.layout === "NHWC";
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (rgba[4 * i + c] * pre.scale - pre.mean[c]) / pre.std[c];
      data[nhwc ? 3 * i + c : c * plane + i] = v;
    }
  }
  const dims = nhwc ? [1, outH, outW, 3] : [1, 3, outH, outW];
  return { data, dims, transform: t };
}

function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

function toOriginal(box, t) {
  const out = [(box[0] - t.offsetX) / t.scaleX, (box[1] - t.offsetY) / t.scaleY,
               (box[2] - t.offsetX) / t.scaleX, (box[3] - t.offsetY) / t.scaleY];
  return [Math.min(Math.max(out[0], 0), t.width), Math.min(Math.max(out[1], 0), t.height),
          Math.min(Math.max(out[2], 0), t.width), Math.min(Math.max(out[3], 0), t.height)];
}

/** YOLOv8: output 1 x (4 + classes) x N, per-class greedy NMS. */
export function decodeYolov8(out, dims, post, labels, t) {
  const [, rows, n] = dims, classes = rows - 4;
  const cands = [];
  for (let i = 0; i < n; i++) {
    let best = 0, cls = 0;
    for (let c = 0; c < classes; c++) {
      const s = out[(4 + c) * n + i];
      if (s > best) { best = s; cls = c; }
    }
    if (best < (post.score_threshold ?? 0.25)) continue;
    const cx = out[i], cy = out[n + i], w = out[2 * n + i], h = out[3 * n + i];
    cands.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score: best, cls });
  }
  cands.sort((a, b) => b.score - a.score);
  const kept = [];
  for (const d of cands) {
    if (kept.length >= (post.max_detections ?? 100)) break;
    if (kept.every((k) => k.cls !== d.cls || iou(k.box, d.box) <= (post.iou_threshold ?? 0.45))) kept.push(d);
  }
  return kept.map((d) => ({ box: toOriginal(d.box, t), score: d.score, label: labels?.[d.cls] ?? String(d.cls) }));
}

/** BlazeFace: anchors from the model's metadata, MediaPipe's weighted suppression. */
export function decodeBlazeface(outputs, post, t) {
  const scores = post.scores.flatMap((name) => Array.from(outputs[name].data));
  const regs = post.regressors.map((name) => outputs[name].data);
  const reg = new Float32Array(regs.reduce((a, r) => a + r.length, 0));
  let at = 0;
  for (const r of regs) { reg.set(r, at); at += r.length; }
  const [inH, inW] = post.input_size, clip = post.score_clip ?? 100, scale = post.box_scale ?? 128;
  const cands = [];
  scores.forEach((logit, i) => {
    const score = 1 / (1 + Math.exp(-Math.min(Math.max(logit, -clip), clip)));
    if (score < (post.score_threshold ?? 0.75)) return;
    const [ax, ay] = post.anchors[i], r = reg.subarray(16 * i, 16 * i + 16);
    const cx = ax + r[0] / scale, cy = ay + r[1] / scale, w = r[2] / scale, h = r[3] / scale;
    cands.push({ score, box: [(cx - w / 2) * inW, (cy - h / 2) * inH, (cx + w / 2) * inW, (cy + h / 2) * inH] });
  });
  cands.sort((a, b) => b.score - a.score);
  const faces = [];
  let rest = cands;
  while (rest.length) {
    const best = rest[0];
    const near = rest.filter((c) => iou(best.box, c.box) > (post.iou_threshold ?? 0.3));
    const cluster = near.length ? near : [best]; // a zero-area box overlaps nothing, not even itself
    rest = rest.filter((c) => !cluster.includes(c));
    const total = cluster.reduce((a, c) => a + c.score, 0);
    const box = [0, 1, 2, 3].map((k) => cluster.reduce((a, c) => a + c.box[k] * c.score / total, 0));
    faces.push({ box: toOriginal(box, t), score: best.score, label: "face" });
  }
  return faces;
}

/** Decodes any supported detector from its metadata's `postprocess`. */
export function decode(meta, outputs, t) {
  const post = meta.postprocess || {};
  if (post.kind === "yolov8") {
    const first = Object.values(outputs)[0];
    return decodeYolov8(first.data, first.dims, post, meta.labels, t);
  }
  if (post.kind === "blazeface") return decodeBlazeface(outputs, post, t);
  throw new Error(`no decoder for postprocess kind ${post.kind}`);
}
