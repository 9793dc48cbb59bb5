import assert from "node:assert/strict";
import { test } from "node:test";

import { capabilities, WEBGPU_OPS } from "../../web/src/node.js";

test("capabilities: SIMD and threads in Node, no WebGPU, never a throw", async () => {
  const caps = await capabilities();
  assert.equal(caps.simd, true);
  assert.equal(caps.threads.available, true);
  assert.equal(typeof caps.threads.hardwareConcurrency, "number");
  assert.deepEqual(caps.webgpu, { reason: "no navigator.gpu" });
  assert.ok(WEBGPU_OPS.includes("Conv") && !WEBGPU_OPS.includes("ConvInt8"));
});
