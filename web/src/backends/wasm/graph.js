// The validated graph of a session, read through the C ABI (sg_session_tensor_*, node_*): what
// another executor (../webgpu) runs. The runtime's loader and every op's prepare have checked
// it, so no JS code parses the untrusted file a second time.

const DTYPES = { 1: "float32", 3: "int8", 6: "int32", 10: "float16" };

/** → {tensors: [{name, kind: "activation"|"constant"|"input", dtype, dims, data?}],
 *     nodes: [{name, op, inputs: [tensor index | -1], outputs, attrs: {name: number[] | string}}]}.
 * Constants' data are copies (float32 constants as Float32Array, others as Uint8Array). */
export function readGraph(rt, s) {
  const ex = rt.ex;
  const check = (v, what) => {
    if (v < -1 || Number.isNaN(v)) throw new Error(`${what}: ${rt.lastError("out of range")}`);
    return v;
  };
  const tensors = [];
  for (let t = 0, n = check(ex.sg_session_tensor_count(s), "tensor count"); t < n; t++) {
    const rank = check(ex.sg_session_tensor_rank(s, t), `tensor ${t}`);
    const dims = Array.from({ length: rank }, (_, a) => check(ex.sg_session_tensor_dim(s, t, a), `tensor ${t}`));
    const kind = ["activation", "constant", "input"][ex.sg_session_tensor_kind(s, t)];
    const dtype = DTYPES[ex.sg_session_tensor_dtype(s, t)] ?? "unknown";
    const tensor = { name: rt.cstring(ex.sg_session_tensor_name(s, t)), kind, dtype, dims };
    if (kind === "constant") {
      const ptr = ex.sg_session_tensor_data(s, t), size = ex.sg_session_tensor_data_size(s, t) >>> 0;
      const bytes = rt.bytes(ptr, size);
      tensor.data = dtype === "float32" ? new Float32Array(bytes.buffer, 0, size >>> 2) : bytes;
    }
    tensors.push(tensor);
  }
  const nodes = [];
  for (let n = 0, count = ex.sg_session_node_count(s); n < count; n++) {
    const list = (kind) => Array.from({ length: check(ex[`sg_session_node_${kind}_count`](s, n), `node ${n}`) },
      (_, i) => check(ex[`sg_session_node_${kind}`](s, n, i), `node ${n} ${kind} ${i}`));
    const attrs = {};
    for (let a = 0, na = check(ex.sg_session_node_attr_count(s, n), `node ${n}`); a < na; a++) {
      const name = rt.cstring(ex.sg_session_node_attr_name(s, n, a));
      const type = ex.sg_session_node_attr_type(s, n, a), size = ex.sg_session_node_attr_size(s, n, a);
      attrs[name] = type === 3 ? rt.cstring(ex.sg_session_node_attr_string(s, n, a))
        : Array.from({ length: size }, (_, i) => ex.sg_session_node_attr_value(s, n, a, i));
    }
    nodes.push({ name: rt.cstring(ex.sg_session_node_name(s, n)), op: rt.cstring(ex.sg_session_node_op(s, n)),
      inputs: list("input"), outputs: list("output"), attrs });
  }
  return { tensors, nodes };
}
