// Checking feeds against a session's inputs, before any backend sees them: every problem is a
// SparsegateError "input" naming the input, the expected and the given dtype or dims.

import { SparsegateError } from "./errors.js";
import { DTYPE_ARRAYS, describe, dtypeOf } from "./tensor.js";

const fmt = (dims) => `[${Array.from(dims).join(", ")}]`;
const numel = (dims) => dims.reduce((n, d) => n * d, 1);
const own = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

/** The feeds as one typed array per input, in the inputs' order. `fixedDims` (from the
 * model's metadata) tells which dims were dynamic in the ONNX and fixed at conversion. */
export function feedArrays(inputs, feeds, fixedDims = {}) {
  if (feeds === null || typeof feeds !== "object" || Array.isArray(feeds) || ArrayBuffer.isView(feeds)) {
    throw new SparsegateError(`run: feeds must be an object of input name → tensor, got ${describe(feeds)}`, "input");
  }
  const names = inputs.map((t) => t.name);
  for (const name of Object.keys(feeds)) {
    if (!names.includes(name)) {
      throw new SparsegateError(`run: unknown input "${name}" (inputs: ${names.join(", ")})`, "input");
    }
  }
  return inputs.map((info) => feedArray(info, own(feeds, info.name) ? feeds[info.name] : undefined,
    fixedDims[info.name]));
}

function feedArray(info, feed, fixed) {
  const what = `run: input "${info.name}"`;
  if (feed === undefined || feed === null) {
    throw new SparsegateError(`run: missing input "${info.name}" (expected ${info.type} ${fmt(info.dims)})`, "input");
  }
  const bare = ArrayBuffer.isView(feed) || Array.isArray(feed);
  const data = bare ? feed : feed.data;
  if (data === undefined || data === null || typeof data !== "object") {
    throw new SparsegateError(`${what}: expected a Tensor, {data, dims} or a typed array, got ${describe(feed)}`, "input");
  }
  const given = bare ? null : feed.type; // a Tensor (ours or onnxruntime-web's) says its type
  if (given !== undefined && given !== null && given !== info.type) {
    throw new SparsegateError(`${what}: expected dtype ${info.type}, got ${given}`, "input");
  }
  let array;
  if (Array.isArray(data)) array = fromNumbers(data, info, what);
  else {
    const held = dtypeOf(data) ?? describe(data);
    if (!(data instanceof DTYPE_ARRAYS[info.type])) {
      throw new SparsegateError(`${what}: expected dtype ${info.type} (${DTYPE_ARRAYS[info.type].name}), `
        + `got ${held}${ArrayBuffer.isView(data) ? ` (${data.constructor.name})` : ""}`, "input");
    }
    array = data;
  }
  const dims = bare || feed.dims === undefined ? null : Array.from(feed.dims, Number);
  if (dims && (dims.length !== info.dims.length || dims.some((d, a) => d !== info.dims[a]))) {
    throw new SparsegateError(`${what}: expected dims ${fmt(info.dims)}, got ${fmt(dims)}${fixedNote(info, dims, fixed)}`, "input");
  }
  if (array.length !== numel(info.dims)) {
    throw new SparsegateError(`${what}: expected ${numel(info.dims)} values for dims ${fmt(info.dims)}, `
      + `got ${array.length}`, "input");
  }
  return array;
}

/** Plain arrays are numbers to be stored as the input's dtype; holes and non-numbers are
 * errors (they would become NaN). */
function fromNumbers(data, info, what) {
  for (let i = 0; i < data.length; i++) {
    if (!(i in data)) throw new SparsegateError(`${what}: element ${i} is a hole in the array`, "input");
    if (typeof data[i] !== "number") {
      throw new SparsegateError(`${what}: element ${i} is ${describe(data[i])}, not a number`, "input");
    }
  }
  const Array_ = DTYPE_ARRAYS[info.type];
  return info.type === "int64" ? BigInt64Array.from(data, BigInt) : Array_.from(data);
}

/** Why dims that differ may not be changed: the converter fixed them. */
function fixedNote(info, dims, fixed) {
  if (!fixed) return "";
  const axes = Object.keys(fixed).map(Number).filter((a) => dims[a] !== info.dims[a]);
  if (axes.length === 0) return "";
  return `; dim ${axes.map((a) => `${a} ("${fixed[a]}")`).join(", ")} was dynamic in the ONNX model and fixed `
    + `to ${axes.map((a) => info.dims[a]).join(", ")} at conversion: reconvert with input_shapes={"${info.name}": `
    + `${fmt(dims)}} to run that shape`;
}
