/** Where a model or the runtime comes from: bytes, a URL, a fetch Response, a Blob, or (Node)
 * a file path. */
export type Source = string | URL | ArrayBuffer | ArrayBufferView | Response | Blob;

export type ErrorCode =
  | "format" | "unsupported" | "invalid" | "memory" | "limit" // reported by the runtime
  | "input" | "io" | "trap" | "released" | "backend"; // reported by this package

export class SparsegateError extends Error {
  readonly name: "SparsegateError";
  readonly code: ErrorCode;
  constructor(message: string, code?: ErrorCode);
}

export interface SessionOptions {
  /** "auto" picks the first available backend that takes the model: "wasm" for now, since
   * the WGSL kernels are not yet measured on a real GPU. "webgpu" runs models whose ops all
   * have a kernel (WEBGPU_OPS; f32, not gated, int8 or sparse), else refuses with
   * "unsupported" naming the op, or "backend" without navigator.gpu or an adapter. */
  backend?: "auto" | "wasm" | "webgpu";
  /** onnxruntime-web style: the backends to try, in order ("cpu" means "wasm"). */
  executionProviders?: (string | { name: string })[];
  /** sparsegate.wasm: URL, path, bytes or a compiled module (default: see env.wasm.wasmPaths). */
  wasm?: Source | WebAssembly.Module;
  /** Default env.wasm.numThreads ("auto"): in a crossOriginIsolated page all hardware threads
   * up to 4, else 1; 1 in Node. A number > 1 uses the pthreads build; in a page that is not
   * crossOriginIsolated it warns once and runs on 1 thread (see `backendInfo.reason`). */
  threads?: "auto" | number;
  /** sparsegate-mt.mjs (its .wasm and .worker.js beside it). */
  wasmThreads?: string | URL;
  /** Run the session in a module Web Worker behind the same API (browsers). */
  worker?: boolean;
  /** Keep the model in the Cache API, keyed by its URL and `cacheKey`. */
  cache?: boolean;
  cacheKey?: string;
  /** Refuse at creation a model needing more memory (bytes) / dense MACs per run (0: none). */
  maxMemory?: number;
  maxMacs?: number;
}

export type DType = "float32" | "float16" | "int64" | "int32" | "int8" | "uint8" | "bool";
export type TypedData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

export const env: {
  wasm: {
    /** A folder URL, or a map from runtime file name to URL. */
    wasmPaths?: string | URL | Record<string, string | URL>;
    numThreads: "auto" | number;
  };
};

/** The runtime files a deployment must serve. */
export const RUNTIME_FILES: readonly string[];

/** Deletes every cached model, or the one at `model`. */
export function clearModelCache(model?: string | URL, options?: { cacheKey?: string }): Promise<void>;

/** What Session.create picked, and why. */
export interface BackendInfo {
  readonly backend: "wasm" | "webgpu";
  readonly build: string;
  readonly threads: number;
  readonly requestedThreads: "auto" | number;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly simd: boolean;
  readonly reason: string;
  /** True in worker mode. */
  readonly worker?: boolean;
  /** webgpu: the adapter's info, and the arithmetic ("f32"). */
  readonly adapter?: { readonly vendor: string; readonly architecture: string; readonly device: string;
    readonly description: string };
  readonly precision?: "f32";
}

export interface TensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: DType;
}

export class Tensor {
  /** new Tensor("float32", data, dims) or new Tensor(data, dims). */
  constructor(type: DType, data: TypedData | number[], dims?: readonly number[]);
  constructor(data: TypedData | number[], dims?: readonly number[]);
  readonly type: DType;
  readonly data: TypedData;
  readonly dims: readonly number[];
  readonly size: number;
  dispose(): void;
}

/** A Tensor (ours or onnxruntime-web's), {data, dims} or a typed array of the input's dtype. */
export type Feed = Tensor | { type?: DType | string; data: TypedData | number[]; dims?: readonly number[] } | TypedData;

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
  readonly backend: string;
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
  /** Profiling: runs nodes [first, last) on what memory holds (not in worker mode). */
  runRange(first: number, last: number): void;
  /** MACs of the last run, dense versus executed. */
  stats(): Stats;
  /** Frees the session; a second call does nothing, any other call afterwards throws. */
  release(): void;
}

/** What the host offers: wasm SIMD, wasm threads, the WebGPU adapter (or why there is none). */
export function capabilities(): Promise<{
  simd: boolean;
  threads: { available: boolean; crossOriginIsolated: boolean; hardwareConcurrency: number };
  webgpu: { reason: string } | { vendor: string; architecture: string; device: string; description: string;
    features: string[]; shaderF16: boolean; limits: Record<string, number> };
}>;

/** The ops the webgpu backend has WGSL kernels for. */
export const WEBGPU_OPS: readonly string[];

/** The runtime's version without loading a model. */
export function runtimeVersion(options?: Pick<SessionOptions, "wasm">): Promise<string>;

export { imageToTensor, Transform, decodeDetections, topK } from "./vision/index.js";

export default Session;
