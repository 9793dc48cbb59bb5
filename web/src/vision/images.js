// Images → model inputs by a model's META `preprocess` (docs/format.md), the same numbers as
// pytools/sparsegate/vision/images.py `preprocess`: same geometry, Pillow's resize
// (resize.js), float32 arithmetic step by step as numpy does it.

import { SparsegateError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { rgbPixels } from "./pixels.js";
import { resizeBilinear } from "./resize.js";

const RESIZE_MODES = ["stretch", "shorter_center_crop", "letterbox"];
const f32 = Math.fround;
const fail = (message) => new SparsegateError(`imageToTensor: ${message}`, "input");

/** Maps points from model-input pixels back to source pixels: `xy` is flat [x, y, x, y, ...]
 * (a point, or a box [x1, y1, x2, y2]); `t` is a Transform or a plain object with its fields
 * (one that went through postMessage). */
export function toOriginal(t, xy) {
  return Array.from(xy, (v, i) => (i % 2 === 0 ? (v - t.offsetX) / t.scaleX : (v - t.offsetY) / t.scaleY));
}

/** input = source * scale + offset, per axis; `width` x `height` is the source image's size
 * (Python's `Transform`). */
export class Transform {
  constructor(scaleX, scaleY, offsetX, offsetY, width, height) {
    Object.assign(this, { scaleX, scaleY, offsetX, offsetY, width, height });
    Object.freeze(this);
  }

  /** Flat [x, y, ...] in model-input pixels → source pixels. */
  toOriginal(xy) {
    return toOriginal(this, xy);
  }
}

// Python's round(): halves go to the even neighbour (round(150.5) == 150).
function roundHalfEven(x) {
  const lo = Math.floor(x), d = x - lo;
  return d > 0.5 || (d === 0.5 && lo % 2 !== 0) ? lo + 1 : lo;
}

// Copies rows [top, top + h) x columns [left, left + w) of an H x W x 3 image into another.
function blit(src, srcW, sx, sy, dst, dstW, dx, dy, w, h) {
  for (let y = 0; y < h; y++) {
    const s = ((sy + y) * srcW + sx) * 3;
    dst.set(src.subarray(s, s + w * 3), ((dy + y) * dstW + dx) * 3);
  }
}

/** Resize/crop/pad to outH x outW as `pre.resize` says (Python's `_geometry`). */
function geometry(rgb, w, h, outH, outW, pre) {
  const mode = pre.resize ?? "stretch";
  if (mode === "stretch") {
    return [resizeBilinear(rgb, w, h, 3, outW, outH), new Transform(outW / w, outH / h, 0, 0, w, h)];
  }
  if (mode === "shorter_center_crop") {
    const shorter = Number(pre.resize_shorter ?? roundHalfEven(Math.min(outH, outW) / 0.875));
    // Never smaller than the crop, whatever the aspect ratio.
    const r = Math.max(shorter / Math.min(h, w), outW / w, outH / h);
    const nw = Math.max(outW, roundHalfEven(w * r)), nh = Math.max(outH, roundHalfEven(h * r));
    const left = Math.floor((nw - outW) / 2), top = Math.floor((nh - outH) / 2);
    const crop = new Uint8Array(outW * outH * 3);
    blit(resizeBilinear(rgb, w, h, 3, nw, nh), nw, left, top, crop, outW, 0, 0, outW, outH);
    return [crop, new Transform(nw / w, nh / h, -left, -top, w, h)];
  }
  if (mode === "letterbox") {
    const r = Math.min(outW / w, outH / h);
    const nw = Math.max(1, roundHalfEven(w * r)), nh = Math.max(1, roundHalfEven(h * r));
    const left = Math.floor((outW - nw) / 2), top = Math.floor((outH - nh) / 2);
    const pad = Math.trunc(Number(pre.pad_value ?? 0));
    if (!(pad >= 0 && pad <= 255)) throw fail(`preprocess pad_value ${pre.pad_value} is not a pixel value 0..255`);
    const canvas = new Uint8Array(outW * outH * 3).fill(pad);
    blit(resizeBilinear(rgb, w, h, 3, nw, nh), nw, 0, 0, canvas, outW, left, top, nw, nh);
    return [canvas, new Transform(nw / w, nh / h, left, top, w, h)];
  }
  throw fail(`preprocess resize "${mode}" unknown; expected one of ${RESIZE_MODES.join(", ")}`);
}

// Pillow's RGB → L (ITU-R 601-2 luma in 16-bit fixed point), so GRAY inputs match too.
function toGray(rgb) {
  const out = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) {
    out[i] = (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16;
  }
  return out;
}

function perChannel(pre, key, fallback, channels, color) {
  const v = [pre[key] ?? fallback].flat(Infinity).map((x) => f32(Number(x)));
  if (v.length !== 1 && v.length !== channels) {
    throw fail(`preprocess ${key} has ${v.length} values for ${channels} channels (${color})`);
  }
  return v;
}

/** The model input's H x W: `preprocess.size`, else the input's dims read by the layout. */
function inputSize(pre, input, layout) {
  const size = pre.size ?? (layout === "NHWC" ? input.dims?.slice(1, 3) : input.dims?.slice(2, 4));
  const hw = Array.isArray(size) && size.length === 2 ? size.map((v) => Math.trunc(Number(v))) : null;
  if (!hw || !hw.every((v) => v > 0)) {
    throw fail(`preprocess needs 'size': [H, W] (or an input "${input.name}" of fixed dims), `
      + `got ${JSON.stringify(pre.size)} and dims ${JSON.stringify(input.dims)}`);
  }
  return hw;
}

function pickInput(session, name) {
  const inputs = session.inputs ?? [];
  const input = name === undefined ? inputs[0] : inputs.find((i) => i.name === name);
  if (!input) {
    throw fail(name === undefined ? "the model has no inputs"
      : `no input "${name}"; the model's inputs: ${inputs.map((i) => `"${i.name}"`).join(", ")}`);
  }
  return input;
}

/**
 * Turns an image into the model's input as its metadata's `preprocess` says, with the same
 * numbers as Python's `sparsegate.vision.images.preprocess` (resize in JS with Pillow's
 * arithmetic; the browser only decodes).
 *
 * @param {ImageBitmap|ImageData|HTMLCanvasElement|OffscreenCanvas|HTMLImageElement|HTMLVideoElement|VideoFrame} source
 *   read at its native size; an `<img>` still loading is awaited, a `<video>` must have a
 *   frame. Alpha is dropped, not composited (canvas readback rounds translucent pixels:
 *   pass ImageData for those).
 * @param {{metadata: object, inputs: {name: string, dims: number[]}[]}} session a Session
 * @param {{input?: string}} [options] `input`: which input to feed (default: the first)
 * @returns {Promise<{tensor: Tensor, transform: Transform, feeds: Object<string, Tensor>}>}
 *   a 1-image float32 batch (NCHW or NHWC); `transform` maps input pixels to source pixels
 * @throws {SparsegateError} code "input": no `preprocess` in the metadata, an unknown source
 *   type or input name, an empty image, or a `preprocess` value that Python rejects too
 */
export async function imageToTensor(source, session, options = {}) {
  const pre = session?.metadata?.preprocess;
  if (!pre || typeof pre !== "object") {
    throw fail("the model's metadata has no 'preprocess' (convert it with preprocessing metadata, "
      + "or build the input Tensor yourself)");
  }
  const input = pickInput(session, options.input);
  const layout = String(pre.layout ?? "NCHW").toUpperCase();
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw fail(`preprocess layout "${layout}" unknown; expected NCHW or NHWC`);
  }
  const color = String(pre.color ?? "RGB").toUpperCase();
  if (!["RGB", "BGR", "GRAY"].includes(color)) {
    throw fail(`preprocess color "${color}" unknown; expected RGB, BGR or GRAY`);
  }
  const channels = color === "GRAY" ? 1 : 3;
  const mean = perChannel(pre, "mean", 0, channels, color);
  const std = perChannel(pre, "std", 1, channels, color);
  if (std.includes(0)) throw fail("preprocess std contains 0");
  const [outH, outW] = inputSize(pre, input, layout);

  const { rgb, width, height } = await rgbPixels(source);
  const [pixels, transform] = geometry(rgb, width, height, outH, outW, pre);
  const px = color === "GRAY" ? toGray(pixels) : pixels;
  const scale = f32(Number(pre.scale ?? 1 / 255));
  const plane = outH * outW, data = new Float32Array(plane * channels);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < channels; c++) {
      const src = color === "BGR" ? 2 - c : c;
      const m = mean[mean.length === 1 ? 0 : c], s = std[std.length === 1 ? 0 : c];
      data[layout === "NCHW" ? c * plane + i : i * channels + c] = f32(f32(px[i * channels + src] * scale) - m) / s;
    }
  }
  const dims = layout === "NCHW" ? [1, channels, outH, outW] : [1, outH, outW, channels];
  const tensor = new Tensor("float32", data, dims);
  return { tensor, transform, feeds: { [input.name]: tensor } };
}
