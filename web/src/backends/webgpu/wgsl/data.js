// Data movement and Softmax. Transpose and Slice gather through per-axis strides; Concat and Split are one dispatch per input or output (a slab copy);
// Reshape needs no kernel (the output aliases the input's buffer).
import { kernel } from "./common.js";

// P: total (input elements), chunk (input's axis dim × inner), outChunk, offset
export const copySlab = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  yout[(i / P[1]) * P[2] + P[3] + i % P[1]] = xin[i];`);

// P: total (output elements), chunk (output's axis dim × inner), inChunk, offset: Split's slab
export const splitSlab = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  yout[i] = xin[(i / P[1]) * P[2] + P[3] + i % P[1]];`);

// P: total, rank, base, out dims[8], input step of each output axis[8] (i32: steps may be < 0)
export const slice = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read_write> yout: array<f32>;`, `
  var rest = i; var ix = i32(P[2]);
  for (var ax = i32(P[1]) - 1; ax >= 0; ax--) {
    let d = P[3u + u32(ax)];
    ix += i32(rest % d) * bitcast<i32>(P[11u + u32(ax)]);
    rest = rest / d;
  }
  yout[i] = xin[u32(ix)];`);

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

// P: total, rank, value, out dims[8] @3, input strides[8] @11, table offsets[8] @19. Table: per
// axis the input index of each output index (i32; -1: in a constant pad), built as
// prepare_Pad (wasm/src/ops/pad.cpp) builds it.
export const pad = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<i32>;
@group(0) @binding(3) var<storage, read_write> yout: array<f32>;`, `
  var rest = i; var ix = 0u;
  for (var ax = i32(P[1]) - 1; ax >= 0; ax--) {
    let a = u32(ax);
    let d = P[3u + a];
    let src = tab[P[19u + a] + rest % d];
    rest = rest / d;
    if (src < 0) { yout[i] = pf(2); return; }
    ix += u32(src) * P[11u + a];
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
