// A session of one model on one runtime instance, through the C ABI. The backend-free checks
// (feeds, names, release state) live in ../../session.js; this file only moves bytes.

import { RUNTIME_ERROR_CODES, SparsegateError } from "../../errors.js";
import { readGraph } from "./graph.js";

const numel = (dims) => dims.reduce((n, d) => n * d, 1);

function tensorInfo(rt, s, kind, i) {
  const ex = rt.ex;
  const name = rt.cstring(ex[`sg_session_${kind}_name`](s, i));
  const rank = ex[`sg_session_${kind}_rank`](s, i);
  const dims = [];
  for (let a = 0; a < rank; a++) dims.push(ex[`sg_session_${kind}_dim`](s, i, a));
  return Object.freeze({ name, dims: Object.freeze(dims), type: "float32" }); // the ABI is float32-only
}

export class WasmSession {
  #rt;
  #model = 0;
  #session = 0;
  #bytes = 0;

  /** `limits`: {maxMemory, maxMacs} (0 or undefined: none). */
  constructor(rt, bytes, info, limits = {}) {
    this.#rt = rt;
    this.info = info;
    this.#guard(() => {
      const ex = rt.ex;
      if (bytes.length > 0x7fffffff) {
        throw new SparsegateError(`model: ${bytes.length} bytes exceed the 2 GiB wasm32 limit`, "memory");
      }
      this.#bytes = ex.sg_alloc(Math.max(bytes.length, 1));
      if (!this.#bytes) throw new SparsegateError(`model: cannot allocate ${bytes.length} bytes`, "memory");
      rt.heap().u8.set(bytes, this.#bytes);
      this.#model = ex.sg_model_load(this.#bytes, bytes.length);
      if (!this.#model) throw this.#error(ex.sg_last_error_code(), "model: cannot load");
      const { maxMemory = 0, maxMacs = 0 } = limits;
      this.#session = maxMemory || maxMacs
        ? ex.sg_session_create_limited(this.#model, maxMemory, maxMacs)
        : ex.sg_session_create(this.#model);
      if (!this.#session) throw this.#error(ex.sg_last_error_code(), "session: cannot create");
      const s = this.#session;
      this.inputs = Object.freeze(Array.from({ length: ex.sg_session_input_count(s) }, (_, i) => tensorInfo(rt, s, "input", i)));
      this.outputs = Object.freeze(Array.from({ length: ex.sg_session_output_count(s) }, (_, i) => tensorInfo(rt, s, "output", i)));
      this.metadataText = new TextDecoder().decode(
        rt.bytes(ex.sg_model_metadata(this.#model), ex.sg_model_metadata_size(this.#model))).replace(/\0+$/, "");
    }, true);
  }

  get runtimeVersion() {
    return this.#rt.version();
  }

  /** Runs `fn`; a trap drops the instance and becomes a SparsegateError "trap". On failure
   * while constructing, everything allocated so far is freed. */
  #guard(fn, constructing = false) {
    try {
      return fn();
    } catch (e) {
      const trapped = e instanceof WebAssembly.RuntimeError || e?.code === "trap";
      if (constructing || trapped) this.#free(!trapped);
      if (!trapped) throw e;
      const err = new SparsegateError(`runtime trapped: ${e.message}`, "trap");
      err.cause = e;
      throw err;
    }
  }

  #error(rc, fallback) {
    return new SparsegateError(this.#rt.lastError(fallback), RUNTIME_ERROR_CODES[rc] ?? "invalid");
  }

  #call(rc, what) {
    if (rc !== 0) throw this.#error(rc, `${what} failed with code ${rc}`);
  }

  /** `inputs`: one Float32Array per input, in order → one Float32Array per output (copies). */
  run(inputs) {
    const rt = this.#rt, ex = rt.ex, s = this.#session;
    return this.#guard(() => {
      inputs.forEach((data, i) => {
        const ptr = ex.sg_session_input_data(s, i);
        if (!ptr) throw this.#error(3, `input "${this.inputs[i].name}": no buffer`);
        rt.heap().f32.set(data, ptr >>> 2);
      });
      this.#call(ex.sg_session_run(s), "run");
      return this.outputs.map((info, i) => {
        const ptr = ex.sg_session_output_data(s, i);
        if (!ptr) throw this.#error(3, `output "${info.name}": no data`);
        return rt.heap().f32.slice(ptr >>> 2, (ptr >>> 2) + numel(info.dims));
      });
    });
  }

  /** The validated graph (./graph.js), for executors other than this one. */
  graph() {
    return this.#guard(() => readGraph(this.#rt, this.#session));
  }

  setGate(gate) {
    this.#guard(() => this.#call(this.#rt.ex.sg_session_set_gate(this.#session, gate), `setGate(${gate})`));
  }

  runRange(first, last) {
    this.#guard(() => this.#call(this.#rt.ex.sg_session_run_range(this.#session, first, last), `runRange(${first}, ${last})`));
  }

  stats() {
    const rt = this.#rt, ex = rt.ex, s = this.#session;
    return this.#guard(() => {
      const layers = [];
      for (let i = 0, n = ex.sg_session_node_count(s); i < n; i++) {
        layers.push({
          name: rt.cstring(ex.sg_session_node_name(s, i)),
          op: rt.cstring(ex.sg_session_node_op(s, i)),
          macsDense: ex.sg_session_node_macs_dense(s, i),
          macsExecuted: ex.sg_session_node_macs_executed(s, i),
        });
      }
      return {
        macsDense: ex.sg_session_macs_dense(s),
        macsExecuted: ex.sg_session_macs_executed(s),
        layers,
        arenaBytes: ex.sg_session_arena_bytes(s) >>> 0,
      };
    });
  }

  release() {
    this.#free(true);
  }

  /** `callRuntime = false` after a trap: the instance is dropped without calling into it. */
  #free(callRuntime) {
    const rt = this.#rt;
    if (!rt) return;
    if (callRuntime) {
      try {
        if (this.#session) rt.ex.sg_session_free(this.#session);
        if (this.#model) rt.ex.sg_model_free(this.#model);
        if (this.#bytes) rt.ex.sg_free(this.#bytes);
      } catch { /* the instance is dropped below either way */ }
    }
    this.#session = this.#model = this.#bytes = 0;
    this.#rt = null;
    rt.threads?.release(); // the last session on the pthreads instance stops its workers
  }
}
