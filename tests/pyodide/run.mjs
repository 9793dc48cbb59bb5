// Runs a Python script inside Pyodide (Node, offline) with the sparsegate package's pure-Python
// host and its sparsegate.wasm copied into Pyodide's file system, as a notebook would have them.
// Usage: node run.mjs SCRIPT.py [FILE…]  — the FILEs are copied to /data/<basename>.
// Prints what the script prints.
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

const [script, ...files] = process.argv.slice(2);
const py = await loadPyodide({ stdout: (s) => console.log(s), stderr: (s) => console.error(s) });
copyTree(py, pkg);
py.FS.mkdirTree("/data");
for (const f of files) py.FS.writeFile(join("/data", basename(f)), readFileSync(f));
py.runPython(`import sys; sys.path.insert(0, "${site}")`);
await py.runPythonAsync(readFileSync(script, "utf8"));
