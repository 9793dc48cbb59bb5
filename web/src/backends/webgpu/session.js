// A session on a GPUDevice: the plan (./plan.js) as buffers and passes. Created once: one
// storage buffer per tensor (constants uploaded here, Reshape outputs share their input's
// buffer), one pipeline per kernel, one bind group and parameter buffer per dispatch, a
// staging buffer per output. A run: write the inputs, encode every dispatch in one compute
// pass plus the output copies, submit once, map the staging buffers and copy them out. A lost
// device or a failed run moves the session to the wasm session that validated the model (a
// console warning; `backendInfo` then says wasm and why), so `run` does not fail for it.

import { SparsegateError, warnOnce } from "../../errors.js";
import { plan } from "./plan.js";
import { WORKGROUP } from "./wgsl/common.js";
import { conv, gemm } from "./wgsl/conv.js";
import { binary, unary } from "./wgsl/elementwise.js";
import { globalAveragePool, pool } from "./wgsl/pool.js";
import { copySlab, pad, slice, softmax, splitSlab, transpose } from "./wgsl/data.js";
import { resize } from "./wgsl/resize.js";

const KERNELS = { conv, gemm, unary, binary, pool, globalAveragePool, copySlab, splitSlab, slice, softmax,
  transpose, resize, pad };
const MAX_GROUPS = 65535;
const numel = (dims) => dims.reduce((n, d) => n * d, 1);
const bytesOf = (dims) => Math.max(4, Math.ceil(numel(dims) * 4 / 4) * 4);

export async function createWebGPUSession(device, wasm, graph, info) {
  const S = GPUBufferUsage;
  device.pushErrorScope("validation");
  device.pushErrorScope("out-of-memory");
  const { alias, steps } = plan(graph);
  const buffers = graph.tensors.map((t, i) => {
    if (alias.has(i)) return null;
    const buffer = device.createBuffer({ size: bytesOf(t.dims), usage: S.STORAGE | S.COPY_DST | S.COPY_SRC,
      label: t.name });
    if (t.kind === "constant") device.queue.writeBuffer(buffer, 0, t.data);
    return buffer;
  });
  alias.forEach((root, t) => { buffers[t] = buffers[root]; });
  const zero = device.createBuffer({ size: 4, usage: S.STORAGE, label: "absent input" });
  const pipelines = {};
  for (const name of new Set(steps.map((s) => s.kernel))) {
    const module = device.createShaderModule({ code: KERNELS[name], label: name });
    pipelines[name] = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: name });
  }
  const dispatches = steps.filter((s) => s.count > 0).map((s) => { // an empty tensor: nothing to do
    const params = device.createBuffer({ size: s.params.byteLength, usage: S.STORAGE | S.COPY_DST });
    device.queue.writeBuffer(params, 0, s.params);
    const pipeline = pipelines[s.kernel];
    let table = null;
    if (s.table) { // a step's own constant (Resize's and Pad's index tables)
      table = device.createBuffer({ size: Math.max(4, s.table.byteLength), usage: S.STORAGE | S.COPY_DST });
      device.queue.writeBuffer(table, 0, s.table);
    }
    const entries = [params, ...s.bind.map((t) => (t === "table" ? table : t < 0 ? zero : buffers[t]))]
      .map((buffer, binding) => ({ binding, resource: { buffer } }));
    const groups = Math.ceil(s.count / WORKGROUP);
    const x = Math.min(groups, MAX_GROUPS);
    return { pipeline, bindGroup: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }),
      x, y: Math.ceil(groups / x) };
  });
  const tensorIndex = new Map(graph.tensors.map((t, i) => [t.name, i]));
  const inputs = wasm.inputs.map((t) => buffers[tensorIndex.get(t.name)]);
  const outputs = wasm.outputs.map((t) => {
    const size = bytesOf(t.dims);
    return { buffer: buffers[tensorIndex.get(t.name)], size, count: numel(t.dims),
      staging: device.createBuffer({ size, usage: S.MAP_READ | S.COPY_DST, label: `${t.name} readback` }) };
  });
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (oom || invalid) {
    device.destroy();
    throw new SparsegateError(`webgpu: cannot create the session: ${(oom ?? invalid).message}`, oom ? "memory" : "backend");
  }
  return new WebGPUSession(device, wasm, info, { inputs, outputs, dispatches });
}

export class WebGPUSession {
  #device;
  #wasm;
  #plan;
  #info;
  #queue = Promise.resolve(); // runs one at a time: they share the staging buffers
  #ran = false;
  #fallback = null; // why this session moved to the wasm session it was validated with

  constructor(device, wasm, info, gpuPlan) {
    this.#device = device;
    this.#wasm = wasm;
    this.#plan = gpuPlan;
    this.#info = info;
    this.inputs = wasm.inputs;
    this.outputs = wasm.outputs;
    this.metadataText = wasm.metadataText;
    device.lost.then((e) => { if (this.#device) this.#fallBack(`the WebGPU device was lost (${e.reason}: ${e.message})`); });
  }

  /** After a device loss: the wasm session's info, with the reason. */
  get info() {
    return this.#fallback ? Object.freeze({ ...this.#wasm.info, reason: this.#fallback }) : this.#info;
  }

  get runtimeVersion() { return this.#wasm.runtimeVersion; }

  #fallBack(why) {
    if (this.#fallback) return;
    this.#fallback = `${why}: running on wasm from now on`;
    warnOnce(this.#fallback);
  }

  run(arrays) {
    const result = this.#queue.then(async () => {
      if (!this.#fallback) {
        try {
          return await this.#run(arrays);
        } catch (e) {
          this.#fallBack(`a WebGPU run failed (${e?.message ?? e})`);
        }
      }
      return this.#wasm.run(arrays);
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  async #run(arrays) {
    const device = this.#device, { inputs, outputs, dispatches } = this.#plan;
    device.pushErrorScope("validation");
    arrays.forEach((data, i) => device.queue.writeBuffer(inputs[i], 0, data));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.x, d.y);
    }
    pass.end();
    for (const o of outputs) encoder.copyBufferToBuffer(o.buffer, 0, o.staging, 0, o.size);
    device.queue.submit([encoder.finish()]);
    const invalid = device.popErrorScope();
    await Promise.all(outputs.map((o) => o.staging.mapAsync(GPUMapMode.READ)));
    const error = await invalid;
    if (error) {
      outputs.forEach((o) => o.staging.unmap());
      throw new Error(error.message);
    }
    this.#ran = true;
    return outputs.map((o) => {
      const copy = new Float32Array(o.staging.getMappedRange(), 0, o.count).slice();
      o.staging.unmap();
      return copy;
    });
  }

  /** Gated models are refused at creation, so the knob changes nothing here. */
  setGate() {}

  runRange(first, last) {
    if (this.#fallback) return this.#wasm.runRange(first, last);
    throw new SparsegateError("runRange profiles the wasm backend only", "backend");
  }

  /** Dense MACs per layer (every layer is computed in full on the GPU). */
  stats() {
    const s = this.#wasm.stats();
    if (this.#fallback) return s;
    const ran = this.#ran;
    return { ...s, macsExecuted: ran ? s.macsDense : 0,
      layers: s.layers.map((l) => ({ ...l, macsExecuted: ran ? l.macsDense : 0 })) };
  }

  release() {
    const device = this.#device;
    this.#device = null; // first: the destroy below is no loss to report
    device?.destroy();
    this.#wasm?.release();
    this.#wasm = null;
  }
}
