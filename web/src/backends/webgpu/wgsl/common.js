// What every kernel shares: the parameter words (binding 0; floats as their bits), the fused
// activations of docs/ir.md with the codes of ACT below (the formulas of
// wasm/src/kernels/activation.h), and the flat invocation index over a 2-D dispatch.

export const ACT = Object.freeze({ "": 0, Relu: 1, Clip: 2, Sigmoid: 3, Silu: 4, HardSwish: 5, HardSigmoid: 6,
  LeakyRelu: 7, Tanh: 8 });

export const WORKGROUP = 64;

export const common = /* wgsl */ `
@group(0) @binding(0) var<storage, read> P: array<u32>;
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i]); }

fn act(x: f32, kind: u32, p0: f32, p1: f32) -> f32 {
  switch kind {
    case 1u: { return select(0.0, x, x > 0.0); }
    case 2u: { let t = select(x, p0, x < p0); return select(t, p1, t > p1); }
    case 3u: { return 1.0 / (1.0 + exp(-x)); }
    case 4u: { return x / (1.0 + exp(-x)); }
    case 5u: { return x * clamp(x * (1.0 / 6.0) + 0.5, 0.0, 1.0); }
    case 6u: { return clamp(p0 * x + p1, 0.0, 1.0); }
    case 7u: { return select(x, p0 * x, x < 0.0); }
    case 8u: { return tanh(clamp(x, -20.0, 20.0)); }
    default: { return x; }
  }
}

// One invocation per output element; P[0] is their count.
fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * ${WORKGROUP}u; }
`;

/** A kernel's module text: common + its bindings and body in \`fn main\`. */
export const kernel = (bindings, body) => `${common}
${bindings}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= P[0]) { return; }
${body}
}
`;
