// MaxPool / AveragePool (the windows of wasm/src/kernels/pool_f32.cpp: padding never wins the
// max; the average divides by the cells inside the input, or inside input + pads with
// count_include_pad; cells past that added by ceil_mode never count) and GlobalAveragePool.
import { kernel } from "./common.js";

// P: total, C, H, W, OH, OW, kH, kW, sH, sW, pT, pL, dH, dW, isMax, countIncludePad, pB, pR
export const pool = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;
// Taps k in [k0, k1) of a window starting at start with dilation d that land in [lo, hi).
fn taps(start: i32, k: i32, d: i32, lo: i32, hi: i32) -> vec2<i32> {
  var a = 0; if (start < lo) { a = (lo - start + d - 1) / d; }
  var b = 0; if (start < hi) { b = (hi - 1 - start) / d + 1; }
  b = min(b, k); a = min(a, b);
  return vec2<i32>(a, b);
}`, `
  let H = i32(P[2]); let W = i32(P[3]); let OH = P[4]; let OW = P[5];
  let kH = i32(P[6]); let kW = i32(P[7]); let dH = i32(P[12]); let dW = i32(P[13]);
  let ox = i % OW; let oy = (i / OW) % OH; let plane = i / (OW * OH);
  let iy0 = i32(oy * P[8]) - i32(P[10]); let ix0 = i32(ox * P[9]) - i32(P[11]);
  let ty = taps(iy0, kH, dH, 0, H); let tx = taps(ix0, kW, dW, 0, W);
  let base = plane * u32(H * W);
  if (P[14] != 0u) {
    var m = -3.4028234663852886e38;
    for (var ky = ty.x; ky < ty.y; ky++) {
      for (var kx = tx.x; kx < tx.y; kx++) {
        let v = xin[base + u32((iy0 + ky * dH) * W + ix0 + kx * dW)];
        m = select(m, v, v > m);
      }
    }
    yout[i] = m;
  } else {
    var s = 0.0;
    for (var ky = ty.x; ky < ty.y; ky++) {
      for (var kx = tx.x; kx < tx.y; kx++) { s += xin[base + u32((iy0 + ky * dH) * W + ix0 + kx * dW)]; }
    }
    var cy = ty; var cx = tx;
    if (P[15] != 0u) {
      cy = taps(iy0, kH, dH, -i32(P[10]), H + i32(P[16]));
      cx = taps(ix0, kW, dW, -i32(P[11]), W + i32(P[17]));
    }
    let count = (cy.y - cy.x) * (cx.y - cx.x);
    yout[i] = select(0.0, s / f32(count), count > 0);
  }`);

// P: planes, plane size
export const globalAveragePool = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  let n = P[1];
  var s = 0.0;
  for (var k = 0u; k < n; k++) { s += xin[i * n + k]; }
  yout[i] = s / f32(n);`);
