// The Session API on the tiny fixtures: loading from every kind of source, numbers, metadata,
// stats, gating and release. Run with `node --test tests/js/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Session, SparsegateError, runtimeVersion } from "../../web/src/node.js";
import { assertClose, expected, fixtureBytes, fixturePath, FIXTURES, WASM } from "./helpers.mjs";

const CNN = expected("tiny_cnn");

test("tiny_cnn: names, dims, metadata", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  assert.equal(s.backend, "wasm");
  assert.deepEqual(s.inputNames, ["x"]);
  assert.deepEqual(s.outputNames, ["logits", "probs"]);
  assert.deepEqual(s.inputs, [{ name: "x", dims: [1, 3, 8, 8], type: "float32" }]);
  assert.deepEqual(s.outputs, [{ name: "logits", dims: [1, 5], type: "float32" }, { name: "probs", dims: [1, 5], type: "float32" }]);
  assert.equal(s.metadata.task, "classification");
  assert.deepEqual(s.metadata.labels, ["ant", "bee", "cat", "dog", "eel"]);
  assert.deepEqual(s.metadata.inputs[0], { name: "x", shape: [1, 3, 8, 8], dtype: "float32" });
  assert.match(s.runtimeVersion, /^\d+\.\d+\.\d+$/);
  s.release();
});

test("tiny_cnn: outputs match numpy", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  const out = await s.run(CNN.inputs);
  assert.deepEqual(Object.keys(out).sort(), ["logits", "probs"]);
  for (const [name, want] of Object.entries(CNN.outputs)) {
    assert.ok(out[name].data instanceof Float32Array);
    assert.deepEqual(out[name].dims, want.dims);
    assertClose(out[name].data, want.data, { what: name });
  }
  // Outputs are copies: a second run on other data leaves the first result intact.
  const first = out.logits.data.slice();
  const again = await s.run({ x: { data: new Float32Array(192).fill(0.25), dims: [1, 3, 8, 8] } });
  assert.deepEqual(out.logits.data, first);
  assert.notDeepEqual(again.logits.data, first);
  // Repeated runs on the same input are deterministic.
  const third = await s.run(CNN.inputs);
  assert.deepEqual(third.logits.data, first);
  s.release();
});

test("model from bytes, ArrayBuffer, Buffer, file URL and Response", async () => {
  const bytes = fixtureBytes("tiny_cnn.sgm");
  const sources = [
    bytes,
    bytes.slice().buffer,
    readFileSync(new URL("tiny_cnn.sgm", FIXTURES)),
    new URL("tiny_cnn.sgm", FIXTURES),
    new URL("tiny_cnn.sgm", FIXTURES).href,
    new Response(bytes),
  ];
  for (const src of sources) {
    const s = await Session.create(src);
    const out = await s.run(CNN.inputs);
    assertClose(out.probs.data, CNN.outputs.probs.data, { what: `probs (${src.constructor.name})` });
    s.release();
  }
});

test("options.wasm as bytes, path and compiled module", async () => {
  const wasmBytes = new Uint8Array(readFileSync(WASM));
  const module = await WebAssembly.compile(wasmBytes);
  for (const wasm of [wasmBytes, fileURLToPath(WASM), WASM, module]) {
    const s = await Session.create(fixtureBytes("two_inputs.sgm"), { wasm, backend: "wasm" });
    assert.deepEqual(s.inputNames, ["a", "b"]);
    s.release();
  }
  assert.match(await runtimeVersion(), /^\d+\.\d+\.\d+$/);
});

test("two inputs, two outputs: names map to the right tensors", async () => {
  const { inputs, outputs } = expected("two_inputs");
  const s = await Session.create(fixturePath("two_inputs.sgm"));
  // Feed keys in reverse order, and plain arrays instead of Float32Array.
  const out = await s.run({ b: { data: Array.from(inputs.b.data), dims: [2, 3] }, a: inputs.a });
  assertClose(out.sum.data, outputs.sum.data, { what: "sum" });
  assertClose(out.prod.data, outputs.prod.data, { what: "prod" });
  s.release();
});

test("stats: MACs and per-layer entries", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  await s.run(CNN.inputs);
  const st = s.stats();
  const convMacs = 4 * 3 * 3 * 3 * 8 * 8; // 6912
  assert.ok(st.macsDense >= convMacs, `macsDense ${st.macsDense} < ${convMacs}`);
  assert.equal(st.macsExecuted, st.macsDense, "no gates: every MAC runs");
  assert.ok(st.arenaBytes > 0);
  assert.equal(st.layers.length, 5);
  const conv = st.layers.find((l) => l.name === "conv");
  assert.equal(conv.op, "Conv");
  assert.equal(conv.macsDense, convMacs);
  assert.deepEqual(st.layers.map((l) => l.op), ["Conv", "GlobalAveragePool", "Reshape", "Gemm", "Softmax"]);
  const sum = st.layers.reduce((n, l) => n + l.macsDense, 0);
  assert.equal(sum, st.macsDense);
  s.release();
});

test("setGate on a model without gates changes nothing", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  const dense = await s.run(CNN.inputs);
  s.setGate(1);
  const gated = await s.run(CNN.inputs);
  assert.deepEqual(gated.logits.data, dense.logits.data);
  s.setGate(0);
  for (const bad of [-0.1, 1.5, NaN, "0.5", undefined]) {
    assert.throws(() => s.setGate(bad), (e) => e instanceof SparsegateError && e.code === "input");
  }
  s.release();
});

test("release: later calls throw, a second release does nothing", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  const out = await s.run(CNN.inputs);
  s.release();
  s.release();
  assertClose(out.probs.data, CNN.outputs.probs.data, { what: "probs after release" });
  const released = (e) => e instanceof SparsegateError && e.code === "released";
  await assert.rejects(s.run(CNN.inputs), released);
  assert.throws(() => s.stats(), released);
  assert.throws(() => s.setGate(0), released);
  assert.throws(() => s.inputNames, released);
  assert.throws(() => s.metadata, released);
});

test("sessions are independent", async () => {
  const a = await Session.create(fixturePath("tiny_cnn.sgm"));
  const b = await Session.create(fixturePath("tiny_cnn.sgm"));
  a.release();
  const out = await b.run(CNN.inputs);
  assertClose(out.logits.data, CNN.outputs.logits.data, { what: "logits" });
  b.release();
});

test("unknown backend is refused", async () => {
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { backend: "webgpu" }),
    (e) => e instanceof SparsegateError && e.code === "backend" && /webgpu/.test(e.message));
});
