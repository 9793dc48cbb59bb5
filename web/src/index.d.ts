/** Where a model or the runtime comes from: bytes, a URL, a fetch Response, a Blob, or (Node)
 * a file path. */
export type Source = string | URL | ArrayBuffer | ArrayBufferView | Response | Blob;

export type ErrorCode =
  | "format" | "unsupported" | "invalid" | "memory"   // reported by the runtime
  | "input" | "io" | "trap" | "released" | "backend"; // reported by this package

export class SparsegateError extends Error {
  readonly name: "SparsegateError";
  readonly code: ErrorCode;
  constructor(message: string, code?: ErrorCode);
}

export interface SessionOptions {
  /** "auto" picks the best available backend; this build has only "wasm". */
  backend?: "auto" | "wasm";
  /** sparsegate.wasm: URL, path, bytes or a compiled module (default: next to index.js). */
  wasm?: Source | WebAssembly.Module;
  /** "auto" (default): in a crossOriginIsolated page all hardware threads up to 4, else 1;
   * 1 in Node. A number > 1 uses the pthreads build; in a page that is not crossOriginIsolated
   * it warns on the console and runs on 1 thread (see `backendInfo.reason`). */
  threads?: "auto" | number;
  /** sparsegate-mt.mjs (its .wasm and .worker.js beside it); default: next to index.js. */
  wasmThreads?: string | URL;
}

/** What Session.create picked, and why. */
export interface BackendInfo {
  readonly backend: "wasm";
  readonly build: "sparsegate.wasm" | "sparsegate-mt";
  readonly threads: number;
  readonly requestedThreads: "auto" | number;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly simd: boolean;
  readonly reason: string;
}

export interface TensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
}

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export interface Feed {
  data: Float32Array | ArrayLike<number>;
  /** Checked against the model's input dims when given. */
  dims?: readonly number[];
}

export interface LayerStats {
  name: string;
  op: string;
  macsDense: number;
  macsExecuted: number;
}

export interface Stats {
  macsDense: number;
  macsExecuted: number;
  layers: LayerStats[];
  /** Activation memory planned for the session, in bytes. */
  arenaBytes: number;
}

/** The META section of a `.sgm` file (docs/format.md). */
export interface Metadata {
  producer?: string;
  source?: string;
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  task?: string;
  labels?: string[];
  preprocess?: Record<string, unknown>;
  postprocess?: Record<string, unknown>;
  [key: string]: unknown;
}

export class Session {
  /** Loads a model and plans a session; throws SparsegateError for a bad file. */
  static create(model: Source, options?: SessionOptions): Promise<Session>;
  private constructor();
  readonly backend: "wasm";
  /** Threads this session runs on (1 with sparsegate.wasm). */
  readonly threads: number;
  readonly backendInfo: BackendInfo;
  /** The runtime's version, "major.minor.patch". */
  readonly runtimeVersion: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly metadata: Metadata;
  /** Output data are copies, valid after later runs and after release(). */
  run(feeds: Record<string, Feed>): Promise<Record<string, Tensor>>;
  /** 0 = dense (bit-identical to ungated); 1 = every gated layer at its calibrated sparsity. */
  setGate(gate: number): void;
  /** MACs of the last run, dense versus executed. */
  stats(): Stats;
  /** Frees the session; a second call does nothing, any other call afterwards throws. */
  release(): void;
}

/** The runtime's version without loading a model. */
export function runtimeVersion(options?: Pick<SessionOptions, "wasm">): Promise<string>;

export default Session;
