// Every wrong feed → its SparsegateError "input" and message (the Python table is
// tests/test_feed_errors.py): a wrong dtype is never cast, a wrong shape names both shapes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Session, SparsegateError, Tensor } from "../../web/src/node.js";
import { fixturePath } from "./helpers.mjs";

const N = 192; // tiny_cnn: x [1, 3, 8, 8]
const holey = new Array(N);
holey[0] = 1;
const CASES = [
  ["Int32Array", { x: new Int32Array(N) }, /input "x": expected dtype float32 \(Float32Array\), got int32 \(Int32Array\)/],
  ["BigInt64Array", { x: new BigInt64Array(N) }, /expected dtype float32 \(Float32Array\), got int64 \(BigInt64Array\)/],
  ["Uint8Array", { x: { data: new Uint8Array(N), dims: [1, 3, 8, 8] } }, /got uint8 \(Uint8Array\)/],
  ["Float64Array", { x: new Float64Array(N) }, /got float64 \(Float64Array\)/],
  ["int64 Tensor", { x: new Tensor("int64", new BigInt64Array(N), [1, 3, 8, 8]) }, /input "x": expected dtype float32, got int64$/],
  ["onnxruntime-web style Tensor", { x: { type: "int32", data: new Int32Array(N), dims: [1, 3, 8, 8] } }, /expected dtype float32, got int32/],
  ["dims", { x: { data: new Float32Array(N), dims: [1, 3, 8, 9] } }, /input "x": expected dims \[1, 3, 8, 8\], got \[1, 3, 8, 9\]/],
  ["rank", { x: { data: new Float32Array(N), dims: [3, 8, 8] } }, /expected dims \[1, 3, 8, 8\], got \[3, 8, 8\]/],
  ["length", { x: new Float32Array(N - 1) }, /expected 192 values for dims \[1, 3, 8, 8\], got 191/],
  ["hole", { x: holey }, /input "x": element 1 is a hole in the array/],
  ["string element", { x: Array.from({ length: N }, (_, i) => (i === 5 ? "5" : 0)) }, /element 5 is a string, not a number/],
  ["string feed", { x: "hello" }, /input "x": expected a Tensor, \{data, dims\} or a typed array, got a string/],
  ["no feeds", null, /feeds must be an object of input name → tensor, got null/],
  ["array of feeds", [new Float32Array(N)], /feeds must be an object .* got an Array/],
  ["unknown input", { x: new Float32Array(N), y: new Float32Array(N) }, /unknown input "y" \(inputs: x\)/],
  ["__proto__ input", { ["__proto__"]: new Float32Array(N) }, /unknown input "__proto__"/],
  ["missing input", {}, /missing input "x" \(expected float32 \[1, 3, 8, 8\]\)/],
];

test("every wrong feed is a SparsegateError naming expected and given", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  for (const [what, feeds, message] of CASES) {
    await assert.rejects(s.run(feeds), (e) => {
      assert.ok(e instanceof SparsegateError, `${what}: ${e}`);
      assert.equal(e.code, "input", what);
      assert.match(e.message, message, what);
      return true;
    });
  }
  // The session is still fine after all of them.
  const out = await s.run({ x: new Tensor("float32", new Float32Array(N), [1, 3, 8, 8]) });
  assert.ok(out.logits instanceof Tensor && out.logits.type === "float32");
  assert.deepEqual(out.logits.dims, [1, 5]);
  s.release();
});

test("plain arrays of numbers are float32 feeds; Tensor checks its own arguments", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  const a = await s.run({ x: Array.from({ length: N }, (_, i) => i / N) });
  const b = await s.run({ x: Float32Array.from({ length: N }, (_, i) => i / N) });
  assert.deepEqual(a.logits.data, b.logits.data);
  s.release();
  assert.throws(() => new Tensor("float32", new Int32Array(4), [4]), /needs a Float32Array, got a Int32Array/);
  assert.throws(() => new Tensor("float32", new Float32Array(4), [3]), /hold 3 values, data has 4/);
  assert.throws(() => new Tensor("complex", [1], [1]), /unknown type "complex"/);
  const t = new Tensor([1, 2, 3], [3]);
  assert.equal(t.type, "float32");
  t.dispose();
  assert.throws(() => t.data, (e) => e.code === "released");
});

test("unknown options warn and name the supported ones; a missing backend is an error", async () => {
  const warned = [];
  const warn = console.warn;
  console.warn = (m) => warned.push(m);
  try {
    const s = await Session.create(fixturePath("tiny_cnn.sgm"), { executionProvider: ["wasm"], numThread: 2 });
    s.release();
  } finally {
    console.warn = warn;
  }
  assert.equal(warned.length, 1);
  assert.match(warned[0], /ignores unknown options executionProvider, numThread \(supported: backend, executionProviders/);
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { executionProviders: ["webnn"] }),
    (e) => e.code === "backend" && /"webnn" is not available \(this build has: "wasm", "webgpu"\)/.test(e.message));
  // Node has no navigator.gpu: webgpu refuses with "backend"; listed before wasm, wasm runs it
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { backend: "webgpu" }),
    (e) => e.code === "backend" && /webgpu: this host has no navigator.gpu/.test(e.message));
  const s = await Session.create(fixturePath("tiny_cnn.sgm"), { executionProviders: ["webgpu", "wasm"] });
  assert.equal(s.backend, "wasm");
  s.release();
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { worker: true }),
    (e) => e.code === "backend" && /Web Workers/.test(e.message));
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { maxMemory: -1 }),
    (e) => e.code === "input" && /maxMemory must be a number ≥ 0/.test(e.message));
  await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { maxMacs: 10 }),
    (e) => e.code === "limit" && e instanceof SparsegateError);
});
