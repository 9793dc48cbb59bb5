// The "webgpu" backend: WGSL kernels (./wgsl) on navigator.gpu. The model is loaded and
// validated by the wasm runtime (../wasm), which then hands over the graph and constants
// through the C ABI; this backend never parses the file. Models with an op it has no kernel
// for (gated, int8, sparse, …) are refused with "unsupported" naming the op; a host without
// WebGPU or without an adapter with "backend". "auto" does not pick it yet.

import { SparsegateError } from "../../errors.js";
import { wasmBackend } from "../wasm/index.js";
import { refusal } from "./plan.js";
import { createWebGPUSession } from "./session.js";

export { WEBGPU_OPS } from "./plan.js";

export const webgpuBackend = {
  name: "webgpu",
  auto: false,
  autoReason: "auto does not pick webgpu yet: its kernels are not measured on a real GPU (ask for backend: \"webgpu\")",

  async create(bytesPromise, options) {
    const gpu = globalThis.navigator?.gpu;
    let adapter = null, why = "this host has no navigator.gpu";
    if (gpu) {
      try {
        adapter = await gpu.requestAdapter();
        why = "navigator.gpu.requestAdapter() found no adapter";
      } catch (e) {
        why = `navigator.gpu.requestAdapter() failed: ${e?.message ?? e}`;
      }
    }
    if (!adapter) {
      await Promise.resolve(bytesPromise).catch(() => {});
      throw new SparsegateError(`webgpu: ${why}`, "backend");
    }
    const wasm = await wasmBackend.create(bytesPromise, { ...options, threads: 1 });
    try {
      const graph = wasm.graph();
      const refused = refusal(graph);
      if (refused) throw new SparsegateError(`webgpu: ${refused}; backend "wasm" runs it`, "unsupported");
      let device;
      try {
        device = await adapter.requestDevice({ label: "sparsegate" });
      } catch (e) {
        throw new SparsegateError(`webgpu: requestDevice failed: ${e?.message ?? e}`, "backend");
      }
      const a = adapter.info ?? {};
      const info = Object.freeze({
        ...wasm.info,
        backend: "webgpu",
        build: "sparsegate.wasm (loads and validates) + WGSL",
        threads: 1,
        adapter: Object.freeze({ vendor: a.vendor ?? "", architecture: a.architecture ?? "", device: a.device ?? "",
          description: a.description ?? "" }),
        precision: "f32",
        reason: "backend \"webgpu\" was asked for",
      });
      return await createWebGPUSession(device, wasm, graph, info);
    } catch (e) {
      wasm.release();
      throw e;
    }
  },
};
