// Conv (f32, NCHW; any group incl. depthwise, strides, pads, dilations, fused activation) and
// Gemm: naive, one output element per invocation, the reduction in the wasm kernels' order of
// terms within a window (bias first).
import { kernel } from "./common.js";

// P: total, C, H, W, M, OH, OW, kH, kW, sH, sW, pT, pL, dH, dW, group, hasBias, act, p0, p1
export const conv = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> yout: array<f32>;`, `
  let C = P[1]; let H = P[2]; let W = P[3]; let M = P[4]; let OH = P[5]; let OW = P[6];
  let kH = P[7]; let kW = P[8]; let dH = P[13]; let dW = P[14]; let group = P[15];
  let ox = i % OW; let oy = (i / OW) % OH; let m = (i / (OW * OH)) % M; let n = i / (OW * OH * M);
  let Cg = C / group; let g = m / (M / group);
  var s = 0.0;
  if (P[16] != 0u) { s = bias[m]; }
  let iy0 = i32(oy * P[9]) - i32(P[11]);
  let ix0 = i32(ox * P[10]) - i32(P[12]);
  for (var c = 0u; c < Cg; c++) {
    let xc = (n * C + g * Cg + c) * H * W;
    let wc = (m * Cg + c) * kH * kW;
    for (var ky = 0u; ky < kH; ky++) {
      let iy = iy0 + i32(ky * dH);
      if (iy < 0 || iy >= i32(H)) { continue; }
      for (var kx = 0u; kx < kW; kx++) {
        let ix = ix0 + i32(kx * dW);
        if (ix < 0 || ix >= i32(W)) { continue; }
        s += xin[xc + u32(iy) * W + u32(ix)] * wt[wc + ky * kW + kx];
      }
    }
  }
  yout[i] = act(s, P[17], pf(18), pf(19));`);

// P: total, M, N, K, transA, transB, alpha, beta, cRows, cCols (0: no C), act, p0, p1
export const gemm = kernel(`
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> yout: array<f32>;`, `
  let M = P[1]; let N = P[2]; let K = P[3];
  let col = i % N; let row = i / N;
  var s = 0.0;
  for (var k = 0u; k < K; k++) {
    let av = select(a[row * K + k], a[k * M + row], P[4] != 0u);
    let bv = select(b[k * N + col], b[col * K + k], P[5] != 0u);
    s += av * bv;
  }
  s *= pf(6);
  if (P[9] != 0u) {
    let r = select(row, 0u, P[8] == 1u); let q = select(col, 0u, P[9] == 1u);
    s += pf(7) * c[r * P[9] + q];
  }
  yout[i] = act(s, P[10], pf(11), pf(12));`);
