// The webgpu backend's plan without a GPU: the graph comes from the wasm runtime's exports
// (backends/wasm/graph.js), and plan.js turns it into dispatches or names what it refuses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import "../../web/src/node.js";
import { wasmBackend } from "../../web/src/backends/wasm/index.js";
import { plan, refusal } from "../../web/src/backends/webgpu/plan.js";
import { fixtureBytes } from "./helpers.mjs";

async function graphOf(bytes) {
  const s = await wasmBackend.create(Promise.resolve(bytes), { threads: 1 });
  try {
    return s.graph();
  } finally {
    s.release();
  }
}

test("tiny_cnn: the runtime's graph becomes one dispatch per node, Reshape an alias", async () => {
  const g = await graphOf(fixtureBytes("tiny_cnn.sgm"));
  assert.deepEqual(g.nodes.map((n) => n.op), ["Conv", "GlobalAveragePool", "Reshape", "Gemm", "Softmax"]);
  const conv = g.nodes[0];
  assert.equal(conv.attrs.activation, "Relu");
  assert.deepEqual(conv.attrs.pads, [1, 1, 1, 1]);
  const w = g.tensors[conv.inputs[1]];
  assert.equal(w.kind, "constant");
  assert.equal(w.data.length, w.dims.reduce((a, b) => a * b, 1));
  assert.equal(refusal(g), null);
  const p = plan(g);
  assert.deepEqual(p.steps.map((s) => s.kernel), ["conv", "globalAveragePool", "gemm", "softmax"]);
  const reshape = g.nodes[2];
  assert.equal(p.alias.get(reshape.outputs[0]), reshape.inputs[0]);
});

test("a gated model is refused naming the op and node", async () => {
  const g = await graphOf(new Uint8Array(readFileSync(new URL("../fixtures/fashion_gated.sgm", import.meta.url))));
  assert.match(refusal(g), /no WGSL kernel for gated op 'Conv' \(node '[^']+'\)/);
});
