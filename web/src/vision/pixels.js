// Source pixels exactly as stored: read at native size, never scaled by the browser, so that
// the resize after it (resize.js) sees what Pillow sees in pytools/sparsegate/vision/images.py.

import { SparsegateError } from "../errors.js";
import { describe } from "../tensor.js";

const is = (v, name) => typeof globalThis[name] === "function" && v instanceof globalThis[name];

// ImageData proper, or its shape ({data, width, height}) where the global is missing (Node).
function isImageDataLike(v) {
  return is(v, "ImageData") || (v != null && (v.data instanceof Uint8ClampedArray || v.data instanceof Uint8Array)
    && Number.isInteger(v.width) && Number.isInteger(v.height) && v.data.length === v.width * v.height * 4);
}

/** The size a source draws at with `drawImage(source, 0, 0)`, or null for a type not taken. */
async function drawableSize(source) {
  if (is(source, "HTMLImageElement")) {
    if (!source.complete || source.naturalWidth === 0) {
      try {
        await source.decode();
      } catch (e) {
        throw new SparsegateError(`imageToTensor: the <img> (${source.currentSrc || source.src || "no src"}) `
          + `cannot be decoded: ${e?.message ?? e}`, "input");
      }
    }
    return [source.naturalWidth, source.naturalHeight];
  }
  if (is(source, "HTMLVideoElement")) {
    if (source.readyState < 2) { // HAVE_CURRENT_DATA: before it, there is no frame to read
      throw new SparsegateError(`imageToTensor: the <video> has no frame yet (readyState ${source.readyState}); `
        + "wait for its 'loadeddata' event", "input");
    }
    return [source.videoWidth, source.videoHeight];
  }
  if (is(source, "VideoFrame")) return [source.displayWidth, source.displayHeight];
  if (is(source, "ImageBitmap") || is(source, "HTMLCanvasElement") || is(source, "OffscreenCanvas")) {
    return [source.width, source.height];
  }
  return null;
}

function context2d(width, height) {
  const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement("canvas"), { width, height });
  return canvas.getContext("2d", { willReadFrequently: true });
}

/** H x W x 3 uint8 RGB of `source`; alpha is dropped, not composited, as Python does. Canvas
 * storage is premultiplied, so translucent pixels read back rounded: pass ImageData to get
 * them exactly. */
export async function rgbPixels(source) {
  let rgba, width, height;
  if (isImageDataLike(source)) {
    ({ data: rgba, width, height } = source);
  } else {
    const size = await drawableSize(source);
    if (!size) {
      throw new SparsegateError(`imageToTensor: cannot read an image from ${describe(source)}; pass an ImageBitmap, `
        + "ImageData, HTMLCanvasElement, OffscreenCanvas, HTMLImageElement, HTMLVideoElement or VideoFrame", "input");
    }
    [width, height] = size;
    if (width > 0 && height > 0) {
      const ctx = context2d(width, height);
      ctx.drawImage(source, 0, 0);
      try {
        rgba = ctx.getImageData(0, 0, width, height).data;
      } catch (e) { // a cross-origin image without CORS taints the canvas
        throw new SparsegateError(`imageToTensor: the pixels of this ${source.constructor.name} cannot be read `
          + `(${e?.name}: ${e?.message}); serve it with CORS and set crossOrigin`, "input");
      }
    }
  }
  if (!(width > 0 && height > 0)) {
    throw new SparsegateError(`imageToTensor: the image is empty (${width} x ${height} pixels)`, "input");
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { rgb, width, height };
}
