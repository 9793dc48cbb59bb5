// The validated graph (../wasm/graph.js) → a list of dispatches: per node the kernel
// (./wgsl), its parameter words and the tensors it binds. No GPU here: session.js turns the
// plan into buffers, pipelines and one compute pass.

import { ACT } from "./wgsl/common.js";

const UNARY = { Relu: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh", Silu: "Silu", HardSwish: "HardSwish",
  HardSigmoid: "HardSigmoid", LeakyRelu: "LeakyRelu", Clip: "Clip" };
const BINARY = { Add: 0, Sub: 1, Mul: 2, Div: 3 };
const POOLS = ["MaxPool", "AveragePool"];
/** The ops with a WGSL kernel (f32). */
export const WEBGPU_OPS = Object.freeze(["Conv", "Gemm", ...Object.keys(UNARY), ...Object.keys(BINARY), ...POOLS,
  "GlobalAveragePool", "Reshape", "Concat", "Split", "Slice", "Softmax", "Transpose", "Resize", "Pad"].sort());

const numel = (dims) => dims.reduce((n, d) => n * d, 1);

/** Why this graph cannot run here (a message naming the op and node), or null. */
export function refusal(graph) {
  for (const node of graph.nodes) {
    const where = `op '${node.op}' (node '${node.name}')`;
    if (!WEBGPU_OPS.includes(node.op)) return `no WGSL kernel for ${where}`;
    if (node.attrs.gate_kind !== undefined) return `no WGSL kernel for gated ${where} yet`;
    for (const t of [...node.inputs, ...node.outputs]) {
      const tensor = graph.tensors[t];
      if (tensor && tensor.dtype !== "float32") {
        return `no WGSL kernel for ${tensor.dtype} tensor '${tensor.name}' of ${where}`;
      }
    }
    if ((node.op in BINARY || ["Transpose", "Slice", "Resize", "Pad"].includes(node.op)) && graph.tensors[node.outputs[0]].dims.length > 8) {
      return `no WGSL kernel for ${where} of rank > 8`;
    }
  }
  return null;
}

/** Parameter words: integers as u32, floats as their f32 bits. */
class Words {
  constructor() { this.u32 = []; this.f = new Set(); }
  int(...v) { for (const x of v) this.u32.push(x >>> 0); return this; }
  float(...v) { for (const x of v) { this.f.add(this.u32.length); this.u32.push(x); } return this; }
  array() {
    const out = new Uint32Array(Math.max(this.u32.length, 1));
    const f32 = new Float32Array(out.buffer);
    this.u32.forEach((v, i) => { if (this.f.has(i)) f32[i] = v; else out[i] = v; });
    return out;
  }
}

function activation(attrs) {
  const name = attrs.activation ?? "";
  const params = attrs.activation_params ?? [];
  if (!(name in ACT)) throw new Error(`unknown fused activation '${name}'`);
  return [ACT[name], params[0] ?? 0, params[1] ?? 0];
}
const one = (v, fallback) => (v === undefined ? fallback : Array.isArray(v) ? v[0] : v);

// Resize's per-axis tables, as prepare_Resize (wasm/src/ops/resize.cpp) builds them.
const COORD = {
  half_pixel: (x, s) => (x + 0.5) / s - 0.5,
  pytorch_half_pixel: (x, s, i, o) => (o > 1 ? (x + 0.5) / s - 0.5 : 0),
  align_corners: (x, s, i, o) => (o === 1 ? 0 : x * (i - 1) / (o - 1)),
  asymmetric: (x, s) => x / s,
  tf_half_pixel_for_nn: (x, s) => (x + 0.5) / s,
  half_pixel_symmetric: (x, s, i, o) => (i / 2) * (1 - o / (s * i)) + (x + 0.5) / s - 0.5,
};
const ROUND = { round_prefer_floor: (x) => Math.ceil(x - 0.5), round_prefer_ceil: (x) => Math.floor(x + 0.5),
  floor: Math.floor, ceil: Math.ceil };

function resizeTables(attrs, xd, yd) {
  const linear = attrs.mode === "linear", coord = COORD[attrs.coordinate_transformation_mode];
  const round = ROUND[attrs.nearest_mode] ?? ROUND.round_prefer_floor;
  const words = [], offsets = [];
  let mask = 0;
  xd.forEach((inn, a) => {
    const out = yd[a], scale = attrs.scales[a], identity = inn === out && Math.fround(scale) === 1;
    const interp = linear && !identity;
    if (interp) mask |= 1 << a;
    offsets.push(words.length);
    const i0 = new Array(out), i1 = new Array(out), w1 = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      if (identity) { i0[o] = o; continue; }
      let x = coord(o, scale, inn, out);
      if (!linear) {
        x = Math.min(Math.max(x, -1), inn);
        i0[o] = Math.min(Math.max(Math.trunc(round(x)), 0), inn - 1);
        continue;
      }
      x = Math.min(Math.max(x, 0), inn - 1);
      i0[o] = Math.floor(x);
      i1[o] = Math.min(i0[o] + 1, inn - 1);
      w1[o] = x - i0[o];
    }
    words.push(...i0);
    if (interp) words.push(...i1, ...new Uint32Array(w1.buffer));
    else if (linear) words.push(...new Array(2 * out).fill(0));
  });
  return { table: Uint32Array.from(words), offsets, mask, linear };
}

// Pad's per-axis maps, as prepare_Pad (wasm/src/ops/pad.cpp) builds them: negative pads crop
// first; then constant (-1), edge (clamp) or reflect (numpy's, no edge repeat).
function padTables(attrs, xd, yd) {
  const r = xd.length, mode = attrs.mode ?? "constant", words = [], offsets = [];
  const reflect = (i, n) => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
  };
  for (let a = 0; a < r; a++) {
    const b = attrs.pads[a], e = attrs.pads[a + r];
    const lo = b < 0 ? -b : 0, kept = xd[a] - (e < 0 ? -e : 0) - lo, pb = b > 0 ? b : 0;
    offsets.push(words.length);
    for (let o = 0; o < yd[a]; o++) {
      let i = o - pb;
      if (i < 0 || i >= kept) i = mode === "constant" ? -1 : mode === "edge" ? (i < 0 ? 0 : kept - 1) : reflect(i, kept);
      words.push(i < 0 ? -1 : i + lo);
    }
  }
  return { table: new Uint32Array(Int32Array.from(words).buffer), offsets };
}

/** → {alias: Map(tensor → tensor whose buffer it shares), steps: [{kernel, params, bind, count,
 * table?}]}. `bind` lists tensor indices (-1: the 4-byte zero buffer for an absent optional
 * input); a step's `table` (Uint32Array) is bound after them. */
export function plan(graph) {
  const T = graph.tensors;
  const alias = new Map();
  const root = (t) => (alias.has(t) ? alias.get(t) : t);
  const steps = [];
  const step = (kernel, words, bind, count, table) => steps.push({ kernel, params: words.array(), bind: bind.map(root),
    count, table });
  for (const node of graph.nodes) {
    const { op, attrs } = node;
    const [x] = node.inputs, [y] = node.outputs;
    const xd = T[x].dims, yd = T[y].dims, total = numel(yd);
    if (op === "Conv") {
      const [N, C, H, W] = xd, [, M, OH, OW] = yd, [, , kH, kW] = T[node.inputs[1]].dims;
      void N;
      const b = node.inputs[2] ?? -1;
      const [a, p0, p1] = activation(attrs);
      step("conv", new Words().int(total, C, H, W, M, OH, OW, kH, kW, ...attrs.strides, attrs.pads[0], attrs.pads[1],
        ...attrs.dilations, one(attrs.group, 1), b >= 0 ? 1 : 0, a).float(p0, p1), [x, node.inputs[1], b, y], total);
    } else if (op === "Gemm") {
      const ta = one(attrs.transA, 0), tb = one(attrs.transB, 0);
      const [M, N] = yd, K = ta ? xd[0] : xd[1];
      const c = node.inputs[2] ?? -1;
      let rows = 0, cols = 0;
      if (c >= 0) {
        const cd = T[c].dims;
        rows = cd.length === 2 ? cd[0] : 1;
        cols = cd.length === 2 ? cd[1] : cd.length === 1 ? cd[0] : 1;
      }
      const [a, p0, p1] = activation(attrs);
      step("gemm", new Words().int(total, M, N, K, ta, tb).float(one(attrs.alpha, 1), one(attrs.beta, 1))
        .int(rows, cols, a).float(p0, p1), [x, node.inputs[1], c, y], total);
    } else if (op in UNARY) {
      let p0 = 0, p1 = 0;
      if (op === "Clip") p0 = one(attrs.min, -Infinity), p1 = one(attrs.max, Infinity);
      if (op === "LeakyRelu") p0 = one(attrs.alpha, 0.01);
      if (op === "HardSigmoid") p0 = one(attrs.alpha, 0.2), p1 = one(attrs.beta, 0.5);
      step("unary", new Words().int(total, ACT[op]).float(p0, p1), [x, y], total);
    } else if (op in BINARY) {
      const rank = yd.length;
      const strides = (dims) => { // right-aligned, 0 on broadcast axes
        const out = new Array(8).fill(0);
        let s = 1;
        for (let k = dims.length - 1, a = rank - 1; k >= 0; k--, a--) {
          out[a] = dims[k] === 1 && yd[a] !== 1 ? 0 : s;
          s *= dims[k];
        }
        return out;
      };
      const dims = [...yd, ...new Array(8 - rank).fill(1)];
      const [a, p0, p1] = activation(attrs);
      step("binary", new Words().int(total, rank, BINARY[op], a).float(p0, p1).int(...dims,
        ...strides(T[x].dims), ...strides(T[node.inputs[1]].dims)), [x, node.inputs[1], y], total);
    } else if (POOLS.includes(op)) {
      const [, C, H, W] = xd, [, , OH, OW] = yd;
      const [pT, pL, pB, pR] = attrs.pads ?? [0, 0, 0, 0];
      const [dH, dW] = attrs.dilations ?? [1, 1];
      step("pool", new Words().int(total, C, H, W, OH, OW, ...attrs.kernel_shape, ...attrs.strides, pT, pL, dH, dW,
        op === "MaxPool" ? 1 : 0, one(attrs.count_include_pad, 0), pB, pR), [x, y], total);
    } else if (op === "GlobalAveragePool") {
      step("globalAveragePool", new Words().int(xd[0] * xd[1], numel(xd.slice(2))), [x, y], xd[0] * xd[1]);
    } else if (op === "Reshape") {
      alias.set(y, root(x));
    } else if (op === "Concat") {
      const axis = one(attrs.axis, 0), inner = numel(yd.slice(axis + 1));
      let offset = 0;
      for (const t of node.inputs) {
        const n = numel(T[t].dims), chunk = T[t].dims[axis] * inner;
        if (n > 0) step("copySlab", new Words().int(n, chunk, yd[axis] * inner, offset), [t, y], n);
        offset += chunk;
      }
    } else if (op === "Split") {
      const axis = one(attrs.axis, 0), inner = numel(xd.slice(axis + 1));
      let offset = 0;
      for (const t of node.outputs) {
        const n = numel(T[t].dims), chunk = T[t].dims[axis] * inner;
        if (n > 0) step("splitSlab", new Words().int(n, chunk, xd[axis] * inner, offset), [x, t], n);
        offset += chunk;
      }
    } else if (op === "Slice") {
      const rank = yd.length, inStrides = new Array(rank);
      for (let a = rank - 1, s = 1; a >= 0; a--) inStrides[a] = s, s *= xd[a];
      const base = attrs.starts.reduce((b, st, a) => b + st * inStrides[a], 0);
      const pad = new Array(8 - rank).fill(1);
      step("slice", new Words().int(total, rank, base, ...yd, ...pad,
        ...attrs.steps.map((st, a) => st * inStrides[a]), ...pad.map(() => 0)), [x, y], total);
    } else if (op === "Transpose") {
      const rank = yd.length, inStrides = new Array(rank);
      for (let a = rank - 1, s = 1; a >= 0; a--) inStrides[a] = s, s *= xd[a];
      const pad = new Array(8 - rank).fill(1);
      step("transpose", new Words().int(total, rank, ...yd, ...pad, ...attrs.perm.map((p) => inStrides[p]),
        ...pad.map(() => 0)), [x, y], total);
    } else if (op === "Resize") {
      const rank = yd.length, inStrides = new Array(rank);
      for (let a = rank - 1, s = 1; a >= 0; a--) inStrides[a] = s, s *= xd[a];
      const r = resizeTables(attrs, xd, yd);
      const fill = (v, n) => new Array(8 - n).fill(v);
      step("resize", new Words().int(total, rank, r.linear ? 1 : 0, ...yd, ...fill(1, rank), ...inStrides, ...fill(0, rank),
        ...r.offsets, ...fill(0, rank), r.mask), [x, "table", y], total, r.table);
    } else if (op === "Pad") {
      const rank = yd.length, inStrides = new Array(rank);
      for (let a = rank - 1, s = 1; a >= 0; a--) inStrides[a] = s, s *= xd[a];
      const r = padTables(attrs, xd, yd);
      const fill = (v, n) => new Array(8 - n).fill(v);
      step("pad", new Words().int(total, rank).float(one(attrs.value, 0)).int(...yd, ...fill(1, rank), ...inStrides,
        ...fill(0, rank), ...r.offsets, ...fill(0, rank)), [x, "table", y], total, r.table);
    } else if (op === "Softmax") {
      const axis = one(attrs.axis, yd.length - 1), inner = numel(yd.slice(axis + 1));
      const rows = numel(yd.slice(0, axis)) * inner;
      step("softmax", new Words().int(rows, yd[axis], inner), [x, y], rows);
    } else {
      throw new Error(`no WGSL kernel for op '${op}'`); // refusal() keeps this unreachable
    }
  }
  return { alias, steps };
}
