// Node side of `sparsegate bench` (pytools/sparsegate/bench.py writes the config):
//   node bench/node_suite.mjs CONFIG.json          -> the suite's JSON on stdout
//   node bench/node_suite.mjs --cold sparsegate|onnxruntime-web MODEL DIMS THREADS
//                                                   -> one cold start (a fresh process each)
// onnxruntime-web's numThreads is per process: one process measures one thread count.
const t0 = performance.now();
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { coldStart, runSuite } from "./bench_core.mjs";

const WEB = fileURLToPath(new URL("../web/", import.meta.url));
const fetchBytes = async (p) => new Uint8Array(readFileSync(p));

async function importOrt() {
  const dist = dirname(createRequire(join(WEB, "package.json")).resolve("onnxruntime-web"));
  const ort = await import(pathToFileURL(join(dist, "ort.node.min.mjs")).href);
  return ort.default ?? ort;
}

async function main(argv) {
  if (argv[0] === "--cold") {
    const [, kind, model, dims, threads] = argv;
    const importRuntime = kind === "sparsegate"
      ? () => import("../web/src/node.js")
      : async () => ({ ort: await importOrt() });
    const r = await coldStart(kind, { t0, importRuntime, fetchBytes, model, dims: JSON.parse(dims),
                                      threads: Number(threads) });
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  const config = JSON.parse(readFileSync(argv[0], "utf8"));
  const { Session } = await import("../web/src/node.js");
  let ort = null;
  if ((config.models ?? []).some((m) => m.onnx) || (config.batches ?? []).some((b) => b.onnx)) {
    ort = await importOrt();
    ort.env.wasm.numThreads = config.threads ?? 1;
    ort.env.logLevel = "error";
  }
  const result = await runSuite(config, { Session, ort, fetchBytes });
  result.host = { engine: `node ${process.version}`, v8: process.versions.v8 };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
