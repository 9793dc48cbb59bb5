// The pthreads build (sparsegate-mt) through the JS package in Node: thread selection,
// identical outputs to the single-thread build, and a clean shutdown of its workers.
// Models with enough work to split: $SPARSEGATE_THREADS_MODELS (a comma-separated list of
// .sgm paths, set by tests/test_threads.py), else the tiny fixtures only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Session, SparsegateError } from "../../web/src/node.js";
import { expected, fixturePath } from "./helpers.mjs";

const MT = fileURLToPath(new URL("../../web/src/sparsegate-mt.mjs", import.meta.url));
const skip = existsSync(MT) ? false : "web/src/sparsegate-mt.mjs is missing (make wasm-mt)";
const MODELS = (process.env.SPARSEGATE_THREADS_MODELS ?? "").split(",").filter(Boolean);

function seeded(n, seed = 3) {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

async function runBoth(model, feeds) {
  const one = await Session.create(model, { threads: 1 });
  const two = await Session.create(model, { threads: 2 });
  try {
    assert.equal(one.backendInfo.build, "sparsegate.wasm");
    assert.equal(two.backendInfo.build, "sparsegate-mt");
    assert.equal(two.threads, 2);
    if (!feeds) {
      const info = one.inputs[0];
      feeds = { [info.name]: { data: seeded(info.dims.reduce((n, d) => n * d, 1)), dims: info.dims } };
    }
    const a = await one.run(feeds), b = await two.run(feeds), c = await two.run(feeds);
    for (const name of one.outputNames) {
      // The split never changes what a chunk computes: bit-identical, not merely close.
      assert.deepEqual(b[name].data, a[name].data, `${model}: output ${name}, 2 threads vs 1`);
      assert.deepEqual(c[name].data, a[name].data, `${model}: output ${name}, second run`);
    }
    assert.deepEqual(two.stats().macsDense, one.stats().macsDense);
  } finally {
    one.release();
    two.release();
  }
}

test("threads: default in Node is the standalone build on one thread", { skip }, async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  assert.equal(s.threads, 1);
  assert.equal(s.backendInfo.build, "sparsegate.wasm");
  assert.equal(s.backendInfo.requestedThreads, "auto");
  assert.match(s.backendInfo.reason, /Node/);
  s.release();
});

test("threads: invalid values are refused", async () => {
  for (const bad of [0, -1, 1.5, "two", null]) {
    await assert.rejects(Session.create(fixturePath("tiny_cnn.sgm"), { threads: bad }),
      (e) => e instanceof SparsegateError && e.code === "input");
  }
});

test("threads: tiny_cnn on 2 threads equals 1 thread", { skip }, async () => {
  await runBoth(fixturePath("tiny_cnn.sgm"), expected("tiny_cnn").inputs);
});

test("threads: sessions share one pthreads instance; release stops it", { skip }, async () => {
  const a = await Session.create(fixturePath("tiny_cnn.sgm"), { threads: 2 });
  const b = await Session.create(fixturePath("two_inputs.sgm"), { threads: 2 });
  const want = expected("two_inputs");
  const out = await b.run(want.inputs);
  for (const [k, v] of Object.entries(want.outputs)) {
    for (let i = 0; i < v.data.length; i++) assert.ok(Math.abs(out[k].data[i] - v.data[i]) <= 1e-5 + 1e-4 * Math.abs(v.data[i]));
  }
  a.release();
  await b.run(want.inputs); // still fine after the other session is gone
  b.release();
  assert.throws(() => b.stats(), (e) => e.code === "released");
});

for (const model of MODELS) {
  test(`threads: ${model.split("/").pop()} on 2 threads equals 1 thread`, { skip }, async () => {
    await runBoth(model);
  });
}
