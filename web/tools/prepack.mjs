// `npm pack` / `npm publish` refuse to ship a package without its runtime (a clean tree has
// none: the files are build outputs of `make wasm wasm-mt`).
import { existsSync } from "node:fs";
import { RUNTIME_FILES } from "../src/files.js";

const missing = [...RUNTIME_FILES, "sparsegate-mt.worker.cjs"].filter((f) => !existsSync(new URL(`../src/${f}`, import.meta.url)));
if (missing.length) {
  console.error(`sparsegate: cannot pack without the runtime: web/src/${missing.join(", web/src/")} missing; `
    + "run `make wasm wasm-mt` in the repository first");
  process.exit(1);
}
