// Shared by the Node tests: fixture paths, expected outputs and comparison.
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";

// SPARSEGATE_FIXTURES: a folder of freshly generated fixtures (tests/test_js.py sets it).
export const FIXTURES = process.env.SPARSEGATE_FIXTURES
  ? pathToFileURL(process.env.SPARSEGATE_FIXTURES.replace(/\/?$/, "/"))
  : new URL("../fixtures/", import.meta.url);
export const WASM = new URL("../../web/src/sparsegate.wasm", import.meta.url);

export const fixturePath = (name) => fileURLToPath(new URL(name, FIXTURES));
export const fixtureBytes = (name) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** { inputs, outputs } of `<name>.json`, each { name: { data: Float32Array, dims } }. */
export function expected(name) {
  const doc = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8"));
  const conv = (obj) => Object.fromEntries(Object.entries(obj).map(
    ([k, v]) => [k, { data: Float32Array.from(v.data), dims: v.dims }]));
  return { inputs: conv(doc.inputs), outputs: conv(doc.outputs) };
}

export function assertClose(got, want, { rtol = 1e-4, atol = 1e-5, what = "tensor" } = {}) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = atol + rtol * Math.abs(want[i]);
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Sections of an .sgm file: [{ kind, entry (table offset), offset, size }]. */
export function sections(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(12, true);
  return Array.from({ length: n }, (_, i) => {
    const entry = 64 + 32 * i;
    return {
      kind: String.fromCharCode(...bytes.subarray(entry, entry + 4)),
      entry,
      offset: Number(dv.getBigUint64(entry + 8, true)),
      size: Number(dv.getBigUint64(entry + 16, true)),
    };
  });
}

/** Rewrites every section CRC and the table CRC, so that a mutated file passes the checksums
 * and reaches the loader's structural checks. */
export function fixCrcs(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const secs = sections(bytes);
  for (const s of secs) {
    if (s.offset + s.size <= bytes.length) {
      dv.setUint32(s.entry + 24, crc32(bytes.subarray(s.offset, s.offset + s.size)), true);
    }
  }
  dv.setUint32(24, crc32(bytes.subarray(64, 64 + 32 * secs.length)), true);
  return bytes;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
