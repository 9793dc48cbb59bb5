// The Node half of `host` (../host.js): file paths, CPU count and the pthreads glue, which in
// Emscripten 3.1 needs `require`/`__dirname` while it starts and CommonJS workers.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { SparsegateError } from "../errors.js";
import { setHost } from "../host.js";

const toPath = (p) => (String(p).startsWith("file:") ? fileURLToPath(String(p)) : String(p));

setHost({
  node: true,
  async readPath(src, what) {
    const path = toPath(src);
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw new SparsegateError(`${what}: cannot read ${path}: ${e.message}`, "io");
    }
  },
  hardwareThreads: () => os.availableParallelism?.() ?? os.cpus().length,
  threadsAllowed: () => true,
  async startThreadsGlue(glueUrl, args, start) {
    const path = toPath(glueUrl);
    const saved = { require: globalThis.require, __dirname: globalThis.__dirname };
    globalThis.require = createRequire(path);
    globalThis.__dirname = path.slice(0, path.lastIndexOf("/"));
    try {
      return start(); // the glue reads both synchronously, in this call only
    } finally {
      Object.assign(globalThis, saved);
    }
  },
  // web/package.json makes .js files ES modules; the workers are CommonJS, hence the copy.
  threadsWorkerUrl: (url) => toPath(url).replace(/\.worker\.js$/, ".worker.cjs"),
});
