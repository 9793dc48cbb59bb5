// What differs between hosts, behind one object: the browser entry (index.js) uses these
// defaults; the Node entry (node.js) replaces them with file-system and worker_threads
// versions, so that no `node:` module is reachable from the browser entry.

import { SparsegateError } from "./errors.js";
import { describe } from "./tensor.js";

export const host = {
  node: false,
  /** Path → bytes; only the Node entry can read paths. */
  async readPath(path, what) {
    throw new SparsegateError(`${what}: "${path}" is a file path, and only Node reads files: in a page `
      + "pass a URL, bytes, a Response or a Blob (in Node, import the package's node entry)", "input");
  },
  hardwareThreads() {
    const n = globalThis.navigator?.hardwareConcurrency;
    return Number.isInteger(n) && n > 0 ? n : 1;
  },
  /** Whether shared memory and wasm threads can run here. */
  threadsAllowed: () => globalThis.crossOriginIsolated === true,
  /** Starts the Emscripten glue of the pthreads build: `start()` runs it. */
  startThreadsGlue: async (glueUrl, args, start) => start(),
  /** The URL a pthread worker loads (Node needs the CommonJS copy). */
  threadsWorkerUrl: (url) => url,
};

export function setHost(hooks) {
  Object.assign(host, hooks);
}

const isUrlLike = (s) => /^(https?|blob|data|file):/i.test(s);

/** Bytes of a model or wasm file given as bytes, a URL, a Response, a Blob or (Node) a path. */
export async function readBytes(src, what) {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (typeof Response !== "undefined" && src instanceof Response) return responseBytes(src, what);
  if (typeof Blob !== "undefined" && src instanceof Blob) return new Uint8Array(await src.arrayBuffer());
  if (typeof src !== "string" && !(src instanceof URL)) {
    throw new SparsegateError(`${what}: expected bytes, a URL, a Response, a Blob or a path, got ${describe(src)}`, "input");
  }
  const href = String(src);
  if (href.startsWith("file:") || (host.node && !isUrlLike(href))) return host.readPath(href, what);
  if (!isUrlLike(href) && !globalThis.location) return host.readPath(href, what);
  return responseBytes(await fetchOrThrow(new URL(href, globalThis.location?.href), what), what);
}

export async function fetchOrThrow(url, what, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new SparsegateError(`${what}: cannot fetch ${url}: ${e.message}`, "io");
  }
}

export async function responseBytes(response, what) {
  if (!response.ok) {
    throw new SparsegateError(`${what}: ${response.url || "fetch"} answered ${response.status}`, "io");
  }
  return new Uint8Array(await response.arrayBuffer());
}
