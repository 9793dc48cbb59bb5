// sparsegate: run `.sgm` models in browsers and Node with one small WebAssembly runtime.
// This is the browser (and default) entry: it reaches no `node:` module; node.js adds the
// Node host. Layers: session.js (backend-free: options, feeds, metadata, outputs) over
// backends/ (registry.js; wasm/, wasm-threads/, webgpu/), host.js (I/O), worker/ (worker mode).

import { registerBackend } from "./backends/registry.js";
import { wasmBackend } from "./backends/wasm/index.js";
import { webgpuBackend } from "./backends/webgpu/index.js";
import { Session } from "./session.js";

registerBackend(wasmBackend);
registerBackend(webgpuBackend); // after wasm, and never by "auto" (backends/webgpu/index.js)

export { Session };
export { env } from "./env.js";
export { SparsegateError } from "./errors.js";
export { Tensor } from "./tensor.js";
export { runtimeVersion } from "./backends/wasm/index.js";
export { WEBGPU_OPS } from "./backends/webgpu/index.js";
export { capabilities } from "./capabilities.js";
export { clearModelCache } from "./cache.js";
export { RUNTIME_FILES } from "./files.js";
export { imageToTensor, Transform } from "./vision/images.js";
export { decodeDetections, topK } from "./vision/detect.js";
export default Session;
