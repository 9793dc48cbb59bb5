// Data movement and Softmax. Transpose gathers through permuted strides; Concat is one dispatch per input (a slab copy into its place);
// Reshape needs no kernel (the output aliases the input's buffer).
import { kernel } from "./common.js";

// P: total (input elements), chunk (input's axis dim × inner), outChunk, offset
export const copySlab = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  yout[(i / P[1]) * P[2] + P[3] + i % P[1]] = xin[i];`);

// P: total, rank, out dims[8], the input stride of each output axis[8] (strides permuted)
export const transpose = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  var rest = i; var ix = 0u;
  for (var ax = i32(P[1]) - 1; ax >= 0; ax--) {
    let d = P[2u + u32(ax)];
    ix += (rest % d) * P[10u + u32(ax)];
    rest = rest / d;
  }
  yout[i] = xin[ix];`);

// P: rows (outer × inner), axis length, inner. One invocation per row: max, Σ exp, divide.
export const softmax = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  let L = P[1]; let inner = P[2];
  let base = (i / inner) * L * inner + i % inner;
  var m = xin[base];
  for (var k = 1u; k < L; k++) { m = max(m, xin[base + k * inner]); }
  var s = 0.0;
  for (var k = 0u; k < L; k++) { s += exp(xin[base + k * inner] - m); }
  for (var k = 0u; k < L; k++) { yout[base + k * inner] = exp(xin[base + k * inner] - m) / s; }`);
