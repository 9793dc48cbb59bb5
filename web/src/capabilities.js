// What this page (or Node) offers the backends, for a page to decide and for benchmarks to
// print: wasm SIMD, wasm threads, and the WebGPU adapter (features, shader-f16, limits).

import { host } from "./host.js";

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): valid only with SIMD.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

const LIMITS = ["maxBufferSize", "maxStorageBufferBindingSize", "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension"];

/** → {simd, threads: {available, crossOriginIsolated, hardwareConcurrency},
 *     webgpu: null | {reason} | {vendor, architecture, device, description, features, shaderF16, limits}}.
 * Never throws: a missing or failing piece is reported, not raised. */
export async function capabilities() {
  let simd = false;
  try {
    simd = WebAssembly.validate(SIMD_PROBE);
  } catch { /* no WebAssembly */ }
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = { available: host.node || (isolated && typeof SharedArrayBuffer === "function"),
    crossOriginIsolated: isolated, hardwareConcurrency: globalThis.navigator?.hardwareConcurrency ?? 1 };
  let webgpu;
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) webgpu = { reason: "no navigator.gpu" };
  else {
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) webgpu = { reason: "requestAdapter() found no adapter" };
      else {
        const a = adapter.info ?? {};
        webgpu = { vendor: a.vendor ?? "", architecture: a.architecture ?? "", device: a.device ?? "",
          description: a.description ?? "", features: [...adapter.features].sort(),
          shaderF16: adapter.features.has("shader-f16"),
          limits: Object.fromEntries(LIMITS.map((k) => [k, adapter.limits[k]])) };
      }
    } catch (e) {
      webgpu = { reason: `requestAdapter() failed: ${e?.message ?? e}` };
    }
  }
  return { simd, threads, webgpu };
}
