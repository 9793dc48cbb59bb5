// Bad files and bad feeds: every failure is a SparsegateError with a message, never a trap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Session, SparsegateError } from "../../web/src/node.js";
import { expected, fixCrcs, fixtureBytes, fixturePath, rng, sections } from "./helpers.mjs";

const CNN = expected("tiny_cnn");
const GOOD = fixtureBytes("tiny_cnn.sgm");

/** Loads `bytes`; returns the SparsegateError, or null when the file loaded (and ran). */
async function tryLoad(bytes) {
  let s;
  try {
    s = await Session.create(bytes);
  } catch (e) {
    assert.ok(e instanceof SparsegateError, `not a SparsegateError: ${e?.stack ?? e}`);
    assert.notEqual(e.code, "trap", `runtime trapped: ${e.message}`);
    assert.ok(e.message.length > 0);
    return e;
  }
  try {
    // A mutation the loader accepts must still run (or fail) cleanly.
    const feeds = Object.fromEntries(s.inputs.map((t) => [t.name, {
      data: new Float32Array(t.dims.reduce((n, d) => n * d, 1)), dims: t.dims }]));
    await s.run(feeds).catch((e) => {
      assert.ok(e instanceof SparsegateError && e.code !== "trap", `run: ${e?.stack ?? e}`);
    });
    s.stats();
  } finally {
    s.release();
  }
  return null;
}

test("empty, garbage and wrong magic are format errors", async () => {
  const garbage = new Uint8Array(256).map((_, i) => (i * 7919) & 0xff);
  const wrongMagic = GOOD.slice();
  wrongMagic[0] = 0x58;
  const wrongMajor = GOOD.slice();
  wrongMajor[4] = 9;
  for (const bytes of [new Uint8Array(0), new Uint8Array(3), garbage, wrongMagic, wrongMajor]) {
    const e = await tryLoad(bytes);
    assert.ok(e, "loaded a bad file");
    assert.equal(e.code, "format", e.message);
  }
});

test("every truncation fails cleanly", async () => {
  for (let n = 0; n < GOOD.length; n += n < 128 ? 1 : 29) {
    const e = await tryLoad(GOOD.slice(0, n));
    assert.ok(e, `loaded a file truncated to ${n} bytes`);
    assert.equal(e.code, "format", `truncated to ${n}: ${e.message}`);
  }
});

test("a flipped byte in any section fails its checksum", async () => {
  for (const s of sections(GOOD)) {
    const bytes = GOOD.slice();
    bytes[s.offset + (s.size >> 1)] ^= 0x5a;
    const e = await tryLoad(bytes);
    assert.ok(e, `flip in ${s.kind} went unnoticed`);
    assert.equal(e.code, "format", e.message);
  }
});

test("mutations behind valid checksums never trap", async () => {
  const next = rng(1234);
  const grph = sections(GOOD).find((s) => s.kind === "GRPH");
  for (let k = 0; k < 300; k++) {
    const bytes = GOOD.slice();
    const flips = 1 + Math.floor(next() * 3);
    for (let f = 0; f < flips; f++) {
      const at = k % 3 === 0 ? Math.floor(next() * 64 + 64) // header fields and section table
        : grph.offset + Math.floor(next() * grph.size);
      bytes[at] = Math.floor(next() * 256);
    }
    await tryLoad(fixCrcs(bytes));
  }
});

test("wrong feeds name the input, expected and got", async () => {
  const s = await Session.create(fixturePath("tiny_cnn.sgm"));
  const x = CNN.inputs.x.data;
  const cases = [
    [{ x: { data: x, dims: [1, 3, 8, 9] } }, /"x".*\[1, 3, 8, 8\].*\[1, 3, 8, 9\]/],
    [{ x: { data: x, dims: [3, 8, 8] } }, /"x".*\[1, 3, 8, 8\].*\[3, 8, 8\]/],
    [{ x: { data: x.subarray(1), dims: [1, 3, 8, 8] } }, /"x".*192.*191/],
    [{ x: { data: x.subarray(1) } }, /"x".*192.*191/],
    [{}, /missing input "x"/],
    [{ x: CNN.inputs.x, y: CNN.inputs.x }, /unknown input "y"/],
    [{ x: 3 }, /"x"/],
    [null, /feeds/],
  ];
  for (const [feeds, re] of cases) {
    await assert.rejects(s.run(feeds), (e) => {
      assert.ok(e instanceof SparsegateError, String(e));
      assert.equal(e.code, "input");
      assert.match(e.message, re);
      return true;
    });
  }
  // The session still works after refused feeds.
  const out = await s.run(CNN.inputs);
  assert.equal(out.probs.data.length, 5);
  s.release();
});

test("a missing file or a bad source is an io or input error", async () => {
  await assert.rejects(Session.create("/nonexistent/model.sgm"),
    (e) => e instanceof SparsegateError && e.code === "io" && /nonexistent/.test(e.message));
  await assert.rejects(Session.create(42), (e) => e instanceof SparsegateError && e.code === "input");
  await assert.rejects(Session.create(GOOD, { wasm: "/nonexistent/sparsegate.wasm" }),
    (e) => e instanceof SparsegateError && e.code === "io");
  await assert.rejects(Session.create(GOOD, { wasm: new Uint8Array([0, 97, 115, 109, 9]) }),
    (e) => e instanceof SparsegateError && e.code === "io" && /WebAssembly/.test(e.message));
});
