// Tensors as onnxruntime-web users know them: `type`, `data`, `dims`, `size`, `dispose()`.

import { SparsegateError } from "./errors.js";

/** dtype name → typed array that holds it (bool is one byte per element, as in ONNX). */
export const DTYPE_ARRAYS = Object.freeze({
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
});

/** The dtype a typed array holds (Uint8Array reads as "uint8"), or null. */
export function dtypeOf(data) {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return "uint8";
  if (data instanceof Uint16Array) return "float16";
  if (typeof Float64Array !== "undefined" && data instanceof Float64Array) return "float64";
  return null;
}

const numel = (dims) => dims.reduce((n, d) => n * d, 1);

export class Tensor {
  #data;

  /** `new Tensor(type, data, dims)` or `new Tensor(data, dims)` (type from the array).
   * `data` may be a typed array of the type or a plain array of numbers (copied). */
  constructor(typeOrData, dataOrDims, maybeDims) {
    let type, data, dims;
    if (typeof typeOrData === "string") [type, data, dims] = [typeOrData, dataOrDims, maybeDims];
    else [data, dims] = [typeOrData, dataOrDims];
    if (type === undefined) {
      type = dtypeOf(data) ?? (Array.isArray(data) ? "float32" : null);
      if (!type) throw new SparsegateError(`Tensor: cannot tell the dtype of ${describe(data)}`, "input");
    }
    const Array_ = DTYPE_ARRAYS[type];
    if (!Array_) {
      throw new SparsegateError(`Tensor: unknown type "${type}" (known: ${Object.keys(DTYPE_ARRAYS).join(", ")})`, "input");
    }
    if (Array.isArray(data)) data = type === "int64" ? BigInt64Array.from(data, BigInt) : Array_.from(data);
    if (!(data instanceof Array_)) {
      throw new SparsegateError(`Tensor: type "${type}" needs a ${Array_.name}, got ${describe(data)}`, "input");
    }
    dims = dims === undefined ? [data.length] : Array.from(dims, Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SparsegateError(`Tensor: dims must be integers ≥ 0, got [${dims.join(", ")}]`, "input");
    }
    if (numel(dims) !== data.length) {
      throw new SparsegateError(`Tensor: dims [${dims.join(", ")}] hold ${numel(dims)} values, data has ${data.length}`, "input");
    }
    this.type = type;
    this.dims = Object.freeze(dims);
    this.size = data.length;
    this.#data = data;
  }

  get data() {
    if (!this.#data) throw new SparsegateError("Tensor was disposed", "released");
    return this.#data;
  }

  /** Drops the reference to the data (the memory goes to the garbage collector). */
  dispose() {
    this.#data = null;
  }
}

export function describe(v) {
  if (v === null) return "null";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (Array.isArray(v)) return "an Array";
  return typeof v === "object" ? `an object (${v.constructor?.name ?? "no prototype"})` : `a ${typeof v}`;
}
