// A tiny app as a web developer writes one: the npm package imported by name, bundled by
// esbuild or Vite (tests/test_web_package.py drives it through window.sgApp).
import { Session, SparsegateError } from "sparsegate";

const top = (data, k) => [...data.keys()].sort((a, b) => data[b] - data[a]).slice(0, k);
const bytes = async (url) => new Float32Array(await (await fetch(url)).arrayBuffer());

async function wrap(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: { message: e.message, code: e.code, sparsegate: e instanceof SparsegateError } };
  }
}

window.sgApp = {
  classify: ({ model, input, threads, worker }) => wrap(async () => {
    const s = await Session.create(model, { threads, worker });
    const [info] = s.inputs;
    const out = await s.run({ [info.name]: { data: await bytes(input), dims: info.dims } });
    const y = out[s.outputNames[0]];
    const result = { top5: top(y.data, 5), type: y.type, dims: [...y.dims], info: { ...s.backendInfo } };
    s.release();
    return result;
  }),

  /** Long tasks (ms) seen on the page while `runs` runs of `model` happen. */
  longTasks: ({ model, runs, worker }) => wrap(async () => {
    const s = await Session.create(model, { worker });
    const [info] = s.inputs;
    const x = new Float32Array(info.dims.reduce((a, b) => a * b, 1)).fill(0.5);
    await s.run({ [info.name]: x }); // warm-up, before observing
    const tasks = [];
    const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries().map((e) => e.duration)));
    observer.observe({ type: "longtask" });
    for (let i = 0; i < runs; i++) await s.run({ [info.name]: x });
    await new Promise((r) => setTimeout(r, 200)); // let the observer deliver
    // entries not yet delivered (a busy machine delays the observer's callback): take them too
    tasks.push(...observer.takeRecords().map((e) => e.duration));
    observer.disconnect();
    s.release();
    return { tasks, worker: !!worker };
  }),

  cached: ({ model }) => wrap(async () => {
    const s = await Session.create(model, { cache: true });
    const names = s.inputNames;
    s.release();
    return names;
  }),
};
document.getElementById("status").textContent = "ready";
window.sgAppReady = true;
