// The one error type of the package. `code` says what failed, so callers branch on it rather
// than on message text; the codes survive the worker boundary (worker/proxy.js).

/** Every failure of this package. `code`:
 * - from the runtime: "format" (bad .sgm), "unsupported", "invalid", "memory", "limit";
 * - "input" (a bad feed or argument), "io" (reading a file, URL or the runtime),
 *   "trap" (the runtime aborted; the session is unusable), "released", "backend". */
export class SparsegateError extends Error {
  constructor(message, code = "invalid") {
    super(message);
    this.name = "SparsegateError";
    this.code = code;
  }
}

/** SG_ERR_* of wasm/include/sparsegate.h → code. */
export const RUNTIME_ERROR_CODES = Object.freeze({ 1: "format", 2: "unsupported", 3: "invalid", 4: "memory", 5: "limit" });

const warned = new Set();

/** console.warn once per page for each message (a page may create many sessions). */
export function warnOnce(message) {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`sparsegate: ${message}`);
}
