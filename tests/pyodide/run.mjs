// Runs a Python script inside Pyodide (Node, offline).
// Usage: node run.mjs [--wheel SPARSEGATE.whl --micropip MICROPIP.whl] SCRIPT.py [FILE…]
// The FILEs are copied to /data/<basename>. Without --wheel, the checkout's pure-Python package
// and its sparsegate.wasm are copied into Pyodide's file system; with it, nothing of the
// checkout is: micropip is loaded from its wheel, the script installs the sparsegate wheel
// (copied to /wheels/<basename>, its path in the global WHEEL) with micropip itself.
// Any request that would leave the machine fails the run. Prints what the script prints.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = join(root, "pytools", "sparsegate");
const site = "/home/pyodide/site";

function copyTree(py, dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "__pycache__") continue;
    if (statSync(path).isDirectory()) copyTree(py, path);
    else if (name.endsWith(".py") || name.endsWith(".wasm")) {
      const dest = join(site, "sparsegate", relative(pkg, path));
      py.FS.mkdirTree(dirname(dest));
      py.FS.writeFile(dest, readFileSync(path));
    }
  }
}

const args = process.argv.slice(2);
const opts = {};
while (args[0]?.startsWith("--")) opts[args.shift().slice(2)] = args.shift();
const [script, ...files] = args;

const left = [];  // offline: Pyodide reads its own files with fs; nothing may be fetched
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, ...rest) => {
  const u = String(url instanceof Request ? url.url : url);
  if (!/^(file:|emfs:|blob:|data:|https?:\/\/127\.0\.0\.1[:/])/.test(u)) {
    left.push(u);
    throw new TypeError(`offline test: refused a request to ${u}`);
  }
  return realFetch(url, ...rest);
};

const py = await loadPyodide({ stdout: (s) => console.log(s), stderr: (s) => console.error(s) });
if (opts.wheel) {
  await py.loadPackage(opts.micropip, { messageCallback: () => {} });
  py.FS.mkdirTree("/wheels");
  const dest = join("/wheels", basename(opts.wheel));
  py.FS.writeFile(dest, readFileSync(opts.wheel));
  py.globals.set("WHEEL", `emfs:${dest}`);
} else {
  copyTree(py, pkg);
  py.runPython(`import sys; sys.path.insert(0, "${site}")`);
}
py.FS.mkdirTree("/data");
for (const f of files) py.FS.writeFile(join("/data", basename(f)), readFileSync(f));
await py.runPythonAsync(readFileSync(script, "utf8"));
if (left.length) {
  console.error(`requests that would have left the machine: ${left.join(", ")}`);
  process.exit(3);
}
