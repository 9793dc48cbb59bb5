// Pillow's BILINEAR resize of 8-bit images (libImaging/Resample.c), reproduced step for step
// so that the browser's model inputs equal those of pytools/sparsegate/vision/images.py bit
// for bit. A canvas cannot do this: browsers resample with their own, unspecified filters.

// Pillow's fixed point for 8-bit images: 32 bits minus 8 for the pixel, 2 for overflow.
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

const bilinear = (x) => {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
};

/** Per output index along one axis: the first source index, the tap count, and the integer
 * weights. Doubles throughout, in Pillow's order of operations; `Math.trunc` is C's (int). */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the bilinear filter's support is 1, widened when shrinking
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bilinear((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x] / ww : w[x];
      weights[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, ksize };
}

const clip8 = (acc) => Math.min(255, Math.max(0, acc >> PRECISION_BITS));

/** One pass along an axis of an interleaved uint8 image: `stride` steps along that axis,
 * `lines` x `lineStep` walks the other one. Sums stay below 2^31, so `>>` is exact. */
function pass(src, dst, c, inSize, outSize, stride, lines, srcLineStep, dstLineStep, dstStride) {
  const { first, count, weights, ksize } = coefficients(inSize, outSize);
  for (let line = 0; line < lines; line++) {
    const s0 = line * srcLineStep, d0 = line * dstLineStep;
    for (let o = 0; o < outSize; o++) {
      const k0 = o * ksize, n = count[o], base = s0 + first[o] * stride;
      for (let ch = 0; ch < c; ch++) {
        let acc = HALF;
        for (let t = 0; t < n; t++) acc += src[base + t * stride + ch] * weights[k0 + t];
        dst[d0 + o * dstStride + ch] = clip8(acc);
      }
    }
  }
}

/** Resizes an H x W x `c` uint8 image (row-major, interleaved) to `outH` x `outW` as
 * Pillow's `Image.resize((outW, outH), Image.BILINEAR)` does: horizontal pass first,
 * rounded to uint8, then vertical; an axis whose size does not change is not resampled. */
export function resizeBilinear(src, w, h, c, outW, outH) {
  let img = src;
  if (outW !== w) {
    const tmp = new Uint8Array(outW * h * c);
    pass(img, tmp, c, w, outW, c, h, w * c, outW * c, c);
    img = tmp;
  }
  if (outH !== h) {
    const out = new Uint8Array(outW * outH * c);
    // Columns are the lines here: each output column walks down its source column.
    pass(img, out, c, h, outH, outW * c, outW, c, c, outW * c);
    img = out;
  }
  return img === src ? Uint8Array.from(src) : img;
}
