// Loads every file in a folder with the JS package and prints one JSON object, file name →
// outcome, for tests/test_bad_input.py:
//   "ok"                     loaded and ran on 0.5 everywhere
//   "error: <code>: …"       refused cleanly by create (a SparsegateError that is not a trap)
//   "error: run: <code>: …"  loaded, then run refused cleanly
//   "OTHER: …"               anything else (a trap, a TypeError, …): a bug
// Usage: node tests/js/load_each.mjs DIR
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Session, SparsegateError } from "../../web/src/node.js";

const clean = (e) => e instanceof SparsegateError && e.code !== "trap";
const describe = (e) => `${e?.name ?? typeof e}: ${e?.code ?? ""}: ${e?.message ?? e}`;

async function outcome(bytes) {
  let s;
  try {
    s = await Session.create(bytes);
  } catch (e) {
    return clean(e) ? `error: ${e.code}: ${e.message}` : `OTHER: ${describe(e)}`;
  }
  try {
    const feeds = Object.fromEntries(s.inputs.map((t) => [t.name,
      { data: new Float32Array(t.dims.reduce((n, d) => n * d, 1)).fill(0.5), dims: t.dims }]));
    await s.run(feeds);
    s.stats();
    return "ok";
  } catch (e) {
    return clean(e) ? `error: run: ${e.code}: ${e.message}` : `OTHER: ${describe(e)}`;
  } finally {
    s.release();
  }
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node tests/js/load_each.mjs DIR");
  process.exit(2);
}
const results = {};
for (const name of readdirSync(dir).sort()) {
  results[name] = await outcome(new Uint8Array(readFileSync(join(dir, name))));
}
process.stdout.write(JSON.stringify(results, null, 1) + "\n");
