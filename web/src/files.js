// The runtime files, each located with the literal `new URL("./file", import.meta.url)` that
// Vite, webpack 5 and Rollup recognise and emit. This module sits beside the files so that an
// esbuild bundle (which keeps the expression but not the file) finds them once they are copied
// next to the bundle. `env.wasm.wasmPaths` overrides all of it.

import { env } from "./env.js";

export const RUNTIME_FILES = Object.freeze(
  ["sparsegate.wasm", "sparsegate-mt.mjs", "sparsegate-mt.wasm", "sparsegate-mt.worker.js"]);

function packagedUrl(file) {
  switch (file) {
    case "sparsegate.wasm": return new URL("./sparsegate.wasm", import.meta.url);
    case "sparsegate-mt.mjs": return new URL("./sparsegate-mt.mjs", import.meta.url);
    case "sparsegate-mt.wasm": return new URL("./sparsegate-mt.wasm", import.meta.url);
    case "sparsegate-mt.worker.js": return new URL("./sparsegate-mt.worker.js", import.meta.url);
    default: throw new Error(`not a runtime file: ${file}`);
  }
}

/** The URL of runtime file `file`, after `env.wasm.wasmPaths`. */
export function runtimeFileUrl(file) {
  const paths = env.wasm.wasmPaths;
  const base = globalThis.location?.href;
  if (typeof paths === "string" || paths instanceof URL) {
    return new URL(file, new URL(String(paths).replace(/\/?$/, "/"), base));
  }
  if (paths && typeof paths === "object" && paths[file]) return new URL(String(paths[file]), base);
  return packagedUrl(file);
}

/** The module worker of worker mode, with the literal that Vite and webpack bundle as a worker. */
export function startSessionWorker() {
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
}
