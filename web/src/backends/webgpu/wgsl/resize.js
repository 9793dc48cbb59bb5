// Resize, nearest and linear, any rank ≤ 8: a gather through per-axis tables that plan.js
// builds as wasm/src/ops/resize.cpp does in prepare (nearest: one source index per output
// index; linear: lower and upper neighbour and the upper one's weight).
import { kernel } from "./common.js";

// P: total, rank, linear, out dims[8] @3, input strides[8] @11, table offsets[8] @19,
// interpolating axes (bit mask) @27. Table per axis: idx0[out], then (linear) idx1[out], w1[out].
export const resize = kernel(`
@group(0) @binding(1) var<storage, read> xin: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<u32>;
@group(0) @binding(3) var<storage, read_write> yout: array<f32>;`, `
  let rank = P[1];
  var q: array<u32, 8>;
  var rest = i;
  for (var ax = i32(rank) - 1; ax >= 0; ax--) {
    let d = P[3u + u32(ax)];
    q[ax] = rest % d;
    rest = rest / d;
  }
  if (P[2] == 0u) {
    var ix = 0u;
    for (var a = 0u; a < rank; a++) { ix += tab[P[19u + a] + q[a]] * P[11u + a]; }
    yout[i] = xin[ix];
    return;
  }
  let mask = P[27];
  var v = 0.0;
  for (var c = 0u; c < (1u << rank); c++) {
    if ((c & ~mask) != 0u) { continue; }
    var ix = 0u; var w = 1.0;
    for (var a = 0u; a < rank; a++) {
      let o = P[19u + a]; let d = P[3u + a];
      if (((mask >> a) & 1u) == 0u) { ix += tab[o + q[a]] * P[11u + a]; continue; }
      let l = bitcast<f32>(tab[o + 2u * d + q[a]]);
      if (((c >> a) & 1u) != 0u) { ix += tab[o + d + q[a]] * P[11u + a]; w *= l; }
      else { ix += tab[o + q[a]] * P[11u + a]; w *= 1.0 - l; }
    }
    v += w * xin[ix];
  }
  yout[i] = v;`);
