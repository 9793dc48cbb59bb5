// Unary activations (the fused codes of common.js) and binary Add/Sub/Mul/Div with numpy
// broadcasting (per-axis strides, 0 on a broadcast axis; rank ≤ 8) and a fused activation.
import { kernel } from "./common.js";

// P: total, act, p0, p1
export const unary = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  yout[i] = act(xin[i], P[1], pf(2), pf(3));`);

// P: total, rank, op (0 add, 1 sub, 2 mul, 3 div), act, p0, p1, dims[8], aStrides[8], bStrides[8]
export const binary = kernel(`
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> yout: array<f32>;`, `
  var rest = i; var ia = 0u; var ib = 0u;
  for (var ax = i32(P[1]) - 1; ax >= 0; ax--) {
    let d = P[6u + u32(ax)];
    let q = rest % d;
    rest = rest / d;
    ia += q * P[14u + u32(ax)];
    ib += q * P[22u + u32(ax)];
  }
  let x = a[ia]; let z = b[ib];
  var r: f32;
  switch P[2] {
    case 0u: { r = x + z; }
    case 1u: { r = x - z; }
    case 2u: { r = x * z; }
    default: { r = x / z; }
  }
  yout[i] = act(r, P[3], pf(4), pf(5));`);
