// Loads every file in a folder with the JS package and reports, per file, whether it loaded
// and ran, failed with a clean SparsegateError, or failed some other way (a trap, a crash).
// Used by tests/test_bad_input.py; prints one JSON object.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Session, SparsegateError } from "../../web/src/index.js";

const dir = process.argv[2];
const results = {};
for (const file of readdirSync(dir).sort()) {
  const bytes = readFileSync(join(dir, file));
  let session;
  try {
    session = await Session.create(new Uint8Array(bytes));
    const feeds = {};
    for (const input of session.inputs) {
      const n = input.dims.reduce((a, b) => a * b, 1);
      feeds[input.name] = { data: new Float32Array(n).fill(0.5), dims: input.dims };
    }
    await session.run(feeds);
    results[file] = "ok";
  } catch (e) {
    results[file] = (e instanceof SparsegateError ? "error: " : "OTHER: ") + String(e && e.message);
  } finally {
    try { session && session.release(); } catch (e) { /* released or never made */ }
  }
}
console.log(JSON.stringify(results));
