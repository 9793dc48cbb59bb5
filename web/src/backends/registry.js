// Backends by name. A backend is { name, supports(backendSession-independent options),
// create(bytesPromise, options) → backend session }; a backend session has inputs, outputs
// ([{name, dims, type}]), metadataText, info, run(arrays), setGate, stats, runRange, release.
// Adding one is one more folder and one registerBackend call in index.js. A backend with
// `auto: false` (webgpu, for now) runs only when asked for by name; its `autoReason` says why.

import { SparsegateError, warnOnce } from "../errors.js";

const backends = new Map(); // name -> backend, in order of preference for "auto"

export function registerBackend(backend) {
  backends.set(backend.name, backend);
}

export function backendNames() {
  return [...backends.keys()];
}

/** The backends to try, in order, for options.backend / options.executionProviders. */
export function pickBackends(options) {
  const names = backendNames();
  let wanted;
  if (options.backend !== undefined && options.backend !== "auto") wanted = [options.backend];
  else if (options.executionProviders !== undefined) {
    wanted = Array.from(options.executionProviders, (p) => (typeof p === "string" ? p : p?.name))
      .map((p) => (p === "cpu" ? "wasm" : p));
  } else return names.map((n) => backends.get(n)).filter((b) => b.auto !== false);
  const found = wanted.filter((n) => backends.has(n));
  if (found.length === 0) {
    throw new SparsegateError(`backend ${wanted.map((n) => `"${n}"`).join(", ")} is not available `
      + `(this build has: ${names.map((n) => `"${n}"`).join(", ")})`, "backend");
  }
  const missing = wanted.filter((n) => !backends.has(n));
  if (missing.length) warnOnce(`backend ${missing.join(", ")} is not available in this build: using ${found.join(", ")}`);
  return found.map((n) => backends.get(n));
}

/** Why "auto" skipped the backends it never picks ("" when none). */
export function autoNote() {
  return [...backends.values()].filter((b) => b.auto === false).map((b) => b.autoReason).filter(Boolean).join("; ");
}
