// Gated inference speed in Node (V8), for sparsegate.tools.gating_bench (docs/gating.md).
//
//   node bench/gate_speed.mjs speed   MODEL.sgm '[0,0.5]' RUNS WARMUP   # whole runs, interleaved knobs
//   node bench/gate_speed.mjs profile MODEL.sgm '[0,0.5]' REPS WARMUP   # each node alone (runRange)
//
// The input is a seeded uniform [0, 1) pattern, the same on every run. Prints one JSON line.
import { readFileSync } from "node:fs";
import { Session } from "../web/src/node.js";

const [mode, path, gatesJson, rounds, warmup] = process.argv.slice(2);
const gates = JSON.parse(gatesJson);
const s = await Session.create(readFileSync(path));
const feeds = {};
for (const inp of s.inputs) {
  const n = inp.dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; data[i] = seed / 4294967296; }
  feeds[inp.name] = { data, dims: inp.dims };
}

async function speed() {
  const times = Object.fromEntries(gates.map((g) => [g, []]));
  const stats = {};
  for (let r = 0; r < +warmup + +rounds; r++) {
    // Rotate the knob order every round so that drift in machine load hits every knob alike.
    const order = gates.slice(r % gates.length).concat(gates.slice(0, r % gates.length));
    for (const g of order) {
      s.setGate(g);
      const t0 = performance.now();
      await s.run(feeds);
      const dt = performance.now() - t0;
      if (r >= +warmup) times[g].push(dt);
      stats[g] = s.stats();
    }
  }
  return { times, stats };
}

async function profile() {
  for (let r = 0; r < +warmup; r++) for (const g of gates) { s.setGate(g); await s.run(feeds); }
  const nodes = s.stats().layers.length;
  const out = {};
  for (const g of gates) out[g] = { times: Array.from({ length: nodes }, () => []), stats: null };
  for (let r = 0; r < +rounds; r++) {
    for (const g of gates) {
      s.setGate(g);
      await s.run(feeds);
      for (let k = 0; k < nodes; k++) {
        const t0 = performance.now();
        s.runRange(k, k + 1);
        out[g].times[k].push(performance.now() - t0);
      }
      out[g].stats = s.stats();
    }
  }
  return out;
}

if (mode !== "speed" && mode !== "profile") throw new Error(`mode must be speed or profile, got ${mode}`);
const result = mode === "speed" ? await speed() : await profile();
s.release();
console.log(JSON.stringify(result));
